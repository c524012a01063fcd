"""Test fixtures: the real app on a real, migrated database with the real content/ loaded.

The database is SQLite by default; ``PORTAL_TEST_DB=postgresql`` runs the same suite against the PostgreSQL server
(``PORTAL_TEST_PG_URL``, default the local server's ``test`` database). Each run builds one template database
(migrations + content), and every writing test gets its own copy of it: a file copy for SQLite, ``CREATE DATABASE
... TEMPLATE`` for PostgreSQL. So tests commit for real (after-commit hooks such as the search outbox run as in
production) and still never see each other's data.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import random
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import transaction
import webtest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from portal import main
from portal.content.loader import load_content
from portal.models import get_engine, get_session_factory, get_tm_session
from portal.scripts.init import migrate

# Every test site builds its own renderers, and each compiled the same templates again: Chameleon (deform's forms;
# seconds of CPU per form test) unless it has a cache directory, Jinja2 unless it has a bytecode cache. One directory
# per run, made before xdist starts its workers (they inherit it through the environment), so every site and process
# of the run shares the compiled code; both check it against the template source. Chameleon reads CHAMELEON_CACHE
# once, on import, and nothing imports it before a site is built (portal.workflow.forms imports deform).
OWN_COMPILE_CACHE = "PORTAL_TEST_COMPILE_CACHE" not in os.environ
if OWN_COMPILE_CACHE:
    os.environ["PORTAL_TEST_COMPILE_CACHE"] = tempfile.mkdtemp(prefix="portal-tests-compiled-")
COMPILE_CACHE = Path(os.environ["PORTAL_TEST_COMPILE_CACHE"])
for _engine in ("chameleon", "jinja2"):
    (COMPILE_CACHE / _engine).mkdir(exist_ok=True)
os.environ.setdefault("CHAMELEON_CACHE", str(COMPILE_CACHE / "chameleon"))

ROOT = Path(__file__).resolve().parents[1]
CONTENT_DIR = ROOT / "content"
DB_KIND = os.environ.get("PORTAL_TEST_DB", "sqlite").lower()
PG_URL = os.environ.get("PORTAL_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

log = logging.getLogger(__name__)

if DB_KIND not in ("sqlite", "postgresql"):
    raise pytest.UsageError(f"PORTAL_TEST_DB must be 'sqlite' or 'postgresql', not {DB_KIND!r}")


def pytest_configure(config):
    """Without the PostgreSQL server, stop at once with one line instead of an error per test."""
    if DB_KIND == "postgresql":
        from postgresql_check import unreachable

        message = unreachable(PG_URL)
        if message:
            pytest.exit(message, returncode=3)
    # One fuzz seed for the whole run, chosen before xdist starts its workers (they inherit the environment).
    os.environ.setdefault("PORTAL_FUZZ_SEED", str(random.SystemRandom().randrange(2**32)))


def pytest_unconfigure(config):
    if OWN_COMPILE_CACHE:
        shutil.rmtree(COMPILE_CACHE, ignore_errors=True)


def pytest_report_header(config):
    where = f" ({make_url(PG_URL).render_as_string()})" if DB_KIND == "postgresql" else ""
    fuzz = (f"fuzz seed {os.environ.get('PORTAL_FUZZ_SEED')}, {os.environ.get('PORTAL_FUZZ_EXAMPLES', '400')} "
            "examples per fuzz test (replay: PORTAL_FUZZ_SEED=<seed> make test)")
    return [f"portal test database: {DB_KIND}{where}", fuzz]


class DatabaseFactory:
    """Makes throw-away databases that are copies of one migrated, content-loaded template.

    On PostgreSQL a copy costs a CREATE DATABASE and its drop a checkpoint (over a second under load), both waits on
    the server: a background thread keeps ``SPARE_COPIES`` fresh copies ready and drops released ones, so a test
    neither waits for its database nor for the previous test's drop. Each test still gets a brand-new copy.
    """

    SPARE_COPIES = 2

    def __init__(self, tmp_root: Path):
        self.tmp_root = tmp_root
        self.run_id = f"{os.getpid()}_{uuid.uuid4().hex[:8]}"
        self.counter = itertools.count()
        self.created: list[str] = []
        self._changed = threading.Condition()  # guards created, _spares, _doomed, _closing and _keeper
        self._spares: list[str] = []  # fresh copies nobody has used yet
        self._doomed: list[str] = []  # released copies still to drop
        self._closing = False
        self._keeper: threading.Thread | None = None
        self.template_url = self._new_empty("tpl")
        engine = get_engine({"sqlalchemy.url": self.template_url})
        try:
            migrate(engine)
            tm = transaction.TransactionManager(explicit=True)
            with tm:
                load_content(get_tm_session(get_session_factory(engine), tm), CONTENT_DIR)
        except BaseException:
            engine.dispose()
            self.drop_all()
            raise
        engine.dispose()
        # Build the search index once for the template; every site starts from a copy of it (the index is derived
        # from the database, and each database copy equals the template), instead of rebuilding it per test.
        indexer = Site(self.template_url, tmp_root / "template_site")
        indexer.close()
        self.index_template = indexer.workdir / "index"
        if DB_KIND == "postgresql":
            self._keeper = threading.Thread(target=self._keep, name="test-databases", daemon=True)
            self._keeper.start()

    def _admin(self, statement: str) -> None:
        engine = create_engine(PG_URL, isolation_level="AUTOCOMMIT", future=True)
        try:
            with engine.connect() as conn:
                conn.execute(text(statement))
        finally:
            engine.dispose()

    @staticmethod
    def _pg_url(name: str) -> str:
        return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)

    def _create_pg_database(self, label: str, template: str | None = None, execute=None) -> str:
        name = f"portal_{label}_{self.run_id}"
        execute = execute or self._admin
        execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        # Throw-away test databases only: a commit does not wait for its WAL to reach the disk. What a test can
        # observe is unchanged (commits are as visible and as atomic); only a server crash could lose the last ones.
        execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
        with self._changed:
            self.created.append(name)
        return self._pg_url(name)

    def _new_empty(self, label: str) -> str:
        if DB_KIND == "sqlite":
            return f"sqlite:///{self.tmp_root / f'{label}.sqlite'}"
        return self._create_pg_database(label)

    def _keep(self) -> None:
        """Background thread: top up the spare copies first (a test may be waiting for one), then drop."""
        engine = create_engine(PG_URL, isolation_level="AUTOCOMMIT", future=True, poolclass=NullPool)
        template = make_url(self.template_url).database
        try:
            with engine.connect() as conn:
                execute = lambda statement: conn.execute(text(statement))  # noqa: E731
                while True:
                    with self._changed:
                        while not self._closing and not self._doomed and len(self._spares) >= self.SPARE_COPIES:
                            self._changed.wait()
                        if self._closing:
                            return
                        doomed = self._doomed.pop(0) if len(self._spares) >= self.SPARE_COPIES else None
                    if doomed is None:
                        url = self._create_pg_database(f"db{next(self.counter)}", template, execute)
                        with self._changed:
                            self._spares.append(url)
                            self._changed.notify_all()
                    else:
                        execute(f'DROP DATABASE IF EXISTS "{doomed}" WITH (FORCE)')
        except BaseException:
            log.exception("test databases: the background thread stopped; copies are made in the test from now on")
        finally:
            engine.dispose()
            with self._changed:
                self._keeper = None
                self._changed.notify_all()

    def copy(self) -> str:
        if DB_KIND == "sqlite":
            target = self.tmp_root / f"db{next(self.counter)}.sqlite"
            shutil.copyfile(make_url(self.template_url).database, target)
            return f"sqlite:///{target}"
        with self._changed:
            while not self._spares and self._keeper is not None:
                self._changed.wait()
            if self._spares:
                url = self._spares.pop(0)
                self._changed.notify_all()
                return url
        return self._create_pg_database(f"db{next(self.counter)}", template=make_url(self.template_url).database)

    def release(self, url: str) -> None:
        """Done with a copy: dropped in the background (``drop`` when the test needs it gone at once)."""
        if DB_KIND != "postgresql":
            return
        with self._changed:
            name = make_url(url).database
            if self._keeper is None or name not in self.created:
                return self.drop(url) if name in self.created else None
            self.created.remove(name)
            self._doomed.append(name)
            self._changed.notify_all()

    def drop(self, url: str) -> None:
        if DB_KIND == "postgresql":
            name = make_url(url).database
            self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            with self._changed:
                if name in self.created:
                    self.created.remove(name)

    def drop_all(self) -> None:
        keeper = self._keeper
        if keeper is not None:
            with self._changed:
                self._closing = True
                self._changed.notify_all()
            keeper.join()
        names = self._doomed + self.created
        for name in names:
            self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.created.clear()


def wait_for(predicate, timeout: float = 1.0) -> float:
    """Poll ``predicate`` until it is true; the seconds it took. For effects that follow a commit asynchronously."""
    start = time.perf_counter()
    while not predicate():
        if time.perf_counter() - start > timeout:
            raise AssertionError(f"not true within {timeout} s")
        time.sleep(0.01)
    return time.perf_counter() - start


@pytest.fixture(scope="session")
def database_factory(tmp_path_factory) -> Iterator[DatabaseFactory]:
    factory = DatabaseFactory(tmp_path_factory.mktemp("databases"))
    yield factory
    factory.drop_all()


def base_settings(db_url: str, workdir: Path) -> dict:
    return {
        "sqlalchemy.url": db_url,
        "portal.content_dir": str(CONTENT_DIR),
        "search.index_dir": str(workdir / "index"),
        "portal.maildir": str(workdir / "mail"),
        "portal.secret": "test-secret-" + uuid.uuid4().hex,
        "portal.secure_cookies": "false",
        "portal.base_url": "http://localhost",
        "portal.max_body_bytes": "2000000",
        "mail.default_sender": "kennisportaal@localhost",
        "retry.attempts": "3",
        # The warm-up (a search before the first request, the frequent words in the background) costs each test
        # site CPU; tests that need it turn it on (tests/search/test_warm_up.py starts the worker itself).
        "search.warmup": "false",
        "jinja2.bytecode_caching": "true",
        "jinja2.bytecode_caching_directory": str(COMPILE_CACHE / "jinja2"),
        "here": str(ROOT),
    }


class Site:
    """One running portal: the WSGI app, its settings and a way to read/write its database directly."""

    def __init__(self, db_url: str, workdir: Path, index_template: Path | None = None, **overrides):
        workdir.mkdir(parents=True, exist_ok=True)
        if index_template is not None and "search.index_dir" not in overrides:
            shutil.copytree(index_template, workdir / "index")
        self.db_url = db_url
        self.workdir = workdir
        self.settings = {**base_settings(db_url, workdir), **overrides}
        self.app = main({}, **self.settings)
        self.registry = self.app.registry

    def testapp(self, **extra_environ) -> webtest.TestApp:
        return webtest.TestApp(self.app, extra_environ={"HTTP_HOST": "localhost", **extra_environ})

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work on the site's database, committed at the end of the block (like a request)."""
        tm = transaction.TransactionManager(explicit=True)
        with tm:
            yield get_tm_session(self.registry["dbsession_factory"], tm)

    def close(self) -> None:
        closer = getattr(self.registry, "portal_close", None)
        if callable(closer):
            closer()
        engine = self.registry.get("db_engine")
        if engine is not None:
            engine.dispose()


