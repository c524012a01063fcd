"""The search service, one per application: index keeping and querying behind one small facade.

``portal.search.keeper`` keeps the index (start-up checks, rebuild, the outbox writer, generation swaps);
``portal.search.searching`` answers queries over what the keeper hands out. Views use neither directly but
``request.search`` (``portal.search.api``); scripts, tests and benchmarks use this facade.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

from sqlalchemy.orm import sessionmaker

from portal.search.cursor import Position
from portal.search.index import Generation, IndexStore
from portal.search.keeper import IndexKeeper
from portal.search.searching import FACETS, PAGE_SIZE, SORTS, Filters, Outcome, QueryEngine
from portal.search.snippets import snippets
from portal.search.thesaurus import Thesaurus

log = logging.getLogger(__name__)

#: Related-list work item: every example of the current generation.
ALL_EXAMPLES = "*"
#: How often the background preparation looks again whether the process has become idle.
IDLE_POLL_SECONDS = 0.02


class Bulk(str):
    """One example's related list as part of a whole-index pass (start-up, rebuild, swap): done in idle time only."""

__all__ = ["FACETS", "PAGE_SIZE", "SORTS", "Filters", "Outcome", "SearchService", "snippets"]


class SearchService:
    def __init__(self, index_dir: str, session_factory: sessionmaker | None = None, thesaurus: Thesaurus | None = None):
        self.keeper = IndexKeeper(index_dir, session_factory)
        self.queries = QueryEngine(self.keeper, session_factory, thesaurus)
        #: keys the writer applied, (slug, whether the examples its new list names are recomputed too), or None.
        self._related_work: queue.Queue[str | Bulk | frozenset[str] | tuple[str, bool] | None] = queue.Queue()
        self._related_worker: threading.Thread | None = None
        self._related_stopping = threading.Event()
        #: Whether the process serves no request now (set by the application; see portal.activity). A whole-index
        #: pass (minutes of CPU at 10,000 examples) waits for it, so it never competes with visitors for the GIL;
        #: pages compute a missing list on view meanwhile.
        self.idle: Callable[[], bool] = lambda: True

    # -- related lists (portal.search.related) --------------------------------------------------------

    def start_related_worker(self, warm_up: bool = True) -> None:
        """Keep related-example lists current in a background thread: after each change the writer applied, and
        (``warm_up``) for every example after start-up, a rebuild or a swap. Page views then only read them."""
        if self._related_worker is not None:
            return
        self._related_stopping.clear()  # a worker started again after stop_related_worker
        self.keeper.applied_listeners.append(self._queue_changed)
        if warm_up:
            self.keeper.installed_listeners.append(self._queue_all)
            self._queue_all()
        self._related_worker = threading.Thread(target=self._run_related, name="search-related", daemon=True)
        self._related_worker.start()

    def _queue_changed(self, keys: set[str]) -> None:
        # Called in the index writer's thread: only hand over; reading the index here would make the writer wait
        # for readers, and the next change would wait for it.
        self._related_work.put(frozenset(keys))

    def _queue_all(self) -> None:
        self._related_work.put(ALL_EXAMPLES)

    def _run_related(self) -> None:
        while True:
            work = self._related_work.get()
            try:
                if work is None:
                    return
                if (work is ALL_EXAMPLES or isinstance(work, Bulk)) and not self._wait_until_idle():
                    return
                for follow_up in self._related_step(work):
                    self._related_work.put(follow_up)
            except Exception:  # an index swapped or closed under us: such lists are computed on view instead
                log.debug("related lists for %r not computed", work, exc_info=True)
            finally:
                self._related_work.task_done()

    def _wait_until_idle(self) -> bool:
        """Wait until no request is being served; False when the service is closing meanwhile."""
        while not self.idle():
            if self._related_stopping.wait(IDLE_POLL_SECONDS):
                return False
        return not self._related_stopping.is_set()

    @property
    def preparing(self) -> bool:
        """Whether related lists or warm-up work are still queued or running."""
        return self._related_work.unfinished_tasks > 0

    def _related_step(self, work) -> list[tuple[str, bool]]:
        """Do one piece of related-list work; returns the pieces it leads to."""
        if work is ALL_EXAMPLES:  # start-up, rebuild or swap: a new index whose caches are all empty
            self.queries.warm_up()
            self.warm_terms()
            return [Bulk(slug) for slug in self.queries.example_slugs()]
        if isinstance(work, frozenset):  # keys the writer applied: a new searcher, whose caches start empty
            self.queries.warm_up()
            changed = {key.split(":", 1)[1] for key in work if key.startswith("voorbeeld:")}
            # A changed example may now resemble others that did not list it yet: recompute those it lists too.
            return [(slug, slug in changed) for slug in self.queries.related_to_refresh(set(work))]
        slug, propagate = (work, False) if isinstance(work, Bulk) else work
        listed = self.queries.keep_related(slug)
        return [(other, False) for other in listed] if propagate else []

    def stop_related_worker(self) -> None:
        if self._related_worker is not None:
            self._related_stopping.set()
            self._related_work.put(None)
            self._related_worker.join(timeout=10)
            self._related_worker = None

    def warm_terms(self) -> tuple[int, int]:
        """Prepare the most frequent words (QueryEngine.warm_terms); logs what it took."""
        started, cpu = time.perf_counter(), time.thread_time()
        words, postings = self.queries.warm_terms()
        log.info("zoekindex: %d veelvoorkomende woorden voorbereid (%d postings) in %.1f s (%.1f s CPU)", words,
                 postings, time.perf_counter() - started, time.thread_time() - cpu)
        return words, postings

    # -- keeping ------------------------------------------------------------------------------------

    @property
    def store(self) -> IndexStore:
        return self.keeper.store

    @property
    def generation(self) -> Generation | None:
        return self.keeper.generation

    @property
    def ready(self) -> bool:
        return self.keeper.ready

    def start(self, rebuild_if_needed: bool = True) -> None:
        self.keeper.start(rebuild_if_needed)

    def rebuild(self, on_progress: Callable[[int], None] | None = None, empty_on_error: bool = False) -> Generation:
        return self.keeper.rebuild(on_progress, empty_on_error)

    def rebuild_from(self, documents, position: Position | None = None) -> Generation:
        return self.keeper.rebuild_from(documents, position)

    def start_worker(self) -> None:
        self.keeper.start_worker()

    def stop_worker(self) -> None:
        self.keeper.stop_worker()

    def drain(self) -> int:
        return self.keeper.drain()

    def doc_count(self) -> int:
        return self.keeper.doc_count()

    def state(self) -> tuple:
        return self.keeper.state()

    def close(self) -> None:
        self.stop_related_worker()
        self.keeper.close()

    # -- querying -----------------------------------------------------------------------------------

    def search(self, q: str | None, filters: Filters | None = None, page: int = 1, sort: str = "relevantie",
               page_size: int = PAGE_SIZE, facets: bool = True) -> Outcome:
        return self.queries.search(q, filters, page=page, sort=sort, page_size=page_size, facets=facets)

    def suggest(self, q: str | None, limit: int = 8) -> list[dict]:
        return self.queries.suggest(q, limit=limit)

    def related(self, slug: str, limit: int = 5) -> list[dict]:
        return self.queries.related(slug, limit=limit)

    def labels(self) -> dict[str, dict[str, str]]:
        return self.queries.labels()
