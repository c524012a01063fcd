"""GET /gezondheid: can this process serve? For load balancers and monitoring (anonymous, never cached).

200 ``{"database": "ok", "index": "ok", "documents": N}`` when the database answers and the search index is open;
otherwise 503 with the same keys, the failing part saying in a few Dutch words what is wrong. The details (which
may name hosts and databases) go to the log, not to the anonymous caller.
"""

from __future__ import annotations

import logging

from pyramid.view import view_config
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from portal.search import get_service
from portal.security import Permissions

log = logging.getLogger(__name__)

OK = "ok"


def _select_one(engine) -> None:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1")).scalar_one()


def database_status(engine) -> str:
    """``SELECT 1`` on a short connection of its own (never the request's transaction). A pooled connection that the
    server closed meanwhile does not mean the database is down: the pool discards it, and a second try gets a new
    one (the pool does not ping before use; see portal.models)."""
    try:
        try:
            _select_one(engine)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            _select_one(engine)
    except Exception as exc:
        log.warning("gezondheid: database niet bereikbaar: %s", exc)
        return f"niet bereikbaar: {type(exc).__name__}"
    return OK


def index_status(registry) -> tuple[str, int]:
    """The search index's state and its number of documents (0 when it cannot be read)."""
    try:
        service = get_service(registry)
    except KeyError:
        return "niet ingesteld", 0
    if not service.ready:
        return "niet geopend", 0
    try:
        return OK, int(service.doc_count())
    except Exception as exc:
        log.warning("gezondheid: zoekindex niet leesbaar: %s", exc)
        return f"niet leesbaar: {type(exc).__name__}", 0


@view_config(route_name="gezondheid", request_method=("GET", "HEAD"), renderer="json", permission=Permissions.VIEW)
def health(request):
    database = database_status(request.registry["db_engine"])
    index, documents = index_status(request.registry)
    response = request.response
    response.status_int = 200 if database == OK and index == OK else 503
    response.headers["Cache-Control"] = "no-store"
    return {"database": database, "index": index, "documents": documents}
