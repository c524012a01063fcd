"""GET /gezondheid: 200 with the exact shape when all is well, 503 naming the failing part (anonymous, never cached)."""

from __future__ import annotations

import shutil

from conftest import DB_KIND, Site
from sqlalchemy import make_url
from sqlalchemy.pool import NullPool

from portal.search import get_service

KEYS = ["database", "index", "documents"]


def test_healthy_site_answers_200_with_the_document_count(testapp, shared_site):
    response = testapp.get("/gezondheid", status=200)
    assert response.content_type == "application/json"
    assert list(response.json) == KEYS
    documents = get_service(shared_site.registry).doc_count()
    assert documents > 0
    assert response.json == {"database": "ok", "index": "ok", "documents": documents}
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers  # anonymous, stateless
    assert testapp.head("/gezondheid", status=200).headers["Cache-Control"] == "no-store"


def test_unreachable_database_answers_503_naming_the_database(site_factory, database_factory, tmp_path):
    if DB_KIND == "postgresql":
        # A running site whose database is dropped underneath it (its pooled connections are terminated too).
        site = site_factory()
        app = site.testapp()
        documents = app.get("/gezondheid", status=200).json["documents"]
        database_factory.drop(site.db_url)
    else:
        # A running site whose database directory disappears (a volume unmounted, say). Without a pool every check
        # opens the file anew; SQLite creates a missing file, but not a missing directory.
        folder = tmp_path / "database"
        folder.mkdir()
        path = folder / "portal.sqlite"
        shutil.move(make_url(database_factory.copy()).database, path)
        site = Site(f"sqlite:///{path}", tmp_path / "site", database_factory.index_template,
                    **{"sqlalchemy.poolclass": NullPool})
        app = site.testapp()
        documents = app.get("/gezondheid", status=200).json["documents"]
        shutil.rmtree(folder)
    try:
        for _ in range(2):  # PostgreSQL: first a terminated pooled connection, then no connection at all
            response = app.get("/gezondheid", status=503)
            body = response.json
            assert list(body) == KEYS
            assert body["database"].startswith("niet bereikbaar: ")
            assert len(body["database"]) < 80 and "Traceback" not in body["database"]
            assert body["index"] == "ok" and body["documents"] == documents > 0
            assert response.headers["Cache-Control"] == "no-store"
    finally:
        if DB_KIND != "postgresql":
            site.close()


def test_closed_index_answers_503_naming_the_index(site):
    app = site.testapp()
    assert app.get("/gezondheid", status=200).json["index"] == "ok"
    get_service(site.registry).close()
    response = app.get("/gezondheid", status=503)
    assert response.json == {"database": "ok", "index": "niet geopend", "documents": 0}
    assert response.headers["Cache-Control"] == "no-store"


def test_only_get_and_head(testapp):
    # Other methods do not match the route's view (404), and never reach a health check.
    testapp.post("/gezondheid", status=404)
