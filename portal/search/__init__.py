"""Dutch-aware full-text search. The only package that imports Whoosh.

``config.include("portal.search")`` reads:

- ``search.index_dir``  where the index generations live (default ``%(here)s/var/index``);
- ``search.writer``     ``true`` (default): this process runs the single index writer thread that drains the
  outbox after commits (and polls for other processes' changes); ``false``: changes wait for another process;
- ``search.startup``    ``open`` (default): open the index, rebuilding it first when it is missing or corrupt;
  ``rebuild``: always rebuild at start-up.
- ``search.warmup``    ``true`` (default): one search at start-up fills the searcher's caches (facet bitsets,
  labels) before the first request; a background thread fills them again after each change, and after start-up, a
  rebuild or a swap prepares the most frequent words and the thesaurus expansions when no request is being served
  (bounded to 1.5 million postings and 5 s of CPU; see ``QueryEngine.warm_terms``), so the first use of a common
  word is not slow.

Related examples need no setting and no background work in a web process: they are computed by whoever writes the
index (a rebuild for every example, the index writer for what a change touches) and stored with the index
generation, which every process reads (``portal.search.related``).

and adds ``request.search``, a :class:`portal.search.api.RequestSearch`.
"""

from __future__ import annotations

import os

from pyramid.settings import asbool

from portal import gcfreeze
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
        # In the background, when idle: the most frequent words (warm_terms); they live as long as the process.
        words_ready = (lambda: gcfreeze.freeze("zoekwoorden")) if asbool(settings.get("portal.gc_freeze")) else None
        service.start_warm_up_worker(on_words_ready=words_ready)
    config.registry["search_service"] = service

    previous_close = getattr(config.registry, "portal_close", None)

    def close() -> None:
        service.close()
        if callable(previous_close):
            previous_close()

    config.registry.portal_close = close
    config.add_request_method(lambda request: RequestSearch(service, request), "search", reify=True)
