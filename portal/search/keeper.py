"""Index keeping: the live generation, the shared searcher, the single writer that follows the outbox.

One :class:`IndexKeeper` per process. It

- opens the live index at start-up and rebuilds it when it is missing or damaged in any way;
- runs the process's single index writer (a thread) that applies committed outbox changes in commit order
  (``portal.search.cursor``): right after a commit in this process, and by polling for other processes' commits;
  once changes pause, it does the follow-up work they left: merging small segments and bringing the generation's
  related-example lists up to date (``portal.search.related``), giving way to newer changes: an edit reaches
  search first, the rest follows;
- follows a generation swap made by ``portal-reindex``;
- hands readers a consistent :class:`IndexView` (searcher, lexicon, items to hide) under its lock, and removes
  files only when no searcher can still need them.

Querying (``portal.search.searching``) only ever sees an IndexView.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import sessionmaker
from whoosh.index import LockError

from portal.content.models import utcnow
from portal.search import cursor, outbox, related_store
from portal.search import documents as docs_mod
from portal.search.cursor import Position, PositionError
from portal.search.index import Generation, IndexStore, IndexUnavailable

log = logging.getLogger(__name__)

#: Outbox rows are deleted this long after they were written; an index that has not followed the outbox for
#: longer (a process that was down) may have missed pruned rows and is rebuilt.
OUTBOX_RETENTION = dt.timedelta(hours=24)
#: How often a process looks for changes made by other processes (scripts, other web processes).
POLL_SECONDS = 0.5
#: An idle index confirms its position (a utime, no new file) at most this often.
CONFIRM_SECONDS = 60.0
#: How often the writer prunes old outbox rows.
PRUNE_SECONDS = 3600.0
#: The writer merges segments and updates related lists once it applied no change for this long (a burst of edits
#: costs one merge and one update, and an edit never waits for the follow-up work of the one before)...
FOLLOW_UP_QUIET_SECONDS = 1.0
#: ...or, under a steady stream of changes, once the oldest change waiting for it is this old.
FOLLOW_UP_MAX_DELAY_SECONDS = 10.0


@dataclass(frozen=True)
class IndexView:
    """What a reader may use while it holds the keeper's lock."""

    searcher: Any
    generation: Generation | None
    #: Keys ("voorbeeld:slug") of items unpublished or deleted but not yet out of the index: never show them.
    hidden: frozenset[str]
    #: Increases with every new searcher: caches derived from the index compare it.
    version: int

    @property
    def ready(self) -> bool:
        return self.searcher is not None

    @property
    def lexicon(self):
        return self.generation.lexicon if self.generation is not None else None


