"""Index keeping under real conditions (issue 8): commit order, idle processes, damaged files, files under readers."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
import transaction
from conftest import DB_KIND, wait_for
from sqlalchemy import select
from test_search_lifecycle import SLUG, edit_title, slugs

from portal.content.models import PracticeExample
from portal.models import get_tm_session
from portal.search import SearchService
from portal.search.index import CURRENT, MANIFEST

OTHER = "wereldschool-de-vlinder-apeldoorn"

only_postgresql = pytest.mark.skipif(DB_KIND != "postgresql", reason="runs in the PostgreSQL half of make test")


def service_of(site) -> SearchService:
    return site.registry["search_service"]


def generation_dir(site) -> Path:
    root = Path(site.settings["search.index_dir"])
    return root / (root / CURRENT).read_text().strip()


@only_postgresql
def test_a_transaction_that_commits_late_is_not_skipped(site):
    """Outbox row of T1 gets the lower id, T2 commits and is applied first, then T1 commits: both findable."""
    service = service_of(site)
    held = transaction.TransactionManager(explicit=True)
    held.begin()
    session = get_tm_session(site.registry["dbsession_factory"], held)
    try:
        example = session.scalars(select(PracticeExample).where(PracticeExample.slug == SLUG)).one()
        example.title = "Koesterklas zqxlaatkomer"
        session.flush()  # T1 has written its outbox row (the lower id) and stays open

        edit_title(site, "Wereldschool zqxvroegkomer", slug=OTHER)  # T2 commits
        wait_for(lambda: OTHER in slugs(service, "zqxvroegkomer"), timeout=2.0)
        assert slugs(service, "zqxlaatkomer") == []  # not committed yet: not findable
    finally:
        held.commit()
    wait_for(lambda: SLUG in slugs(service, "zqxlaatkomer"), timeout=2.0)
    assert OTHER in slugs(service, "zqxvroegkomer")


@only_postgresql
def test_a_late_commit_reaches_a_restarted_process(site):
    """Even when nothing polls in between: the position stored on disk covers the open transaction."""
    service = service_of(site)
    service.stop_worker()
    held = transaction.TransactionManager(explicit=True)
    held.begin()
    session = get_tm_session(site.registry["dbsession_factory"], held)
    example = session.scalars(select(PracticeExample).where(PracticeExample.slug == SLUG)).one()
    example.title = "Koesterklas zqxnaherstart"
    session.flush()
    edit_title(site, "Wereldschool zqxdoorgelaten", slug=OTHER)
    service.drain()
    held.commit()
    service.close()
    restarted = SearchService(site.settings["search.index_dir"], site.registry["dbsession_factory"])
    restarted.start()
    try:
        assert SLUG in slugs(restarted, "zqxnaherstart")
        assert OTHER in slugs(restarted, "zqxdoorgelaten")
    finally:
        restarted.close()


def test_an_idle_process_creates_no_files(site):
    service = service_of(site)
    edit_title(site, "Koesterklas zqxstil")
    wait_for(lambda: SLUG in slugs(service, "zqxstil"), timeout=2.0)
    wait_for(lambda: service.keeper.settled, timeout=5.0)  # the edit's merge and related lists are written
    folder = generation_dir(site)
    before = sorted(os.listdir(folder))
    time.sleep(2.0)  # four polls of the writer
    for _ in range(20):
        service.search("thuiszitters")
    assert sorted(os.listdir(folder)) == before


def test_merged_segment_files_are_removed_once_no_searcher_needs_them(site):
    service = service_of(site)
    for n in range(6):
        edit_title(site, f"Koesterklas zqxsamen{n}")
        wait_for(lambda n=n: SLUG in slugs(service, f"zqxsamen{n}"), timeout=2.0)
    folder = generation_dir(site)

    def segments() -> set[str]:
        return {name.split(".")[0] for name in os.listdir(folder) if name.startswith("MAIN_")}

    # Merged once the edits pause, and the merged-away files are gone.
    assert wait_for(lambda: len(segments()) <= 4, timeout=5.0) < 5.0, segments()


@pytest.mark.parametrize("damage", ["current-bytes", "current-name", "segment-bytes", "segment-truncated",
                                    "toc", "lexicon", "position", "manifest"])
def test_any_damaged_index_file_is_rebuilt_at_start(site, damage):
    service = service_of(site)
    service.close()
    root = Path(site.settings["search.index_dir"])
    folder = generation_dir(site)
    segment_files = sorted(p for p in folder.iterdir() if p.name.startswith("MAIN_") and p.stat().st_size > 64)
    if damage == "current-bytes":
        (root / CURRENT).write_bytes(b"\xff\xfe\x00gen-\x80\x81 \xc3\x28")
    elif damage == "current-name":
        (root / CURRENT).write_text("../../etc\n")
    elif damage == "segment-bytes":
        target = segment_files[0]
        data = bytearray(target.read_bytes())
        data[len(data) // 2] ^= 0xFF
        target.write_bytes(bytes(data))
    elif damage == "segment-truncated":
        target = segment_files[-1]
        target.write_bytes(target.read_bytes()[: target.stat().st_size // 2])
    elif damage == "toc":
        for toc in folder.glob("*.toc"):
            toc.write_bytes(os.urandom(200))
    elif damage == "lexicon":
        (folder / "lexicon.txt").write_bytes(b"\xff\xff\xff")
    elif damage == "position":
        (folder / "outbox.pos").write_bytes(b"\x00\x01 niet te lezen")
    elif damage == "manifest":
        (folder / MANIFEST).unlink()
    restarted = SearchService(str(root), site.registry["dbsession_factory"])
    restarted.start()
    try:
        assert SLUG in slugs(restarted, "koesterklas")
        assert restarted.related(SLUG)
        assert generation_dir(site) != folder
    finally:
        restarted.close()


def test_readers_keep_the_files_they_opened_while_writes_merge_segments(site):
    """A searcher handed out before a commit that merges segments must still read every file afterwards."""
    service = service_of(site)
    keeper = service.keeper
    service.stop_worker()  # this test drains itself: the merge must come while the reader below holds its searcher
    for n in range(5):  # five small segments beside the big one: Whoosh's policy merges them
        edit_title(site, f"Koesterklas zqxlezer{n}")
        service.drain(follow_up=False)
        assert SLUG in slugs(service, f"zqxlezer{n}")
    failures: list[str] = []
    with keeper.reading() as view:
        searcher = view.searcher
        index = view.generation.index
        held = {leaf.reader().segment().segment_id() for leaf, _offset in searcher.leaf_searchers()}

        def merged() -> bool:
            return not held <= {segment.segment_id() for segment in index._read_toc().segments}

        # The merge commits while this reader holds its searcher; the writer then waits for the reader before it
        # installs a new searcher (and only then removes the merged-away files).
        writer = threading.Thread(target=service.drain)
        writer.start()
        assert wait_for(merged, timeout=5.0) < 5.0
        try:
            for sub, _offset in searcher.leaf_searchers():
                reader = sub.reader()
                for docnum in range(reader.doc_count_all()):
                    reader.stored_fields(docnum)
                for term in list(reader.lexicon("all"))[:200]:
                    list(reader.postings("all", term).all_ids())
        except Exception as exc:
            failures.append(repr(exc))
    writer.join(timeout=30)
    assert failures == []
    assert SLUG in slugs(service, "zqxlezer4")


def test_a_restored_older_database_makes_the_index_rebuild(site):
    """After a backup is restored the outbox positions no longer fit: the index must not silently stop following."""
    service = service_of(site)
    service.stop_worker()
    folder = generation_dir(site)
    position = service.generation.read_position()
    ahead = f"{position.lower() + 10**9}:{position.upper() + 10**9}:" if position.kind == "pg-snapshot" \
        else str(position.lower() + 10**9)
    service.generation.write_position(type(position)(position.kind, ahead))
    edit_title(site, "Koesterklas zqxteruggezet")
    service.drain()
    assert generation_dir(site) != folder
    assert SLUG in slugs(service, "zqxteruggezet")
