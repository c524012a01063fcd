"""The search service, one per application: index keeping and querying behind one small facade.

``portal.search.keeper`` keeps the index (start-up checks, rebuild, the outbox writer, generation swaps);
``portal.search.searching`` answers queries over what the keeper hands out. Views use neither directly but
``request.search`` (``portal.search.api``); scripts, tests and benchmarks use this facade.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import sessionmaker

from portal.search.cursor import Position
from portal.search.index import Generation, IndexStore
from portal.search.keeper import IndexKeeper
from portal.search.searching import FACETS, PAGE_SIZE, SORTS, Filters, Outcome, QueryEngine, snippets
from portal.search.thesaurus import Thesaurus

__all__ = ["FACETS", "PAGE_SIZE", "SORTS", "Filters", "Outcome", "SearchService", "snippets"]


class SearchService:
    def __init__(self, index_dir: str, session_factory: sessionmaker | None = None, thesaurus: Thesaurus | None = None):
        self.keeper = IndexKeeper(index_dir, session_factory)
        self.queries = QueryEngine(self.keeper, session_factory, thesaurus)

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
