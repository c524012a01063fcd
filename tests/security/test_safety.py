"""Safety: CSRF on every POST, login behaviour, headers and CSP, body size, sanitising, and nothing private leaking
on any public route (pages, API, feeds, sitemap, search)."""

from __future__ import annotations

import re

import pytest
from pyramid.interfaces import IRoutesMapper
from sqlalchemy import func, select
from workflow.helpers import PASSWORD, add_user, contribution_form, csrf_token, fill_complete, login

from portal.accounts.models import ThrottleEvent, User
from portal.content.models import PracticeExample, Region, Source, Status, Theme
from portal.workflow import services as wf
from portal.workflow.models import ExampleWorkflow

SECRET_EMAIL = "prive.persoon@example.nl"
SECRET_NAME = "Prudence Privé"
DRAFT_WORD = "Conceptwoordzzq"
REMARK = "Redactieopmerkingxyz"


# --- CSRF -------------------------------------------------------------------------------------------------------

POST_ROUTES = ["/inloggen", "/uitloggen", "/account/aanvragen", "/voorbeeld-aanmelden", "/bijdragen"]


def test_every_post_without_csrf_token_is_refused_and_changes_nothing(site):
    add_user(site, "b@example.nl", "beheerder")
    app = site.testapp()
    login(app, "b@example.nl")
    with site.session() as db:
        example_id = db.scalar(select(PracticeExample.id))
    paths = [*POST_ROUTES, f"/bijdragen/{example_id}", f"/redactie/voorbeelden/{example_id}/besluit",
             f"/redactie/voorbeelden/{example_id}/bewerken",
             f"/redactie/voorbeelden/{example_id}/revisies/1/herstellen",
             "/beheer/gebruikers/1"]
    for path in paths:
        response = app.post(path, {"title": "x", "version": "0", "action": "publish"}, status=400)
        assert "niet vanaf deze website verstuurd" in response.text, path
        app.post(path, {"csrf_token": "verkeerd", "title": "x"}, status=400)
    app.get("/redactie", status=200)  # still logged in: the logout without token did nothing
    with site.session() as db:
        assert db.scalar(select(func.count(ExampleWorkflow.example_id))) == 0


# --- login ------------------------------------------------------------------------------------------------------

def test_login_failure_is_dutch_and_does_not_reveal_which_part_was_wrong(site):
    add_user(site, "bestaat@example.nl", "bijdrager")
    wrong_password = login(site.testapp(), "bestaat@example.nl", "fout-wachtwoord-123", status=400)
    unknown_user = login(site.testapp(), "bestaat-niet@example.nl", "fout-wachtwoord-123", status=400)
    message = "Deze combinatie van e-mailadres en wachtwoord is niet bekend"
    assert message in wrong_password and message in unknown_user


def test_repeated_failures_slow_down_logins(site):
    add_user(site, "doelwit@example.nl", "bijdrager")
    app = site.testapp()
    for _ in range(5):
        login(app, "doelwit@example.nl", "geraden-wachtwoord", status=400)
    blocked = login(app, "doelwit@example.nl", PASSWORD, status=429)  # even the right password waits
    assert "Te veel mislukte pogingen" in blocked
    with site.session() as db:
        assert db.scalar(select(func.count(ThrottleEvent.id))) >= 10


