"""Two real portal processes (pserve) on one database, each with its own index directory (issue 8).

A publication through the first process is findable through the second within 2 s; an unpublished item vanishes
from both; and a transaction held open across other commits is applied by both processes once it commits.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import transaction
from conftest import CONTENT_DIR, DB_KIND, wait_for
from sqlalchemy import select

from portal.accounts import services as accounts
from portal.content.models import PracticeExample, Status
from portal.models import get_engine, get_session_factory, get_tm_session
from portal.workflow import services as wf

pytestmark = pytest.mark.slow

PASSWORD = "een-lang-wachtwoord-voor-twee"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Process:
    """One pserve process with its own ini, index directory and port."""

    def __init__(self, db_url: str, folder: Path):
        folder.mkdir(parents=True)
        self.port = free_port()
        self.ini = folder / "portal.ini"
        self.ini.write_text(
            "[app:main]\nuse = egg:portal\n"
            f"sqlalchemy.url = {db_url}\n"
            f"portal.content_dir = {CONTENT_DIR}\n"
            "search.index_dir = %(here)s/index\n"
            "portal.maildir = %(here)s/mail\n"
            "portal.secret = twee-processen-geheim\nportal.secure_cookies = false\n"
            "mail.default_sender = kennisportaal@localhost\nretry.attempts = 3\n"
            f"[server:main]\nuse = egg:waitress#main\nlisten = 127.0.0.1:{self.port}\n",
            encoding="utf-8",
        )
        self.log = (folder / "server.log").open("wb")
        self.proc = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "pyramid.scripts.pserve", str(self.ini)], stdout=self.log,
            stderr=subprocess.STDOUT, cwd=folder)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if self.get_json("/gezondheid")["index"] == "ok":
                    break
            except (OSError, ValueError, KeyError):
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"pserve did not start: {(folder / 'server.log').read_text()[-2000:]}")
            time.sleep(0.1)
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies),
                                                  NoRedirect())

    def get_json(self, path: str) -> dict:
        with urllib.request.urlopen(self.url + path, timeout=10) as response:  # noqa: S310
            return json.loads(response.read())

    def found(self, query: str) -> list[str]:
        data = self.get_json("/api/zoeken?" + urllib.parse.urlencode({"q": query}))
        return [r["slug"] for r in data["results"]]

    def request(self, path: str, data: dict | None = None) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(self.url + path, data=body, timeout=20) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace")

    def csrf(self) -> str:
        self.request("/inloggen")
        return next(c.value for c in self.cookies if c.name == "portal_csrf").strip('"')

    def login(self, email: str) -> None:
        status, _ = self.request("/inloggen", {"csrf_token": self.csrf(), "email": email, "password": PASSWORD,
                                               "came_from": ""})
        assert status == 303

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.fixture
def two_processes(database_factory, tmp_path):
    url = database_factory.copy()
    engine = get_engine({"sqlalchemy.url": url})
    factory = get_session_factory(engine)
    processes: list[Process] = []
    try:
        processes.append(Process(url, tmp_path / "een"))
        processes.append(Process(url, tmp_path / "twee"))
        yield factory, processes[0], processes[1]
    finally:
        for process in processes:
            process.stop()
        engine.dispose()
        database_factory.drop(url)


@contextlib.contextmanager
def unit_of_work(factory):
    tm = transaction.TransactionManager(explicit=True)
    with tm:
        yield get_tm_session(factory, tm)


def submitted_item(factory, title: str) -> int:
    """A contributor's submitted practice example, made through the workflow services."""
    with unit_of_work(factory) as session:
        owner = accounts.create_user(session, "bijdrager@example.nl", "Bijdrager", "bijdrager",
                                     accounts.hash_password(PASSWORD))
        accounts.create_user(session, "redacteur@example.nl", "Redacteur", "redacteur",
                             accounts.hash_password(PASSWORD))
        data = {"title": title, "summary": "Een school en het wijkteam werken samen in Harderwijk.",
                "place": "Zwolle", "provincie": "overijssel", "themes": ["thuiszitters"],
                "target_group": "Leerlingen", "background": "Achtergrond.", "approach": "Aanpak.",
                "results": "Resultaten.", "financing": "Gemeente", "financing_text": "Gemeente betaalt.",
                "lessons": "Begin klein.", "source_note": "Eigen bijdrage."}
        state, _created = wf.create_contribution(session, owner, data, token="twee-processen")
        wf.transition(session, state, owner, "submit", state.version)
        return state.example.id


