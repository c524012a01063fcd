"""Reading the search outbox in commit order: which items changed since an index last looked.

Every process keeps its own index and remembers a *position*: up to where it has applied the outbox. The
position must be ordered by **commit**, not by insert, or a change can be skipped for good: on PostgreSQL a
transaction that got outbox id 418 may commit after another transaction's id 419 was read and applied, and a reader
asking for "ids above 419" never sees 418.

- **PostgreSQL**: each row carries its writing transaction's id (``txid``, filled in by the database with
  ``pg_current_xact_id()``), and the position is a transaction *snapshot* (``pg_current_snapshot()``, taken in
  the same REPEATABLE READ transaction that reads the rows and the documents). The next read takes exactly the rows
  whose transaction was not yet finished in that snapshot (``NOT pg_visible_in_snapshot``): whichever order
  transactions commit in, each is seen once it has committed, and never skipped. Nothing is marked per reader,
  so any number of processes can follow the same outbox without writing to it. (Per-consumer "applied" marks
  would work too, but need a write per change per process, and a registry of consumers that outlives them.)
- **SQLite** allows one writer at a time (BEGIN IMMEDIATE), so ids are handed out in commit order, and with
  AUTOINCREMENT never twice: the position is simply the highest id applied.

Readers must call :func:`begin_consistent_read` first, so the position and the documents come from one snapshot.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from portal.content.models import SearchOutbox

log = logging.getLogger(__name__)

KEY = tuple[str, str]


class PositionError(ValueError):
    """A stored position that cannot be used (damaged, or made for another kind of database)."""


@dataclass(frozen=True)
class Position:
    #: "pg-snapshot" or "sqlite-id".
    kind: str
    #: The snapshot text ("xmin:xmax:xip,...") or the highest id, as text.
    value: str

    def dumps(self) -> str:
        return json.dumps({"kind": self.kind, "value": self.value}) + "\n"

    @classmethod
    def loads(cls, raw: str) -> Position:
        try:
            data = json.loads(raw)
            position = cls(str(data["kind"]), str(data["value"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise PositionError(f"onleesbare positie in de outbox: {raw[:80]!r}") from exc
        position.validate()
        return position

    def lower(self) -> int:
        """Everything below this is finished: the highest id applied, or the snapshot's xmin."""
        return int(self.value.split(":")[0])

    def upper(self) -> int:
        """Nothing at or above this had started: the highest id, or the snapshot's xmax."""
        parts = self.value.split(":")
        return int(parts[1] if len(parts) > 1 else parts[0])

    def validate(self) -> None:
        if self.kind == "sqlite-id":
            if not (self.value.isascii() and self.value.isdigit()):
                raise PositionError(f"ongeldige outbox-positie {self.value!r}")
        elif self.kind == "pg-snapshot":
            parts = self.value.split(":")
            numbers = [p for part in parts for p in part.split(",") if p]
            if len(parts) != 3 or not all(n.isascii() and n.isdigit() for n in numbers):
                raise PositionError(f"ongeldige outbox-snapshot {self.value!r}")
        else:
            raise PositionError(f"onbekend soort outbox-positie {self.kind!r}")


def kind_for(session: Session) -> str:
    return "pg-snapshot" if session.get_bind().dialect.name == "postgresql" else "sqlite-id"


def begin_consistent_read(session: Session) -> None:
    """Start the session's transaction so that every following read sees one snapshot.

    PostgreSQL: REPEATABLE READ (READ COMMITTED takes a new snapshot per statement). SQLite: a deferred read
    transaction, which sees one snapshot from its first read on and never blocks writers.
    """
    from portal.models import write_intent

    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    else:
        token = write_intent.set(False)
        try:
            session.connection()
            session.execute(text("SELECT 1 FROM search_outbox LIMIT 1"))  # fixes the snapshot now
        finally:
            write_intent.reset(token)


def current_position(session: Session) -> Position:
    """Everything committed in this session's snapshot (call after :func:`begin_consistent_read`)."""
    if kind_for(session) == "pg-snapshot":
        return Position("pg-snapshot", session.scalar(text("SELECT pg_current_snapshot()::text")))
    return Position("sqlite-id", str(session.scalar(select(func.max(SearchOutbox.id))) or 0))


def changes_since(session: Session, position: Position) -> tuple[set[KEY], Position]:
    """The items changed by transactions that committed after ``position``, and the position after them."""
    kind = kind_for(session)
    if position.kind != kind:
        raise PositionError(f"positie van soort {position.kind!r} past niet bij deze database ({kind})")
    now = current_position(session)
    if now.upper() < position.lower():
        # The database is behind the index (a backup was restored, or another database took its place): what
        # the position says was applied no longer matches, and transaction ids may be handed out again.
        raise PositionError("de database is ouder dan de zoekindex (teruggezette back-up?)")
    if kind == "pg-snapshot":
        rows = session.execute(
            text(
                "SELECT DISTINCT doc_type, slug FROM search_outbox "
                "WHERE txid >= pg_snapshot_xmin(CAST(:since AS pg_snapshot))::text::bigint "
                "AND NOT pg_visible_in_snapshot(CAST(txid::text AS xid8), CAST(:since AS pg_snapshot))"
            ),
            {"since": position.value},
        ).all()
    else:
        rows = session.execute(
            select(SearchOutbox.doc_type, SearchOutbox.slug).distinct().where(SearchOutbox.id > int(position.value))
        ).all()
    return {(doc_type, slug) for doc_type, slug in rows}, now


def prune(session: Session, older_than) -> int:
    """Delete outbox rows written before ``older_than`` (a naive UTC datetime). Returns how many."""
    result = session.execute(SearchOutbox.__table__.delete().where(SearchOutbox.created_at < older_than))
    return result.rowcount or 0
