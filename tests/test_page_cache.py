"""The page cache for anonymous readers (portal.pagecache): hits, validators, and never a stale or foreign page.

Every change goes through the database the way the app and the loader make it (ORM sessions committed by the
transaction manager), on the database of this run (SQLite or PostgreSQL).
"""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import Site, wait_for
from sqlalchemy import select, text
from workflow.helpers import add_user, login

from portal.content.models import PracticeExample, Status, Theme
from portal.pagecache import CACHE_HEADER

SLUG = "koesterklas-nunspeet"


def _set_title(site, slug: str, title: str) -> None:
    with site.session() as s:
        s.scalars(select(PracticeExample).where(PracticeExample.slug == slug)).one().title = title


def _set_status(site, slug: str, status: str) -> None:
    with site.session() as s:
        s.scalars(select(PracticeExample).where(PracticeExample.slug == slug)).one().status = status


def test_second_anonymous_request_is_a_hit_with_validators(site):
    app = site.testapp()
    first = app.get("/", status=200)
    second = app.get("/", status=200)
    assert first.headers[CACHE_HEADER] == "miss"
    assert second.headers[CACHE_HEADER] == "hit"
    assert first.body == second.body
    assert second.headers["ETag"] == first.headers["ETag"]
    assert second.headers["Cache-Control"] == "public, max-age=0, must-revalidate"
    assert second.headers["Vary"] == "Cookie"
    assert second.headers["Content-Type"].startswith("text/html")
    # The security headers are added to cached answers too.
    assert "Content-Security-Policy" in second.headers
    assert dt.datetime.strptime(second.headers["Last-Modified"], "%a, %d %b %Y %H:%M:%S GMT")


def test_if_none_match_gives_304_until_the_content_changes(site):
    app = site.testapp()
    page = app.get(f"/voorbeelden/{SLUG}", status=200)
    etag = page.headers["ETag"]
    revalidated = app.get(f"/voorbeelden/{SLUG}", headers={"If-None-Match": etag}, status=304)
    assert revalidated.body == b""
    assert revalidated.headers["ETag"] == etag
    assert app.get(f"/voorbeelden/{SLUG}", headers={"If-None-Match": '"iets-anders"'}, status=200).body == page.body
    assert app.get(f"/voorbeelden/{SLUG}", headers={"If-None-Match": f"W/{etag}"}, status=304)

    _set_title(site, SLUG, "Koesterklas met een nieuwe titel")
    changed = app.get(f"/voorbeelden/{SLUG}", headers={"If-None-Match": etag}, status=200)
    assert "Koesterklas met een nieuwe titel" in changed.text
    assert changed.headers["ETag"] != etag


