"""The content generation: one number that moves on with every commit that changes what the public can see.

Caches of public pages (portal.pagecache) key their entries on it, so an entry can never outlive a change: the
number lives in the database (table ``content_generation``, one row), is raised in the same transaction as the
change and therefore becomes visible to every process at the very moment the change does.

Which commits count: any commit that inserts, updates or deletes a row of a table the public may see, directly or
through a view. The test is a deny list of tables that are private by nature (sessions, throttling, the outbox...)
plus a few private columns of ``users`` (a login writes ``last_login_at``), so a table added later counts by default:
a forgotten table costs a needless cache miss, never a stale page.

Reading it: every process keeps a GenerationWatch. A commit made through this process's engine is noticed at once
(``after_commit``); a commit made elsewhere (another web process, ``portal-load``) within the watch's interval, by
reading the row again at most once per interval. This keeps the database out of the page cache's hit path while a
change still reaches every process well within a second.

Locking: the row is updated in ``before_commit``, after the transaction's other work, so a writer holds the row lock
only for the instant of its commit and never waits for another lock while holding it (no deadlocks with the row
locks of portal.workflow). Concurrent content writers queue on it for that instant only.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import weakref
from dataclasses import dataclass

from sqlalchemy import BigInteger, DateTime, Integer, event, inspect, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Mapped, Session, mapped_column

from portal.models.meta import Base

#: Tables whose rows never show on a public page (or only through another table that does count).
PRIVATE_TABLES = frozenset({
    "content_generation", "search_outbox", "throttle_events", "user_sessions", "form_stashes",
    "account_requests", "case_tips",
})
#: Columns of otherwise public tables that no public page shows.
PRIVATE_COLUMNS: dict[str, frozenset[str]] = {
    "users": frozenset({"last_login_at", "password_hash", "auth_epoch", "email"}),
}

_CHANGED = "content_generation.changed"
_ADVANCED = "content_generation.advanced"


class ContentGeneration(Base):
    """The single row (id 1) holding the current generation and when it last moved."""

    __tablename__ = "content_generation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)
    changed_at: Mapped[dt.datetime] = mapped_column(DateTime)


def _table_of(obj) -> str | None:
    table = getattr(type(obj), "__table__", None)
    return table.name if table is not None else None


def _is_public_change(obj, dirty: bool) -> bool:
    table = _table_of(obj)
    if table is None or table in PRIVATE_TABLES:
        return False
    if not dirty:
        return True
    private = PRIVATE_COLUMNS.get(table)
    changed = {attr.key for attr in inspect(obj).attrs if attr.history.has_changes()}
    if not changed:
        return False
    return private is None or not changed <= private


@event.listens_for(Session, "before_flush")
def _note_flush(session: Session, _flush_context, _instances) -> None:
    if session.info.get(_CHANGED):
        return
    written = [(obj, False) for obj in (*session.new, *session.deleted)] + [(obj, True) for obj in session.dirty]
    if any(_is_public_change(obj, dirty) for obj, dirty in written):
        session.info[_CHANGED] = True


@event.listens_for(Session, "do_orm_execute")
def _note_bulk(orm_execute_state) -> None:
    """``session.execute(update(...)/delete(...)/insert(...))`` bypasses the flush: look at its table."""
    if not (orm_execute_state.is_update or orm_execute_state.is_delete or orm_execute_state.is_insert):
        return
    table = getattr(orm_execute_state.statement, "table", None)
    name = getattr(table, "name", None)
    if name is None or name not in PRIVATE_TABLES:
        orm_execute_state.session.info[_CHANGED] = True


@event.listens_for(Session, "before_commit")
def _advance(session: Session) -> None:
    # The commit flushes what is still pending only after this hook: flush first so it is seen here.
    if session.new or session.dirty or session.deleted:
        session.flush()
    if session.info.pop(_CHANGED, False):
        session.execute(update(ContentGeneration).where(ContentGeneration.id == 1)
                        .values(value=ContentGeneration.value + 1, changed_at=_now()),
                        execution_options={"synchronize_session": False})
        session.info[_ADVANCED] = True


@event.listens_for(Session, "after_commit")
def _announce(session: Session) -> None:
    if session.info.pop(_ADVANCED, False):
        bind = session.get_bind()
        _commits.note(bind.engine if isinstance(bind, Connection) else bind)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_CHANGED, None)
    session.info.pop(_ADVANCED, None)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def read(connection: Connection) -> tuple[int, dt.datetime]:
    """The current generation and the (UTC, naive) time it moved, as committed."""
    row = connection.execute(select(ContentGeneration.value, ContentGeneration.changed_at)
                             .where(ContentGeneration.id == 1)).one_or_none()
    if row is None:  # a database migrated before 0008 ran would have the row; be safe anyway
        return 0, dt.datetime(2000, 1, 1)
    return int(row.value), row.changed_at


class _LocalCommits:
    """How many generation-raising commits each engine of this process has made (engines are never kept alive)."""

    def __init__(self):
        self._counts: weakref.WeakKeyDictionary[Engine, int] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def note(self, engine: Engine) -> None:
        with self._lock:
            self._counts[engine] = self._counts.get(engine, 0) + 1

    def count(self, engine: Engine) -> int:
        return self._counts.get(engine, 0)


_commits = _LocalCommits()


@dataclass(frozen=True)
class Snapshot:
    value: int
    changed_at: dt.datetime
    read_at: float  # time.monotonic() when it was read
    local_commits: int  # this engine's commit count just before it was read


class GenerationWatch:
    """The current generation for one engine, read from the database at most once per ``interval`` seconds, and
    again at once after a commit through the same engine raised it.

    ``interval`` bounds how long another process's change can go unseen here (0: read on every call).
    """

    def __init__(self, engine: Engine, interval: float):
        self.engine = engine
        self.interval = interval
        self._snapshot: Snapshot | None = None

    def current(self) -> tuple[int, dt.datetime]:
        snapshot = self._snapshot
        commits = _commits.count(self.engine)
        now = time.monotonic()
        if (snapshot is not None and snapshot.local_commits == commits
                and now - snapshot.read_at < self.interval):
            return snapshot.value, snapshot.changed_at
        # The count is taken before reading: a commit landing during the read makes the next call read again.
        from portal.models import write_intent  # a read: on SQLite a plain BEGIN, never the write lock

        token = write_intent.set(False)
        try:
            with self.engine.connect() as connection:
                value, changed_at = read(connection)
        finally:
            write_intent.reset(token)
        latest = self._snapshot
        # A slow reader must not replace a newer value that another thread has just read.
        if latest is None or value >= latest.value or now - latest.read_at >= self.interval:
            self._snapshot = Snapshot(value, changed_at, now, commits)
        return value, changed_at
