"""``portal.gc_freeze`` (production.ini): what lives as long as the process is kept out of full garbage collections.

Each case builds the real application in a process of its own (freezing is per process, and this test process must
not freeze its own objects), on a copy of the test database with the search warm-up on, and reports what the
collector still walks.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

from conftest import base_settings

REPORT = """
import gc, json, logging, sys, time
from portal import main
logging.basicConfig(level=logging.INFO, format="%(name)s %(message)s")
app = main({}, **json.loads(sys.argv[1]))
after_start = gc.get_freeze_count()
service = app.registry["search_service"]
deadline = time.monotonic() + 120
while service.preparing and time.monotonic() < deadline:
    time.sleep(0.05)
print(json.dumps({"after_start": after_start, "after_words": gc.get_freeze_count(),
                  "walked": len(gc.get_objects()), "preparing": service.preparing}))
app.registry.portal_close()
"""


def report(database_factory, tmp_path, **overrides) -> dict:
    url = database_factory.copy()
    try:
        settings = {**base_settings(url, tmp_path), "search.warmup": "true", **overrides}
        shutil.copytree(database_factory.index_template, tmp_path / "index")
        out = subprocess.run([sys.executable, "-c", REPORT, json.dumps(settings)], capture_output=True, text=True,  # noqa: S603
                             timeout=300, check=False)
        assert out.returncode == 0, out.stderr[-3000:]
        return {**json.loads(out.stdout.strip().splitlines()[-1]),
                "log": [line for line in out.stderr.splitlines() if line.startswith("portal.gcfreeze ")]}
    finally:
        database_factory.release(url)


def test_start_up_objects_and_the_prepared_words_are_frozen(database_factory, tmp_path):
    frozen = report(database_factory, tmp_path, **{"portal.gc_freeze": "true"})
    assert not frozen["preparing"]
    assert frozen["after_start"] >= 50_000  # modules, templates, mappers, the index's caches
    # Once at start and once when the frequent words are prepared (in whichever order the two finish), each logged.
    assert sorted(line.rpartition("(")[2].partition(")")[0] for line in frozen["log"]) == ["start", "zoekwoorden"]
    assert all(" objecten vastgezet " in line for line in frozen["log"])
    # What a full collection still walks is a small part of what the process holds.
    assert frozen["walked"] < frozen["after_words"] / 5


def test_without_the_setting_nothing_is_frozen(database_factory, tmp_path):
    plain = report(database_factory, tmp_path)
    assert not plain["preparing"]
    assert plain["after_start"] == plain["after_words"] == 0 and plain["log"] == []
    assert plain["walked"] >= 50_000
