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
from portal.search.documents import TYPE_LABELS
from portal.search.index import Generation, IndexStore
from portal.search.keeper import IndexKeeper
from portal.search.searching import FACETS, PAGE_SIZE, SORTS, Filters, Outcome, QueryEngine
from portal.search.snippets import snippets
from portal.search.thesaurus import Thesaurus

log = logging.getLogger(__name__)

#: How often the background warm-up looks again whether the process has become idle.
IDLE_POLL_SECONDS = 0.02
#: Warm-up work items: a new generation (start-up, rebuild, swap), or changes the writer applied.
INSTALLED, APPLIED = "installed", "applied"

__all__ = ["FACETS", "PAGE_SIZE", "SORTS", "TYPE_LABELS", "Filters", "Outcome", "SearchService", "snippets"]


class SearchService:
    def __init__(self, index_dir: str, session_factory: sessionmaker | None = None, thesaurus: Thesaurus | None = None):
        self.keeper = IndexKeeper(index_dir, session_factory)
        self.queries = QueryEngine(self.keeper, session_factory, thesaurus)
        self._warm_work: queue.Queue[str | None] = queue.Queue()
        self._warm_worker: threading.Thread | None = None
        self._on_words_ready: Callable[[], object] | None = None
        self._warm_stopping = threading.Event()
        #: Whether the process serves no request now (set by the application; see portal.activity). Preparing the
        #: frequent words (seconds of CPU) waits for it, so it never competes with visitors for the GIL.
        self.idle: Callable[[], bool] = lambda: True
        #: Result item paths by (script name, route, slug), kept by RequestSearch.url_for for this application.
        self.item_paths: dict[tuple[str, str, str], str] = {}

    # -- background warm-up ---------------------------------------------------------------------------

    def start_warm_up_worker(self, on_words_ready: Callable[[], object] | None = None) -> None:
        """Keep the searcher's caches warm in a background thread: after each change the writer applied (a new
        searcher), and, in idle time, the most frequent words after start-up, a rebuild or a swap.
        ``on_words_ready`` is called in that thread each time the frequent words have been prepared."""
        if self._warm_worker is not None:
            return
        self._on_words_ready = on_words_ready
        self._warm_stopping.clear()  # a worker started again after stop_warm_up_worker
        self.keeper.applied_listeners.append(self._queue_applied)
        self.keeper.installed_listeners.append(self._queue_installed)
        self._queue_installed()
        self._warm_worker = threading.Thread(target=self._run_warm_up, name="search-warm-up", daemon=True)
        self._warm_worker.start()

    def _queue_applied(self, _keys: set[str]) -> None:
        # Called in the index writer's thread: only hand over, the writer must not wait for readers.
        self._warm_work.put(APPLIED)

    def _queue_installed(self) -> None:
        self._warm_work.put(INSTALLED)

    def _run_warm_up(self) -> None:
        while True:
            work = self._warm_work.get()
            try:
                if work is None:
                    return
                if work == INSTALLED:
                    if not self._wait_until_idle():
                        return
                    self.queries.warm_up()
                    self.warm_terms()
                    if self._on_words_ready is not None:
                        self._on_words_ready()
                else:
                    self.queries.warm_up()
            except Exception:  # an index swapped or closed under us: the next search fills the caches instead
                log.debug("zoekindex: voorbereiden na %s mislukt", work, exc_info=True)
            finally:
                self._warm_work.task_done()

    def _wait_until_idle(self) -> bool:
        """Wait until no request is being served; False when the service is closing meanwhile."""
        while not self.idle():
            if self._warm_stopping.wait(IDLE_POLL_SECONDS):
                return False
        return not self._warm_stopping.is_set()

    @property
    def preparing(self) -> bool:
        """Whether warm-up work is still queued or running."""
        return self._warm_work.unfinished_tasks > 0

    def stop_warm_up_worker(self) -> None:
        if self._warm_worker is not None:
            self._warm_stopping.set()
            self._warm_work.put(None)
            self._warm_worker.join(timeout=10)
            self._warm_worker = None

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

    def rebuild_from(self, documents, position: Position | None = None, related_lists: bool = False) -> Generation:
        return self.keeper.rebuild_from(documents, position, related_lists)

    def start_worker(self) -> None:
        self.keeper.start_worker()

    def stop_worker(self) -> None:
        self.keeper.stop_worker()

    def drain(self, follow_up: bool = True) -> int:
        return self.keeper.drain(follow_up)

    def doc_count(self) -> int:
        return self.keeper.doc_count()

    def state(self) -> tuple:
        return self.keeper.state()

    def close(self) -> None:
        self.stop_warm_up_worker()
        self.keeper.close()

    # -- querying -----------------------------------------------------------------------------------

    def search(self, q: str | None, filters: Filters | None = None, page: int = 1, sort: str = "relevantie",
               page_size: int = PAGE_SIZE, facets: bool = True, labels: dict | None = None) -> Outcome:
        return self.queries.search(q, filters, page=page, sort=sort, page_size=page_size, facets=facets,
                                   labels=labels)

    def suggest(self, q: str | None, limit: int = 8) -> list[dict]:
        return self.queries.suggest(q, limit=limit)

    def related(self, slug: str, limit: int = 5) -> list[dict]:
        return self.queries.related(slug, limit=limit)

    def labels(self) -> dict[str, dict[str, str]]:
        return self.queries.labels()