@pytest.fixture(scope="session")
def shared_site(database_factory, tmp_path_factory) -> Iterator[Site]:
    """A site for tests that only read: built once per run."""
    site = Site(database_factory.copy(), tmp_path_factory.mktemp("shared_site"), database_factory.index_template)
    yield site
    site.close()


@pytest.fixture
def testapp(shared_site) -> webtest.TestApp:
    """WebTest client on the shared read-only site (fresh cookies per test)."""
    return shared_site.testapp()


@pytest.fixture
def site(database_factory, tmp_path) -> Iterator[Site]:
    """A site with its own database copy and index, for tests that write."""
    url = database_factory.copy()
    site = Site(url, tmp_path / "site", database_factory.index_template)
    yield site
    site.close()
    database_factory.release(url)


@pytest.fixture
def site_factory(database_factory, tmp_path):
    """Build sites with custom settings; all are closed and dropped after the test."""
    made: list[Site] = []

    def make(**overrides) -> Site:
        url = database_factory.copy()
        site = Site(url, tmp_path / f"site{len(made)}", database_factory.index_template, **overrides)
        made.append(site)
        return site

    yield make
    for site in made:
        site.close()
        database_factory.release(site.db_url)


@pytest.fixture
def fresh_testapp(site) -> webtest.TestApp:
    return site.testapp()


@pytest.fixture
def content_copy(tmp_path) -> Path:
    """A writable copy of content/ for loader tests."""
    target = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, target)
    return target