def test_login_gives_a_new_session_and_logout_ends_it(site):
    add_user(site, "s@example.nl", "bijdrager")
    app = site.testapp()
    app.get("/voorbeeld-aanmelden")
    before = app.cookies.get("portal_session")
    response = login(app, "s@example.nl")
    cookie = next(h for k, h in response.headerlist if k == "Set-Cookie" and h.startswith("portal_session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie.replace("samesite=lax", "SameSite=Lax")
    assert app.cookies["portal_session"] != before
    app.get("/mijn-bijdragen", status=200)
    page = app.get("/uitloggen")
    page.forms[next(k for k, f in page.forms.items() if f.action == "/uitloggen")].submit(status=303)
    app.get("/mijn-bijdragen", status=303)


def test_secure_cookie_flag_follows_setting(site_factory):
    site = site_factory(**{"portal.secure_cookies": "true"})
    add_user(site, "s@example.nl", "bijdrager")
    app = site.testapp(HTTP_X_FORWARDED_PROTO="https", **{"wsgi.url_scheme": "https"})
    response = login(app, "s@example.nl")
    cookie = next(h for k, h in response.headerlist if k == "Set-Cookie" and h.startswith("portal_session="))
    assert "secure" in cookie.lower()
    assert "Strict-Transport-Security" in response.headers


def test_disabling_a_user_ends_their_session(site):
    user_id = add_user(site, "weg@example.nl", "bijdrager")
    app = site.testapp()
    login(app, "weg@example.nl")
    app.get("/mijn-bijdragen", status=200)
    with site.session() as db:
        db.get(User, user_id).active = False
        db.get(User, user_id).auth_epoch += 1
    app.get("/mijn-bijdragen", status=303)


def test_login_redirect_stays_on_this_site(site):
    add_user(site, "r@example.nl", "bijdrager")
    app = site.testapp()
    page = app.get("/inloggen", params={"came_from": "//evil.example/"})
    form = page.forms[next(k for k, f in page.forms.items() if f.action == "/inloggen")]
    form["email"], form["password"] = "r@example.nl", PASSWORD
    assert form.submit(status=303).location.endswith("/mijn-bijdragen")


# --- headers, body size ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/", "/inloggen", "/bestaat-niet", "/api/voorbeelden"])
def test_security_headers_on_every_response(testapp, path):
    response = testapp.get(path, status="*")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "Referrer-Policy" in response.headers


def test_no_inline_scripts_or_styles_in_forms(site):
    add_user(site, "b@example.nl", "bijdrager")
    app = site.testapp()
    login(app, "b@example.nl")
    for path in ("/bijdragen", "/inloggen", "/voorbeeld-aanmelden", "/account/aanvragen"):
        text = app.get(path).text
        assert "<script" not in text and "<style" not in text and "onclick" not in text, path


def test_too_large_body_is_413_in_dutch(site_factory):
    site = site_factory(**{"portal.max_body_bytes": "5000"})
    app = site.testapp()
    token = csrf_token(app)
    response = app.post("/voorbeeld-aanmelden", {"csrf_token": token, "description": "x" * 10_000}, status=413)
    assert "Verzoek te groot" in response.text and "niets opgeslagen" in response.text


def test_deform_static_is_served_locally(testapp):
    testapp.get("/deform_static/css/form.css", status=200)


# --- sanitising -------------------------------------------------------------------------------------------------

EVIL = ("<script>alert('x')</script>\n\n<img src=x onerror=alert(1)>\n\n[klik](javascript:alert(1))\n\n"
        "<a href=\"#\" onclick=\"alert(1)\">a</a> **veilig**")


def _published_evil(site):
    add_user(site, "bijdrager@example.nl", "bijdrager")
    add_user(site, "red@example.nl", "redacteur")
    app = site.testapp()
    login(app, "bijdrager@example.nl")
    form = contribution_form(app.get("/bijdragen"))
    fill_complete(form, title="Kwaadaardige tekst", approach=EVIL, lessons=EVIL)
    preview = form.submit("voorbeeld")
    contribution_form(preview).submit("indienen", status=303)
    editor = site.testapp()
    login(editor, "red@example.nl")
    with site.session() as db:
        example_id = db.scalar(select(PracticeExample.id).where(PracticeExample.title == "Kwaadaardige tekst"))
    review = editor.get(f"/redactie/voorbeelden/{example_id}")
    editor.post(f"/redactie/voorbeelden/{example_id}/besluit",
                {"csrf_token": csrf_token(editor), "version": re.search(r'name="version" value="(\d+)"',
                                                                       review.text).group(1),
                 "action": "publish"}, status=303)
    return preview, review, site.testapp().get("/voorbeelden/kwaadaardige-tekst")


def _article_part(html: str) -> str:
    match = re.search(r"<article.*?</article>", html, re.S)
    return match.group(0) if match else html


def test_markdown_is_sanitised_in_preview_review_and_published_page(site):
    for page in _published_evil(site):
        article = _article_part(page.text)
        assert "<strong>veilig</strong>" in article
        assert "<script" not in article and "onerror" not in article and "onclick" not in article
        assert "javascript:" not in article


# --- leaks ------------------------------------------------------------------------------------------------------

def _public_paths(site, slugs: dict[str, list[str]]) -> list[str]:
    mapper = site.registry.getUtility(IRoutesMapper)
    paths = []
    for route in mapper.get_routes():
        if route.name.startswith("__") or "{id}" in route.pattern or route.name in ("uitloggen",):
            continue
        if "{slug}" in route.pattern:
            prefix = "voorbeelden" if route.pattern.startswith(("/api/voorbeelden", "/voorbeelden")) else \
                route.pattern.strip("/").split("/")[0]
            for slug in slugs.get(prefix, []):
                paths.append(route.pattern.replace("{slug}", slug))
        else:
            paths.append(route.pattern)
    return paths


def test_drafts_remarks_and_private_contacts_never_leak(site):
    add_user(site, "eigenaar@example.nl", "bijdrager")
    add_user(site, "ander@example.nl", "bijdrager")
    add_user(site, "red@example.nl", "redacteur")
    with site.session() as db:
        owner = db.scalar(select(User).where(User.email == "eigenaar@example.nl"))
        editor = db.scalar(select(User).where(User.email == "red@example.nl"))
        contacts = [{"name": SECRET_NAME, "email": SECRET_EMAIL, "public": False, "consent": False}]
        base = {"summary": "Samenvatting.", "place": "Ede", "provincie": "gelderland", "target_group": "Kinderen",
                "themes": ["thuiszitters"], "financing": "Gemeente.", "background": "a", "approach": "b",
                "results": "c", "financing_text": "d", "lessons": "e", "source_note": "x", "contacts": contacts}
        draft, _ = wf.create_contribution(db, owner, {**base, "title": f"Concept {DRAFT_WORD}"}, "t" * 20)
        returned, _ = wf.create_contribution(db, owner, {**base, "title": f"Terug {DRAFT_WORD}"}, "u" * 20)
        wf.transition(db, returned, owner, "submit", returned.version)
        wf.transition(db, returned, editor, "return", returned.version, remarks={"title": REMARK})
        published, _ = wf.create_contribution(db, owner, {**base, "title": "Openbaar voorbeeld"}, "v" * 20)
        wf.transition(db, published, owner, "submit", published.version)
        wf.transition(db, published, editor, "publish", published.version)
        # A pending change to the published item: the public must keep seeing the published text.
        wf.save(db, published, editor, {**published.data(), "summary": f"Kopie {DRAFT_WORD}"}, published.version)
        slugs = {
            "voorbeelden": [draft.example.slug, returned.example.slug, published.example.slug],
            "themas": ["thuiszitters"], "regios": ["gelderland", "ede"] if db.scalar(
                select(Region.id).where(Region.slug == "ede")) else ["gelderland"],
            "kennis": [], "bronnen": [db.scalar(select(Source.slug))],
        }
        assert db.scalar(select(Theme.id).where(Theme.slug == "thuiszitters"))
        published_slug = published.example.slug
    visitors = {"anoniem": site.testapp(), "andere bijdrager": site.testapp()}
    login(visitors["andere bijdrager"], "ander@example.nl")
    search = site.registry.get("search_service")
    if search is not None and hasattr(search, "drain"):
        search.drain()
    paths = _public_paths(site, slugs)
    # Search pages echo the query, so search for neighbouring words of the secrets rather than the secrets.
    extra = ["/zoeken?q=Concept", "/api/zoeken?q=Terug", "/api/zoeken?q=Kopie", "/zoeken?q=Kopie",
             "/api/zoeken?q=Prudence", "/zoeken?q=prive.persoon", "/api/voorbeelden?per_page=100", "/mijn-bijdragen"]
    checked = 0
    for who, app in visitors.items():
        for path in paths + extra:
            response = app.get(path, status="*")
            if response.status_int in (303, 404) or response.status_int >= 500:
                assert response.status_int < 500, path
                continue
            text = response.text
            for secret in (SECRET_EMAIL, SECRET_NAME, DRAFT_WORD, REMARK):
                assert secret not in text, f"{secret} leaked to {who} on {path}"
            checked += 1
    assert checked > 20
    assert site.testapp().get(f"/voorbeelden/{published_slug}").status_int == 200
    assert "Openbaar voorbeeld" in site.testapp().get("/api/voorbeelden", params={"per_page": 100}).text


def test_unpublished_items_vanish_from_api(testapp):
    with_status = testapp.get("/api/voorbeelden", params={"per_page": 100}).json
    for item in with_status.get("items", []):
        assert item.get("status", Status.PUBLISHED) in (Status.PUBLISHED, "lopend", "afgerond", "pilot", "onbekend",
                                                        None, "")