def test_if_modified_since(site):
    app = site.testapp()
    page = app.get("/voorbeelden", status=200)
    last_modified = page.headers["Last-Modified"]
    app.get("/voorbeelden", headers={"If-Modified-Since": last_modified}, status=304)
    app.get("/voorbeelden", headers={"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}, status=200)
    # Nonsense dates are ignored, not an error.
    app.get("/voorbeelden", headers={"If-Modified-Since": "gisteren"}, status=200)
    app.get("/voorbeelden", headers={"If-Modified-Since": "\x00" * 3}, status=(200, 400))


@pytest.mark.parametrize("path", ["/", "/voorbeelden", f"/voorbeelden/{SLUG}", "/api/voorbeelden",
                                  f"/api/voorbeelden/{SLUG}", "/feeds/voorbeelden.xml", "/sitemap.xml"])
def test_edit_is_visible_at_once_on_cached_pages(site, path):
    app = site.testapp()
    app.get(path, status=200)
    assert app.get(path, status=200).headers[CACHE_HEADER] == "hit"
    _set_title(site, SLUG, "Een titel die net is gewijzigd")
    response = app.get(path, status=200)
    assert response.headers[CACHE_HEADER] == "miss"
    if path != "/sitemap.xml":  # the sitemap lists addresses only
        assert "Een titel die net is gewijzigd" in response.text


def test_unpublish_and_publish_are_visible_at_once(site):
    app = site.testapp()
    assert SLUG in app.get("/voorbeelden", status=200).text
    app.get(f"/voorbeelden/{SLUG}", status=200)
    _set_status(site, SLUG, Status.WITHDRAWN)
    assert f"/voorbeelden/{SLUG}\"" not in app.get("/voorbeelden", status=200).text
    app.get(f"/voorbeelden/{SLUG}", status=404)
    _set_status(site, SLUG, Status.PUBLISHED)
    app.get(f"/voorbeelden/{SLUG}", status=200)
    assert SLUG in app.get("/voorbeelden", status=200).text


def _card(html: str, slug: str) -> str:
    start = html.index(f'/voorbeelden/{slug}"')
    return html[start:html.index("</article>", start)]


def test_new_themes_of_an_example_show_on_its_card_at_once(site):
    """A card's themes are kept per content generation (cards.cards_terms): linking another theme advances it."""
    app = site.testapp()
    with site.session() as s:
        example = s.scalars(select(PracticeExample).where(PracticeExample.slug == SLUG)).one()
        other = s.scalars(select(Theme).where(Theme.id.not_in([t.id for t in example.themes]))
                          .order_by(Theme.position)).first()
        name = other.name
    assert name not in _card(app.get("/voorbeelden?per=x", status=200).text, SLUG)  # fills the kept themes
    with site.session() as s:
        example = s.scalars(select(PracticeExample).where(PracticeExample.slug == SLUG)).one()
        example.themes = [s.get(Theme, other.id)]
    for path in ("/voorbeelden?per=x", "/voorbeelden?per=y"):  # the cached page and a page not yet cached
        assert name in _card(app.get(path, status=200).text, SLUG)


def test_vocabulary_change_is_visible_at_once(site):
    app = site.testapp()
    before = app.get("/themas", status=200)
    with site.session() as s:
        theme = s.scalars(select(Theme).order_by(Theme.position)).first()
        old_name = theme.name
        theme.name = "Een hernoemd thema"
    after = app.get("/themas", status=200)
    assert old_name in before.text
    assert "Een hernoemd thema" in after.text


def test_search_pages_follow_the_index(site):
    app = site.testapp()
    assert SLUG in app.get("/zoeken?q=koesterklas", status=200).text
    _set_status(site, SLUG, Status.WITHDRAWN)
    # Hidden from results at commit, then removed by the writer: never served from the old entry.
    assert f"/voorbeelden/{SLUG}\"" not in app.get("/zoeken?q=koesterklas", status=200).text
    _set_status(site, SLUG, Status.PUBLISHED)
    assert wait_for(lambda: f"/voorbeelden/{SLUG}" in app.get("/zoeken?q=koesterklas").text, timeout=3.0) < 3.0


def test_logged_in_people_never_get_or_leave_cached_pages(site):
    add_user(site, "redacteur@example.org", "redacteur", name="Rianne Redacteur")
    anonymous = site.testapp()
    anonymous.get("/", status=200)
    assert anonymous.get("/", status=200).headers[CACHE_HEADER] == "hit"

    member = site.testapp()
    login(member, "redacteur@example.org")
    page = member.get("/", status=200)
    assert CACHE_HEADER not in page.headers
    assert page.headers["Cache-Control"] == "private, no-store"
    assert "Rianne Redacteur" in page.text or "Uitloggen" in page.text or "uitloggen" in page.text

    # What the member saw was not stored for others.
    again = site.testapp().get("/", status=200)
    assert again.headers[CACHE_HEADER] == "hit"
    assert "Rianne Redacteur" not in again.text
    assert "Uitloggen" not in again.text


def test_forms_and_writes_are_not_cached(site):
    app = site.testapp()
    login_page = app.get("/inloggen", status=200)
    assert CACHE_HEADER not in login_page.headers
    assert CACHE_HEADER not in app.get("/inloggen", status=200).headers
    app.get("/bestaat-niet", status=404)
    assert CACHE_HEADER not in app.get("/bestaat-niet", status=404).headers


def test_head_is_answered_from_the_cache_without_a_body(site):
    app = site.testapp()
    app.get("/over", status=200)
    head = app.head("/over", status=200)
    assert head.headers[CACHE_HEADER] == "hit"
    assert head.body == b""


def test_another_process_sees_a_change_made_elsewhere_within_a_second(site):
    """Two apps on one database, each with its own engine, cache and index (as two web processes)."""
    other = Site(site.db_url, site.workdir.parent / "other")
    try:
        reader = other.testapp()
        reader.get(f"/voorbeelden/{SLUG}", status=200)
        assert reader.get(f"/voorbeelden/{SLUG}", status=200).headers[CACHE_HEADER] == "hit"
        _set_title(site, SLUG, "Gewijzigd in het andere proces")
        assert wait_for(lambda: "Gewijzigd in het andere proces" in reader.get(f"/voorbeelden/{SLUG}").text) < 1.0
    finally:
        other.close()


def test_own_commits_are_seen_at_once_whatever_the_check_interval(site_factory):
    """The interval bounds how long another process's change goes unseen; this process's own commits are noticed
    by the very next request (the local signal), even with an interval of an hour. (A theme's name: pages of
    examples would also follow the search index, which would hide a missing signal.)"""
    site = site_factory(**{"portal.page_cache_check_interval": "3600"})
    app = site.testapp()
    for name in ("Een hernoemd thema", "Nog eens hernoemd"):
        app.get("/themas", status=200)
        assert app.get("/themas", status=200).headers[CACHE_HEADER] == "hit"
        with site.session() as s:
            s.scalars(select(Theme).order_by(Theme.position)).first().name = name
        now = app.get("/themas", status=200)
        assert now.headers[CACHE_HEADER] == "miss"
        assert name in now.text


def test_uncommitted_change_is_not_cached_as_current(site):
    """A writer holds its transaction open (on a connection of its own, as another process would): readers get (and
    cache) the old page; after its commit the new page is served within a second."""
    app = site.testapp()
    engine = site.registry["db_engine"]
    with engine.connect() as writer:
        transaction = writer.begin()
        writer.execute(text("UPDATE practice_examples SET title = :t WHERE slug = :s"),
                       {"t": "Nog niet vastgelegd", "s": SLUG})
        writer.execute(text("UPDATE content_generation SET value = value + 1 WHERE id = 1"))
        # Readers are not blocked (PostgreSQL MVCC, SQLite WAL) and see the last committed state.
        assert "Nog niet vastgelegd" not in app.get(f"/voorbeelden/{SLUG}", status=200).text
        assert "Nog niet vastgelegd" not in app.get(f"/voorbeelden/{SLUG}", status=200).text
        transaction.commit()
    assert wait_for(lambda: "Nog niet vastgelegd" in app.get(f"/voorbeelden/{SLUG}", status=200).text) < 1.0


def test_cache_can_be_switched_off(site_factory):
    site = site_factory(**{"portal.page_cache": "false"})
    app = site.testapp()
    app.get("/", status=200)
    assert CACHE_HEADER not in app.get("/", status=200).headers


def test_requests_with_a_body_or_credentials_never_come_from_the_cache(site):
    """The cache answers before Pyramid: anything the input checks or the security policy must see passes it by."""
    app = site.testapp()
    app.get("/over", status=200)
    assert app.get("/over", status=200).headers[CACHE_HEADER] == "hit"
    # A GET with a form body still meets the input boundary (NUL refused) instead of a cached page.
    refused = app.request("/over", method="GET", body=b"a=%00", status=400,
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert CACHE_HEADER not in refused.headers
    with_auth = app.get("/over", headers={"Authorization": "Basic eDp5"}, status=200)
    assert CACHE_HEADER not in with_auth.headers
    # Only the session cookies themselves mark a visitor as known; other cookies get the cached page.
    other_cookie = app.get("/over", headers={"Cookie": "portal_sidebar=open; taal=nl"}, status=200)
    assert other_cookie.headers[CACHE_HEADER] == "hit"
    session_cookie = app.get("/over", headers={"Cookie": "taal=nl; portal_sid=onbekend"}, status=200)
    assert CACHE_HEADER not in session_cookie.headers


def test_not_modified_on_the_first_request_of_a_process(site):
    """A browser revalidating after a restart (empty cache) gets a 304 when the page it holds is still current."""
    page = site.testapp().get("/voorbeelden", status=200)
    fresh = Site(site.db_url, site.workdir.parent / "restarted", index_template=site.workdir / "index")
    try:
        again = fresh.testapp().get("/voorbeelden", headers={"If-None-Match": page.headers["ETag"]}, status=304)
        assert again.headers[CACHE_HEADER] == "miss"
        assert again.body == b""
    finally:
        fresh.close()
