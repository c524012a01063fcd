"""Dutch-aware full-text search. The only package that imports Whoosh.

``config.include("portal.search")`` reads:

- ``search.index_dir``  where the index generations live (default ``%(here)s/var/index``);
- ``search.writer``     ``true`` (default): this process runs the single index writer thread that drains the
  outbox after commits (and polls for other processes' changes); ``false``: changes wait for another process;
- ``search.startup``    ``open`` (default): open the index, rebuilding it first when it is missing or corrupt;
  ``rebuild``: always rebuild at start-up.
- ``search.related_worker`` ``true`` (default): a background thread keeps the related-example lists current after
  changes, so example pages only read them; ``search.warmup`` ``true`` (default): one search at start-up fills the
  searcher's caches (facet bitsets, labels) before the first request, and the worker computes the related lists of
  every example after start-up, a rebuild or a swap (otherwise a list is computed on its first view); before those
  lists it prepares the most frequent words and the thesaurus expansions in the background (bounded to 1.5 million
  postings and 5 s of CPU; see ``QueryEngine.warm_terms``), so the first use of a common word is not slow.

and adds ``request.search``, a :class:`portal.search.api.RequestSearch`.
"""

from __future__ import annotations

import os
import threading

from pyramid.settings import asbool

from portal.search.api import RequestSearch
from portal.search.service import Filters, SearchService

__all__ = ["Filters", "RequestSearch", "SearchService", "get_service", "includeme"]


def index_dir_from(settings: dict) -> str:
    here = settings.get("here") or os.getcwd()
    raw = settings.get("search.index_dir") or "%(here)s/var/index"
    return raw.replace("%(here)s", str(here))


def get_service(registry) -> SearchService:
    return registry["search_service"]


def includeme(config) -> None:
    settings = config.get_settings()
    service = SearchService(index_dir_from(settings), config.registry.get("dbsession_factory"))
    if settings.get("search.startup", "open") == "rebuild":
        service.rebuild(empty_on_error=True)
    else:
        service.start()
    if asbool(settings.get("search.writer", True)):
        service.start_worker()
    warm_up = asbool(settings.get("search.warmup", True))
    if warm_up:
        service.queries.warm_up()  # before the first request: it would otherwise pay for the searcher's caches
    if asbool(settings.get("search.related_worker", True)):
        # Its first step, in the background, also prepares the most frequent words (bounded: warm_terms).
        service.start_related_worker(warm_up=warm_up)
    elif warm_up:
        threading.Thread(target=service.warm_terms, name="search-warm-terms", daemon=True).start()
    config.registry["search_service"] = service

    previous_close = getattr(config.registry, "portal_close", None)

    def close() -> None:
        service.close()
        if callable(previous_close):
            previous_close()

    config.registry.portal_close = close
    config.add_request_method(lambda request: RequestSearch(service, request), "search", reify=True)
