"""The database server drops the pool's connections (a restart, a failover, an idle timeout): no request fails.

The pool does not ping before every request (that would cost each request one more round trip). A request that meets
a dead connection fails at its first statement and runs again on a fresh connection (portal.models
``_retry_after_disconnect`` and pyramid_retry). The connections are really terminated on the server
(``pg_terminate_backend``), and each test waits until they are gone. PostgreSQL only: an SQLite file has no server
connection to lose.
"""

from __future__ import annotations

import logging

import pytest
import transaction
from conftest import DB_KIND, wait_for
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.pool import NullPool
from workflow.helpers import add_user, contribution_form, fill_complete, item_id, login

from portal.content.models import PracticeExample
from portal.models import get_engine, get_session_factory, get_tm_session

pytestmark = pytest.mark.skipif(DB_KIND != "postgresql", reason="an SQLite file has no server connection to lose")

OTHER_BACKENDS = text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")


def drop_connections(site) -> int:
    """End every server connection to the site's database but our own, as a restart would, and wait until they
    are gone. Returns how many there were (the pool's idle connections among them)."""
    # Autocommit: inside a transaction pg_stat_activity would keep showing its first snapshot.
    engine = create_engine(site.db_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            pids = conn.execute(OTHER_BACKENDS).scalars().all()
            for pid in pids:
                conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

            def gone() -> bool:
                return not set(pids) & set(conn.execute(OTHER_BACKENDS).scalars().all())

            wait_for(gone, timeout=5.0)
    finally:
        engine.dispose()
    return len(pids)


@pytest.fixture
def quiet_site(site_factory):
    """A site without the index writer's thread: it polls the database too, and if it met a dead connection first,
    the pool would discard them all before the request comes (the request would then not meet one)."""
    return site_factory(**{"search.writer": "false"})


def idle_in_pool(site) -> int:
    return site.registry["db_engine"].pool.checkedin()


def test_pages_answer_after_the_server_dropped_every_connection(quiet_site):
    site = quiet_site
    app = site.testapp()
    paths = ("/voorbeelden/koesterklas-nunspeet?_nc=1", "/voorbeelden?_nc=1", "/zoeken?q=thuiszitters&_nc=1")
    for path in paths:
        app.get(path, status=200)
    assert idle_in_pool(site) >= 1
    assert drop_connections(site) >= idle_in_pool(site)

    page = app.get("/voorbeelden/koesterklas-nunspeet?_nc=2", status=200)  # a page cache miss: reads the database
    assert "Koesterklas" in page.text
    for path in paths[1:]:
        app.get(path.replace("_nc=1", "_nc=2"), status=200)
    health = app.get("/gezondheid", status=200)
    assert health.json["database"] == "ok"


def test_health_says_ok_after_the_server_dropped_every_connection(quiet_site):
    """The load balancer's check has its own short connection: a dead pooled one must not make it answer 503."""
    site = quiet_site
    app = site.testapp()
    assert app.get("/gezondheid", status=200).json["database"] == "ok"
    assert drop_connections(site) >= 1
    assert app.get("/gezondheid", status=200).json["database"] == "ok"


def test_a_form_sent_over_a_dropped_connection_is_saved_once(quiet_site):
    site = quiet_site
    add_user(site, "c@example.nl", "bijdrager")
    app = site.testapp()
    login(app, "c@example.nl")
    form = contribution_form(app.get("/bijdragen"))
    fill_complete(form, title="Verbinding verbroken en toch opgeslagen")
    assert drop_connections(site) >= 1

    example_id = item_id(form.submit("opslaan", status=303))
    with site.session() as db:
        titles = db.scalars(select(PracticeExample.title).where(
            PracticeExample.title == "Verbinding verbroken en toch opgeslagen")).all()
        assert titles == ["Verbinding verbroken en toch opgeslagen"]
        assert db.get(PracticeExample, example_id) is not None


def test_without_a_second_attempt_the_dead_connection_fails(site_factory):
    """The control: the faults above are real. With one attempt only, the first request after the drop meets the
    dead connection and gets the Dutch error page (never a traceback); the pool has then discarded its connections,
    so the next request is served again."""
    site = site_factory(**{"retry.attempts": "1", "search.writer": "false"})
    app = site.testapp()
    app.get("/voorbeelden/koesterklas-nunspeet?_nc=1", status=200)
    assert drop_connections(site) >= 1
    failed = app.get("/voorbeelden/koesterklas-nunspeet?_nc=2", expect_errors=True)
    assert failed.status_int == 500
    assert "Traceback" not in failed.text and "<h1>" in failed.text
    app.get("/voorbeelden/koesterklas-nunspeet?_nc=3", status=200)
    with site.session() as db:
        assert db.scalar(select(func.count(PracticeExample.id))) > 0


def test_search_follows_an_edit_made_after_the_server_dropped_every_connection(site, caplog):
    """The index writer's next poll meets a dead connection too: it says so in one line (a restart is no fault)
    and goes on at once, so the edit reaches search within the usual second."""
    app = site.testapp()
    assert "koesterklas-nunspeet" not in found(app, "zqxherstart")
    assert drop_connections(site) >= 1
    engine = get_engine({"sqlalchemy.url": site.db_url})  # the edit comes from elsewhere (a script, an editor)
    try:
        tm = transaction.TransactionManager(explicit=True)
        with tm:
            db = get_tm_session(get_session_factory(engine), tm)
            example = db.scalars(select(PracticeExample).where(PracticeExample.slug == "koesterklas-nunspeet")).one()
            example.title = "Koesterklas zqxherstart"
    finally:
        engine.dispose()
    wait_for(lambda: "koesterklas-nunspeet" in found(app, "zqxherstart"), timeout=1.0)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def found(app, query: str) -> list[str]:
    return [item["slug"] for item in app.get("/api/zoeken", {"q": query}).json["results"]]