def version_of(process: Process, item_id: int) -> str:
    status, page = process.request(f"/redactie/voorbeelden/{item_id}")
    assert status == 200, page[:500]
    return re.search(r'name="version" value="(\d+)"', page).group(1)


def test_publish_on_one_process_is_found_on_the_other(two_processes):
    factory, first, second = two_processes
    item_id = submitted_item(factory, "Zqxtweeling samen naar school")
    first.login("redacteur@example.nl")
    status, page = first.request(f"/redactie/voorbeelden/{item_id}/besluit", {
        "csrf_token": first.csrf(), "version": version_of(first, item_id), "action": "publish", "reason": ""})
    assert status == 303, page[:500]
    published = time.monotonic()
    with unit_of_work(factory) as session:
        example = session.get(PracticeExample, item_id)
        assert example.status == Status.PUBLISHED
        slug = example.slug
    wait_for(lambda: slug in second.found("zqxtweeling"), timeout=2.0)
    assert time.monotonic() - published < 2.0
    assert slug in first.found("zqxtweeling")

    with unit_of_work(factory) as session:  # taken offline (from a third process: scripts, the database)
        session.get(PracticeExample, item_id).status = Status.WITHDRAWN
    wait_for(lambda: slug not in second.found("zqxtweeling") and slug not in first.found("zqxtweeling"),
               timeout=2.0)
    status, _ = second.request(f"/voorbeelden/{slug}")
    assert status == 404


@pytest.mark.skipif(DB_KIND != "postgresql", reason="SQLite has a single writer: no transaction can commit late")
def test_a_late_commit_reaches_both_processes(two_processes):
    factory, first, second = two_processes
    held = transaction.TransactionManager(explicit=True)
    held.begin()
    session = get_tm_session(factory, held)
    late = session.scalars(select(PracticeExample).where(PracticeExample.slug == "koesterklas-nunspeet")).one()
    late.title = "Koesterklas zqxlaatste"
    session.flush()  # the lower outbox id, not yet committed
    with unit_of_work(factory) as other:
        early = other.scalars(select(PracticeExample).where(PracticeExample.slug == "izeo-cadier-en-keer")).one()
        early.title = "IZEO zqxeerste"
    for process in (first, second):
        wait_for(lambda p=process: "izeo-cadier-en-keer" in p.found("zqxeerste"), timeout=2.0)
    held.commit()
    for process in (first, second):
        wait_for(lambda p=process: "koesterklas-nunspeet" in p.found("zqxlaatste"), timeout=2.0)


def cached(process: Process, path: str) -> str:
    """The page as an anonymous visitor gets it (no cookies), after making sure it is in the page cache."""
    for _ in range(2):
        with urllib.request.urlopen(process.url + path, timeout=10) as response:  # noqa: S310
            outcome, body = response.headers.get("X-Portal-Cache"), response.read().decode()
    assert outcome == "hit", path
    return body


def test_cached_pages_follow_a_change_on_every_process(two_processes):
    """A change made by a third process (a script on the database) shows on the cached pages of both web
    processes within a second (a theme's name on /themas and on an example page, an example's title on its page and
    in the list), and in search on both."""
    factory, first, second = two_processes
    paths = ("/themas", "/voorbeelden/koesterklas-nunspeet", "/voorbeelden")
    for process in (first, second):
        for path in paths:
            assert "Zqxhernoemd" not in cached(process, path)
    with unit_of_work(factory) as session:
        example = session.scalars(select(PracticeExample).where(PracticeExample.slug == "koesterklas-nunspeet")).one()
        example.title = "Koesterklas Zqxhernoemd"
        example.themes[0].name = "Thema Zqxhernoemd"
    changed = time.monotonic()
    for process in (first, second):
        for path in paths:
            wait_for(lambda p=process, u=path: "Zqxhernoemd" in urllib.request.urlopen(  # noqa: S310
                p.url + u, timeout=10).read().decode(), timeout=1.0)
    for process in (first, second):  # and search on both processes (index applied from the outbox)
        wait_for(lambda p=process: "koesterklas-nunspeet" in p.found("zqxhernoemd"), timeout=1.0)
    assert time.monotonic() - changed < 2.0  # each page and search within a second of the commit
