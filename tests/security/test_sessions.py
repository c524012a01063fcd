"""Server-side sessions (issue 9): logging out ends every copy of the cookie, a password change ends the other
sessions, idle sessions expire, and login always starts a new session."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update
from workflow.helpers import add_user, login

from portal.accounts.models import UserSession
from portal.content.models import utcnow


def copy_cookies(site, source):
    """A second browser holding a copy of every cookie of the first (a stolen cookie jar)."""
    thief = site.testapp()
    for cookie in source.cookiejar:
        thief.cookiejar.set_cookie(cookie)
    return thief


def logout(app):
    page = app.get("/uitloggen")
    return page.forms[next(k for k, f in page.forms.items() if f.action == "/uitloggen")].submit(status=303)


def test_session_cookie_holds_only_a_random_token_and_the_database_only_its_hash(site):
    add_user(site, "s@example.nl", "bijdrager")
    app = site.testapp(HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0")
    response = login(app, "s@example.nl")
    cookie = next(h for k, h in response.headerlist if k == "Set-Cookie" and h.startswith("portal_sid="))
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower() and "secure" not in cookie.lower()
    token = app.cookies["portal_sid"]
    with site.session() as db:
        row = db.scalar(select(UserSession))
        assert row.token_hash != token and token not in row.token_hash and len(row.token_hash) == 64
        assert row.user_agent == "Firefox op Linux"


def test_secure_flag_on_the_session_cookie_follows_setting(site_factory):
    site = site_factory(**{"portal.secure_cookies": "true", "portal.base_url": "https://localhost"})
    add_user(site, "s@example.nl", "bijdrager")
    app = site.testapp(HTTP_X_FORWARDED_PROTO="https", **{"wsgi.url_scheme": "https"})
    response = login(app, "s@example.nl")
    cookie = next(h for k, h in response.headerlist if k == "Set-Cookie" and h.startswith("portal_sid="))
    assert "secure" in cookie.lower()


def test_a_copied_cookie_stops_working_after_logout(site):
    add_user(site, "s@example.nl", "bijdrager")
    app = site.testapp()
    login(app, "s@example.nl")
    thief = copy_cookies(site, app)
    thief.get("/mijn-bijdragen", status=200)  # the copy works while the session lives
    logout(app)
    app.get("/mijn-bijdragen", status=303)
    refused = thief.get("/mijn-bijdragen", status=303)
    assert "/inloggen" in refused.location
    thief.get("/redactie", status=303)
    with site.session() as db:
        assert db.scalar(select(func.count(UserSession.id))) == 0


def test_login_starts_a_new_session_and_ends_the_one_the_browser_had(site):
    add_user(site, "s@example.nl", "bijdrager")
    app = site.testapp()
    login(app, "s@example.nl")
    first = app.cookies["portal_sid"]
    planted = copy_cookies(site, app)  # someone who knows the first session id
    login(app, "s@example.nl")
    assert app.cookies["portal_sid"] != first
    app.get("/mijn-bijdragen", status=200)
    planted.get("/mijn-bijdragen", status=303)


def test_sessions_of_two_browsers_are_independent(site):
    add_user(site, "s@example.nl", "bijdrager")
    one, two = site.testapp(), site.testapp()
    login(one, "s@example.nl")
    login(two, "s@example.nl")
    logout(one)
    two.get("/mijn-bijdragen", status=200)


def test_idle_sessions_expire(site_factory):
    site = site_factory(**{"portal.session_idle_minutes": "30"})
    add_user(site, "s@example.nl", "bijdrager")
    app = site.testapp()
    login(app, "s@example.nl")
    app.get("/mijn-bijdragen", status=200)
    with site.session() as db:
        db.execute(update(UserSession).values(last_seen_at=utcnow() - dt.timedelta(minutes=29)))
    app.get("/mijn-bijdragen", status=200)  # still within the idle time, and this request counts as activity
    with site.session() as db:
        assert db.scalar(select(UserSession.last_seen_at)) > utcnow() - dt.timedelta(minutes=1)
        db.execute(update(UserSession).values(last_seen_at=utcnow() - dt.timedelta(minutes=31)))
    assert "/inloggen" in app.get("/mijn-bijdragen", status=303).location
    login(app, "s@example.nl")  # logging in again prunes the expired row
    with site.session() as db:
        assert db.scalar(select(func.count(UserSession.id))) == 1


def test_last_seen_is_written_at_most_once_a_minute(site):
    add_user(site, "s@example.nl", "bijdrager")
    app = site.testapp()
    login(app, "s@example.nl")
    with site.session() as db:
        seen = utcnow() - dt.timedelta(seconds=20)
        db.execute(update(UserSession).values(last_seen_at=seen))
    app.get("/mijn-bijdragen", status=200)
    with site.session() as db:
        assert db.scalar(select(UserSession.last_seen_at)) == seen


def test_login_prunes_expired_rows(site):
    add_user(site, "a@example.nl", "bijdrager")
    add_user(site, "b@example.nl", "bijdrager")
    old = site.testapp()
    login(old, "a@example.nl")
    with site.session() as db:
        db.execute(update(UserSession).values(last_seen_at=utcnow() - dt.timedelta(days=3)))
    login(site.testapp(), "b@example.nl")
    with site.session() as db:
        assert db.scalar(select(func.count(UserSession.id))) == 1


def test_flash_messages_still_work_after_login(site):
    add_user(site, "s@example.nl", "bijdrager", name="Sanne")
    app = site.testapp()
    assert "Welkom, Sanne" in login(app, "s@example.nl").follow().text