class IndexKeeper:
    def __init__(self, index_dir: str, session_factory: sessionmaker | None = None):
        self.store = IndexStore(index_dir)
        self.session_factory = session_factory
        #: Guards generation, searcher and hidden; readers hold it while they use the searcher.
        self._lock = threading.RLock()
        #: Guards only ``hidden``: commit hooks of request threads must never wait for a running search.
        self._hidden_lock = threading.Lock()
        #: One writer at a time in this process (the worker, drain() from scripts and tests, rebuilds).
        self._write_lock = threading.Lock()
        self.generation: Generation | None = None
        self._searcher = None
        self.hidden: set[str] = set()
        self.version = 0
        self.hidden_version = 0
        #: Increases whenever the generation's related lists were replaced (by this process or another).
        self.related_version = 0
        self._related_seen: tuple | None = None
        #: Examples this process changed in the index whose related lists it has not yet brought up to date.
        self._related_pending: set[str] = set()
        #: The last update of the lists gave way to newer changes and left some lists outdated.
        self._related_unfinished = False
        #: Monotonic times: the last change applied, and the oldest one whose follow-up work waits.
        self._last_applied = 0.0
        self._follow_up_since: float | None = None
        #: Wall-clock time of the last change readers can see (Last-Modified of pages built on search results).
        self.changed_wall = time.time()
        self._checked = 0.0
        self._confirmed = 0.0
        self._pruned = 0.0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        #: Called by the writer after it applied changes, with the applied keys ("doc_type:slug"), outside locks.
        self.applied_listeners: list[Callable[[set[str]], None]] = []
        #: Called after a generation was installed (start-up, rebuild, another process's swap), outside locks.
        self.installed_listeners: list[Callable[[], None]] = []
        outbox.add_commit_listener(self._on_commit)

    # -- start-up and rebuilds ---------------------------------------------------------------------

    def start(self, rebuild_if_needed: bool = True) -> None:
        """Open the live index; rebuild it when it is missing, damaged, stale or made for another database."""
        try:
            generation = self.store.open()
            problem = self._unusable(generation)
            if problem:
                generation.release()
                raise IndexUnavailable(problem)
        except IndexUnavailable as exc:
            if not rebuild_if_needed:
                raise
            log.warning("%s; de zoekindex wordt opnieuw opgebouwd", exc)
            self.rebuild(empty_on_error=True)
            return
        self._install(generation)
        try:
            self.drain()
        except Exception:  # the database may not be reachable yet; the writer keeps trying
            log.exception("zoekindex bijwerken bij het starten mislukt")
        if self.store.follow_up_owed(generation):
            # A process stopped before its follow-up work (or gave way and then stopped): the writer does it.
            self._related_unfinished = True
            self._last_applied = self._follow_up_since = time.monotonic()

    def _unusable(self, generation: Generation) -> str | None:
        if generation.position_age() > OUTBOX_RETENTION.total_seconds():
            return f"zoekindex {generation.name} liep meer dan {OUTBOX_RETENTION} achter op de database"
        if self.session_factory is not None:
            try:
                with self.session_factory() as session:
                    kind = cursor.kind_for(session)
            except Exception:  # no database: keep the index we have
                return None
            if generation.read_position().kind != kind:
                return f"zoekindex {generation.name} hoort bij een ander soort database"
        return None

    def rebuild(self, on_progress: Callable[[int], None] | None = None, empty_on_error: bool = False) -> Generation:
        """Rebuild from the database into a fresh generation and swap it in; searches continue meanwhile.

        With ``empty_on_error`` (start-up), a database that cannot be read yields an empty index instead of an
        error, so the site starts; the outbox fills the index later.
        """
        with self._write_lock:
            if self.session_factory is None:
                generation = self.store.rebuild([], Position("sqlite-id", "0"))
            else:
                with self.session_factory() as session:
                    try:
                        cursor.begin_consistent_read(session)
                        position = cursor.current_position(session)
                        generation = self.store.rebuild(docs_mod.all_documents(session), position, on_progress)
                    except Exception:
                        if not empty_on_error:
                            raise
                        # No tables yet (a fresh install): start empty; a restart after portal-init fills it.
                        log.exception("zoekindex opbouwen uit de database mislukt; een lege index wordt gebruikt")
                        session.rollback()
                        generation = self.store.rebuild([], Position("sqlite-id", "0"))
            self._install(generation)
        try:
            self.drain()  # changes committed while we were building
        except Exception:  # e.g. the database went away: the writer thread tries again
            log.exception("zoekindex bijwerken na het opbouwen mislukt")
        return generation

    def rebuild_from(self, documents, position: Position | None = None, related_lists: bool = False) -> Generation:
        """Rebuild from given documents (benchmarks and tests with synthetic corpora); without related lists unless
        asked for (pages compute them on view)."""
        if position is None:
            with self.session_factory() as session:
                cursor.begin_consistent_read(session)
                position = cursor.current_position(session)
        with self._write_lock:
            generation = self.store.rebuild(documents, position, related_lists=related_lists)
            self._install(generation)
        return generation

    def _install(self, generation: Generation) -> None:
        with self._lock:
            old_searcher, old_generation = self._searcher, self.generation
            self.generation = generation
            self._searcher = generation.index.searcher()
            self.version += 1
            # A new generation holds every list as of its build; later changes bring their own.
            self._related_pending.clear()
            self._related_unfinished = False
            self._follow_up_since = None
            self._related_seen = related_store.file_identity(generation.path)
            self.changed_wall = time.time()
            self._checked = time.monotonic()
            if old_searcher is not None:
                old_searcher.close()
            if old_generation is not None and old_generation is not generation:
                old_generation.release()
        self.store.remove_unused(keep={generation.name})
        self._tell(self.installed_listeners)

    # -- the writer --------------------------------------------------------------------------------

    def start_worker(self) -> None:
        if self._worker is not None:
            return
        self._stop.clear()
        self._worker = threading.Thread(target=self._run_worker, name="search-index-writer", daemon=True)
        self._worker.start()

    def stop_worker(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._worker is not None:
            self._worker.join(timeout=10)
            self._worker = None

    def _run_worker(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(min(POLL_SECONDS, self._follow_up_due_in()))
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                self._drain_index()
                self._prune_outbox()
                if self._follow_up_due_in() == 0:
                    # Gives way (between steps and lists) as soon as a commit in this process wakes the writer.
                    self._follow_up(stop=self._wake.is_set, wait=False)
            except Exception as exc:
                if isinstance(exc, DBAPIError) and exc.connection_invalidated:
                    # The server closed a pooled connection (a restart); the pool has discarded it: go on at once.
                    log.warning("zoekindex bijwerken: databaseverbinding was verbroken; opnieuw met een nieuwe")
                    self._wake.set()
                    continue
                log.exception("zoekindex bijwerken mislukt; volgende poging straks")
                self._stop.wait(1.0)

    def _database(self) -> str | None:
        bind = getattr(self.session_factory, "kw", {}).get("bind") if self.session_factory else None
        return bind.url.render_as_string(hide_password=True) if bind is not None else None

    def _on_commit(self, changes: dict[tuple[str, str], bool], database: str | None = None) -> None:
        """A transaction committed content changes: hide what was unpublished, wake the writer."""
        own = self._database()
        if database is not None and own is not None and database != own:
            return  # another application's database (several apps in one process, as in tests)
        with self._hidden_lock:
            for (doc_type, slug), visible in changes.items():
                key = f"{doc_type}:{slug}"
                if visible:
                    self.hidden.discard(key)
                else:
                    self.hidden.add(key)
            # What readers see changed without a new searcher: caches keyed on state() must notice.
            self.hidden_version += 1
            self.changed_wall = time.time()
        self._wake.set()

    def drain(self, follow_up: bool = True) -> int:
        """Apply every change committed since the index's position, then (with ``follow_up``) do the work they
        leave: merge small segments, bring the related lists up to date. Returns the number of items changed."""
        count = self._drain_index()
        if follow_up and self._follow_up_since is not None:
            self._follow_up()
        return count

    def _drain_index(self) -> int:
        if self.session_factory is None or self.generation is None:
            return 0
        with self._write_lock:
            self._follow_swap()
            generation = self.generation
            try:
                position = generation.read_position()
                problem = None
                if generation.position_age() > OUTBOX_RETENTION.total_seconds():
                    problem = "de zoekindex liep te lang achter op de database"
                else:
                    return self._apply_changes(generation, position)
            except PositionError as exc:
                problem = str(exc)
        # Outside the write lock: rebuild() takes it itself.
        log.warning("%s; de zoekindex wordt opnieuw opgebouwd", problem)
        self.rebuild()
        return 0

    def _apply_changes(self, generation: Generation, position: Position) -> int:
        with self.session_factory() as session:
            cursor.begin_consistent_read(session)
            keys, new_position = cursor.changes_since(session, position)
            # Read in the same snapshot as the position: the documents are exactly as of new_position.
            changes = {key: docs_mod.documents_for(session, *key) for key in sorted(keys)}
            session.rollback()
        if not changes:
            # Nothing new: the old position stays valid (no outbox row lies between it and now). Not writing the
            # newer one keeps an idle process from creating files; a utime now and then records it is current.
            if time.monotonic() - self._confirmed > CONFIRM_SECONDS:
                generation.confirm_position()
                self._confirmed = time.monotonic()
            return 0
        count = self.store.apply(generation, changes, new_position)
        applied = {f"{t}:{s}" for t, s in changes}
        # Owed before readers can see the change (``settled`` must not answer True in between). The lists follow
        # the new searcher: a reader in between resolves the previous lists against it (an example that left the
        # index is skipped, never shown).
        self._related_pending.update(slug for doc_type, slug in changes if doc_type == "voorbeeld")
        self._last_applied = time.monotonic()
        if self._follow_up_since is None:
            self._follow_up_since = self._last_applied
        with self._lock:
            # The new searcher first, then un-hide: in the other order a reader between the two steps would get
            # the old searcher (item still in it) without the hiding (item shown again).
            self._refresh(force=True)
            with self._hidden_lock:
                self.hidden.difference_update(applied)
        self._tell(self.applied_listeners, applied)
        return count

    @property
    def settled(self) -> bool:
        """No follow-up work (merge, related lists) waits for changes this process applied."""
        return self._follow_up_since is None

    def _follow_up_due_in(self) -> float:
        """Seconds until the worker should do the follow-up work (0: now; POLL_SECONDS when none waits)."""
        if self._follow_up_since is None:
            return POLL_SECONDS
        now = time.monotonic()
        return max(0.0, min(self._last_applied + FOLLOW_UP_QUIET_SECONDS - now,
                            self._follow_up_since + FOLLOW_UP_MAX_DELAY_SECONDS - now))

    def _follow_up(self, stop: Callable[[], bool] | None = None, wait: bool = True) -> None:
        """The work applied changes leave: merge small segments, then bring the related lists up to date with the
        examples this process changed (and any an earlier update left outdated). ``stop`` is asked between the
        steps and between lists (``IndexStore.update_related``); without ``wait`` nothing waits for another
        process's lock: the work is tried again after a quiet spell."""
        with self._write_lock:
            generation = self.generation
            if generation is None:
                return
            try:
                merged = self.store.merge_small(generation, timeout=30.0 if wait else 0.0)
            except LockError:  # another process is writing
                self._follow_up_later()
                return
            if merged:
                with self._lock:
                    self._refresh(force=True)
            if stop is not None and stop():
                return
            pending = set(self._related_pending)
            try:
                done = self.store.update_related(generation, pending, stop=stop, wait=wait)
            except Exception:  # the index is current; the lists of these examples are computed on view meanwhile
                log.exception("verwante voorbeelden na bijwerken niet berekend")
                done = True
            if done is None:  # another process is updating them
                self._follow_up_later()
                return
            self._related_pending -= pending
            self._related_unfinished = not done
            if not (self._related_pending or self._related_unfinished):
                self._follow_up_since = None
        self._note_related(generation)

    def _follow_up_later(self) -> None:
        """Try the follow-up work again after a quiet spell (another process holds a lock it needs)."""
        self._last_applied = self._follow_up_since = time.monotonic()

    def _note_related(self, generation: Generation) -> None:
        """The generation's related lists may have been replaced: pages built on them must notice."""
        identity = related_store.file_identity(generation.path)
        if identity != self._related_seen:
            self._related_seen = identity
            self.related_version += 1
            self.changed_wall = time.time()

    @staticmethod
    def _tell(listeners, *args) -> None:
        for listener in listeners:
            try:
                listener(*args)
            except Exception:  # a listener's failure must never stop the writer
                log.exception("zoekindex: nazorg na bijwerken mislukt")

    def _prune_outbox(self) -> None:
        if time.monotonic() - self._pruned < PRUNE_SECONDS or self.session_factory is None:
            return
        self._pruned = time.monotonic()
        with self.session_factory() as session:
            try:
                removed = cursor.prune(session, utcnow() - OUTBOX_RETENTION)
                session.commit()
            except Exception:
                session.rollback()
                log.warning("oude regels uit search_outbox verwijderen mislukt", exc_info=True)
                return
        if removed:
            log.info("%d oude regels uit search_outbox verwijderd", removed)

    def _follow_swap(self) -> None:
        """Another process (portal-reindex) swapped in a new generation: switch to it."""
        name = self.store.current_name()
        if name and self.generation is not None and name != self.generation.name:
            try:
                self._install(self.store.open())
            except IndexUnavailable:
                log.exception("nieuwe zoekindex %s niet te openen; de oude blijft in gebruik", name)

    # -- readers -----------------------------------------------------------------------------------

    def _refresh(self, force: bool = False) -> None:
        """Keep the shared searcher current (called with the lock held); cheap when nothing changed."""
        now = time.monotonic()
        if not force and now - self._checked < POLL_SECONDS:
            return
        self._checked = now
        if self.generation is None:
            return
        self._note_related(self.generation)  # replaced by another process's writer
        if self.store.current_name() not in (None, self.generation.name):
            if self._write_lock.acquire(blocking=False):
                try:
                    self._follow_swap()
                finally:
                    self._write_lock.release()
            return
        if not self._searcher.up_to_date():
            # A new searcher rather than Searcher.refresh(): refresh() reuses segment readers by segment id
            # and so misses deletions made in an existing segment (an unpublished item would come back).
            old, self._searcher = self._searcher, self.generation.index.searcher()
            self.version += 1
            self.changed_wall = time.time()
            old.close()
            # Items already gone from the index (removed here or by another process) need no hiding.
            with self._hidden_lock:
                self.hidden = {k for k in self.hidden if self._searcher.document_number(key=k) is not None}
            # The old searcher is closed and readers hold this lock: no one can open merged-away files now.
            self.store.clean(self.generation)

    @contextmanager
    def reading(self) -> Iterator[IndexView]:
        """The current index for one read; the searcher stays valid (and its files present) until the block ends."""
        with self._lock:
            self._refresh()
            with self._hidden_lock:
                hidden = frozenset(self.hidden)
            yield IndexView(self._searcher, self.generation, hidden, self.version)

    @property
    def ready(self) -> bool:
        return self._searcher is not None

    def state(self) -> tuple:
        """Changes whenever a reader could get a different answer (new searcher, generation, hidden set or related
        lists)."""
        generation = self.generation
        return (generation.name if generation is not None else None, self.version, self.hidden_version,
                self.related_version)

    def doc_count(self) -> int:
        with self.reading() as view:
            return view.searcher.doc_count() if view.ready else 0

    def close(self) -> None:
        self.stop_worker()
        with self._lock:
            if self._searcher is not None:
                self._searcher.close()
                self._searcher = None
            if self.generation is not None:
                self.generation.release()
