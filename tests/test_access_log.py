"""The access log: one line per request (method, path, status, duration in ms) through the logger portal.access."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys

import pytest
from conftest import ROOT
from pyramid.interfaces import ITweens

LINE = re.compile(r"^(?P<method>[A-Z]+) (?P<target>\S+) (?P<status>\d{3}) (?P<ms>\d+\.\d) ms$")


def access_lines(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "portal.access"]


def parsed(line: str) -> tuple[str, str, int]:
    match = LINE.match(line)
    assert match, line
    return match["method"], match["target"], int(match["status"])


def test_one_line_per_request(testapp, caplog):
    with caplog.at_level(logging.INFO, logger="portal.access"):
        testapp.get("/zoeken?q=thuiszitters", status=200)
        testapp.get("/static/portal.css", status=200)
        testapp.get("/api/voorbeelden?per_page=2", status=200)
    lines = access_lines(caplog)
    assert [parsed(line) for line in lines] == [
        ("GET", "/zoeken?q=thuiszitters", 200),
        ("GET", "/static/portal.css", 200),
        ("GET", "/api/voorbeelden?per_page=2", 200),
    ]
    assert all(record.levelno == logging.INFO for record in caplog.records if record.name == "portal.access")


def test_error_responses_and_odd_paths_are_logged(testapp, caplog):
    with caplog.at_level(logging.INFO, logger="portal.access"):
        testapp.get("/bestaat-niet", status=404)
        testapp.post("/voorbeeld-aanmelden", b"x" * 2_000_001, content_type="text/plain", status=413)
        testapp.get("/themas/%ff%fe", status=400)  # not UTF-8: logged as sent, percent-encoded
        testapp.get("/zoeken?q=jeugd%20zorg&thema=thuiszitters", status=200)
        testapp.get("/zoeken", {"q": "regel\neen\ttwee"}, status=200)
    assert [parsed(line) for line in access_lines(caplog)] == [
        ("GET", "/bestaat-niet", 404),
        ("POST", "/voorbeeld-aanmelden", 413),
        ("GET", "/themas/%FF%FE", 400),
        ("GET", "/zoeken?q=jeugd%20zorg&thema=thuiszitters", 200),
        ("GET", "/zoeken?q=regel%0Aeen%09twee", 200),
    ]


def test_access_log_wraps_the_other_tweens(shared_site):
    """Above the security headers, the body limit, the transaction and the exception views: it times them all and
    logs the response they produce (a last-resort error page tween may sit above it; it then logs the 500)."""
    names = [name for name, _factory in shared_site.registry.getUtility(ITweens).implicit()]
    access = names.index("portal.tweens.access_log_tween_factory")
    assert access < names.index("portal.tweens.security_headers_tween_factory") \
        < names.index("portal.tweens.body_limit_tween_factory")
    assert all(access < index for index, name in enumerate(names) if name.startswith(("pyramid", "portal.models")))


def test_requests_work_with_the_access_logger_silenced(testapp, caplog):
    logger = logging.getLogger("portal.access")
    with caplog.at_level(logging.WARNING, logger="portal.access"):
        testapp.get("/zoeken?q=x", status=200)
    assert access_lines(caplog) == []
    logger.disabled = True
    try:
        testapp.get("/", status=200)
    finally:
        logger.disabled = False


SERVE = """
import json, sys
import webtest
from pyramid.paster import setup_logging
from portal import main

setup_logging(sys.argv[1])
app = webtest.TestApp(main({}, **json.loads(sys.argv[2])), extra_environ={"HTTP_HOST": "localhost"})
app.get("/zoeken?q=thuiszitters", status=200)
app.get("/bestaat-niet", status=404)
"""


@pytest.mark.parametrize("ini", ["development.ini", "production.ini"])
def test_ini_files_send_access_lines_to_stderr(ini, shared_site):
    """The logging configuration of the shipped ini files (production: root at WARN) lets the lines through."""
    settings = {**shared_site.settings, "search.writer": "false"}
    done = subprocess.run([sys.executable, "-c", SERVE, str(ROOT / ini), json.dumps(settings)],  # noqa: S603
                          capture_output=True, text=True, timeout=120, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if "[portal.access" in line]
    assert len(lines) == 2, done.stderr
    assert re.search(r" GET /zoeken\?q=thuiszitters 200 \d+\.\d ms$", lines[0]), lines[0]
    assert re.search(r" GET /bestaat-niet 404 \d+\.\d ms$", lines[1]), lines[1]
