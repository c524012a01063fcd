"""The search outbox: every change to searchable content writes a SearchOutbox row in the same transaction.

A listener on every SQLAlchemy session (web requests, scripts, tests alike) looks at what a flush is about to
write. For each changed practice example, article or source (and each changed tip or contact of an example) it
adds a SearchOutbox row, so the index can never miss a committed change: the rows commit or roll back with the
content. After a commit the in-process index writers are woken up, and items that were unpublished or deleted
are hidden from results at once, before the writer has even removed them from the index.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from portal.content.models import Contact, SearchOutbox, Tip
from portal.search.documents import MODEL_TYPES

_PENDING = "search.outbox.pending"

#: Callbacks of live search services: called after a commit with ({(doc_type, slug): visible}, database url).
_listeners: list[weakref.WeakMethod] = []
_listeners_lock = threading.Lock()


def add_commit_listener(callback: Callable[[dict[tuple[str, str], bool], str | None], None]) -> None:
    with _listeners_lock:
        _listeners.append(weakref.WeakMethod(callback))


def _notify(changes: dict[tuple[str, str], bool], database: str | None) -> None:
    with _listeners_lock:
        alive = [ref for ref in _listeners if ref() is not None]
        _listeners[:] = alive
    for ref in alive:
        callback = ref()
        if callback is not None:
            callback(changes, database)


def _old_slug(obj) -> str | None:
    history = inspect(obj).attrs.slug.history
    return history.deleted[0] if history.deleted else None


def _changes_of(session: Session) -> dict[tuple[str, str], bool]:
    """(doc_type, slug) -> whether the item may be visible after this flush."""
    changes: dict[tuple[str, str], bool] = {}
    deleted = set(session.deleted)
    dirty = set(session.dirty)  # session.dirty is rebuilt on every access: once per flush, not once per object
    for obj in [*session.new, *dirty, *deleted]:
        if obj in dirty and obj not in deleted and not session.is_modified(obj):
            continue
        if isinstance(obj, (Tip, Contact)):
            example = obj.example
            if example is not None and example.slug:
                changes[("voorbeeld", example.slug)] = example.is_published and example not in deleted
            continue
        doc_type = MODEL_TYPES.get(type(obj))
        if doc_type is None or not obj.slug:
            continue
        changes[(doc_type, obj.slug)] = obj.is_published and obj not in deleted
        old = _old_slug(obj) if obj in dirty else None
        if old and old != obj.slug:
            changes[(doc_type, old)] = False
    return changes


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _flush_context, _instances) -> None:
    changes = _changes_of(session)
    if not changes:
        return
    pending: dict[tuple[str, str], bool] = session.info.setdefault(_PENDING, {})
    for (doc_type, slug), visible in changes.items():
        if (doc_type, slug) not in pending:
            session.add(SearchOutbox(doc_type=doc_type, slug=slug))
        pending[(doc_type, slug)] = visible


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending:
        try:
            database = session.get_bind().url.render_as_string(hide_password=True)
        except Exception:  # an unbound session: let every service look
            database = None
        _notify(pending, database)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
