"""Error pages never fail: not after a failed database statement, not when their own template breaks, not when the
database fails before any view runs. Always Dutch, always the right status, never the server's English page."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from workflow.helpers import add_user, login

ENGLISH = "Internal Server Error"


def _rename_table(site, old: str, new: str) -> None:
    """Break the database for real: the table the next queries need is gone."""
    engine = create_engine(site.db_url, future=True)
    try:
        with engine.begin() as conn:
            conn.execute(text(f"ALTER TABLE {old} RENAME TO {new}"))
    finally:
        engine.dispose()


def _editor(site):
    add_user(site, "r@example.nl", "redacteur")
    app = site.testapp()
    login(app, "r@example.nl")
    return app


def test_failing_query_gives_the_dutch_error_page_with_the_users_menu(site):
    """The statement failed (on PostgreSQL the transaction is aborted too): the page is built without queries."""
    app = _editor(site)
    _rename_table(site, "practice_examples", "weggehaald")
    page = app.get("/voorbeelden", status=500)
    assert "Er ging iets mis" in page and ENGLISH not in page
    assert 'class="site-header"' in page  # the full layout, not the static last resort
    assert "Uitloggen" in page and "Redactie" in page  # the user's menu, from what was already loaded


def test_broken_error_template_falls_back_to_a_static_dutch_page(site_factory):
    site = site_factory(**{"portal.error_template": "portal:templates/bestaat-niet.jinja2"})
    app = site.testapp()
    missing = app.get("/deze-pagina-bestaat-niet", status=404)
    assert "Pagina niet gevonden" in missing and 'lang="nl"' in missing and "site-header" not in missing
    _rename_table(site, "practice_examples", "weggehaald")
    broken = app.get("/voorbeelden", status=500)
    assert broken.content_type == "text/html"
    assert "Er ging iets mis" in broken and "Foutcode 500" in broken and 'lang="nl"' in broken
    assert ENGLISH not in broken and "Traceback" not in broken
    api = app.get("/api/bestaat-niet", status=404)
    assert api.json["error"]["status"] == 404


def test_database_failing_before_any_view_gives_a_dutch_500(site):
    """pyramid_tm looks up the logged-in user before the exception views can help: a failing database there used to
    reach the server as an unhandled exception (its English 'Internal Server Error')."""
    app = _editor(site)
    _rename_table(site, "users", "weggehaald")
    page = app.get("/", status=500)
    assert "Er ging iets mis" in page and 'lang="nl"' in page and ENGLISH not in page
    assert page.headers["Cache-Control"] == "private, no-store"
    assert "nosniff" in page.headers["X-Content-Type-Options"]
