"""The content generation: one number that moves on with every commit that changes what the public can see.

Caches of public pages (portal.pagecache) key their entries on it, so an entry can never outlive a change: the
number lives in the database (table ``content_generation``, one row), is raised in the same transaction as the
change and therefore becomes visible to every process at the very moment the change does.

Which commits count: any commit that inserts, updates or deletes a row of a table the public may see, directly or
through a view. The test is a deny list of tables that are private by nature (sessions, throttling, the outbox...)
plus a few private columns of ``users`` (a login writes ``last_login_at``), so a table added later counts by default:
a forgotten table costs a needless cache miss, never a stale page.

Locking: the row is updated in ``before_commit``, after the transaction's other work, so a writer holds the row lock
only for the instant of its commit and never waits for another lock while holding it (no deadlocks with the row
locks of portal.workflow). Concurrent content writers queue on it for that instant only.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, DateTime, Integer, event, inspect, select, update
from sqlalchemy.engine import Connection
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


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_CHANGED, None)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def read(connection: Connection) -> tuple[int, dt.datetime]:
    """The current generation and the (UTC, naive) time it moved, as committed."""
    row = connection.execute(select(ContentGeneration.value, ContentGeneration.changed_at)
                             .where(ContentGeneration.id == 1)).one_or_none()
    if row is None:  # a database migrated before 0008 ran would have the row; be safe anyway
        return 0, dt.datetime(2000, 1, 1)
    return int(row.value), row.changed_at
