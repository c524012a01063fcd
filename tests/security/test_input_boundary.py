"""The one input boundary (issue 9): hostile or broken input gets a Dutch 400/404, never a 500; text reaching mail and
XML is always well-formed; absolute URLs come from portal.base_url, never from the Host header."""

from __future__ import annotations

import datetime as dt
import threading
import xml.etree.ElementTree as ET

import pytest
from pyramid.exceptions import ConfigurationError
from pyramid.scripting import prepare
from sqlalchemy import select
from workflow.helpers import add_user, contribution_form, csrf_token, fill_complete, login, messages

from portal import main
from portal.accounts.models import FormStash, User
from portal.content.models import PracticeExample, Status
from portal.mail import send_mail

ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def _contributor(site, email="c@example.nl"):
    add_user(site, email, "bijdrager")
    app = site.testapp()
    login(app, email)
    return app


def _editor(site, email="red@example.nl"):
    add_user(site, email, "redacteur")
    app = site.testapp()
    login(app, email)
    return app


def _dutch_400(response):
    assert response.status_int == 400
    assert "Ongeldige aanvraag" in response.text or "beschadigd" in response.text or "regeleinden" in response.text


# --- 3: a title with a line break, and mail headers -----------------------------------------------------------

def test_title_with_line_break_is_a_field_error_not_a_500(site):
    app = _contributor(site)
    form = contribution_form(app.get("/bijdragen"))
    fill_complete(form, title="Samen sterk\r\nBcc: iedereen@example.nl")
    response = form.submit("indienen", status=400)
    assert "regeleinden" in response.text
    assert not messages(site)
    with site.session() as db:
        assert db.scalar(select(PracticeExample).where(PracticeExample.title.like("Samen sterk%"))) is None


def test_mail_subject_with_line_break_becomes_one_line(site):
    """A title that already holds a line break (content files, older data) no longer breaks submitting."""
    env = prepare(registry=site.registry)
    try:
        request = env["request"]
        request.tm.begin()
        send_mail(request, ["x@example.nl"], "Ingediend: Samen\r\nBcc: evil@example.nl\u2028sterk",
                  "Tekst\x07 met\tstuurteken\n")
        request.tm.commit()
    finally:
        env["closer"]()
    [message] = messages(site)
    assert message["Subject"] == "Ingediend: Samen Bcc: evil@example.nl sterk"
    assert message["Bcc"] is None


def test_control_characters_are_removed_from_multi_line_text(site):
    app = _contributor(site)
    form = contribution_form(app.get("/bijdragen"))
    fill_complete(form, results="Minder\x1b verzuim.\n\tEcht.")
    app.get(form.submit("opslaan", status=303).location)
    with site.session() as db:
        example = db.scalar(select(PracticeExample).where(PracticeExample.title == "Samen sterk in Zwolle"))
        assert example.results == "Minder verzuim.\n\tEcht."


# --- 4 and 6: feed and sitemap ----------------------------------------------------------------------------------

def test_control_character_in_published_title_keeps_feed_and_sitemap_valid_xml(site):
    with site.session() as db:
        example = db.scalars(select(PracticeExample).where(PracticeExample.status == Status.PUBLISHED)).first()
        example.title = "Stuur\x0bteken\x1b in de \ufffetitel & meer"
        example.summary = "Samen\x0c vatting"
        example.published_at = dt.datetime(2099, 1, 1)
        slug = example.slug
    app = site.testapp()
    feed = ET.fromstring(app.get("/feeds/voorbeelden.xml").body)  # noqa: S314 - our own output
    titles = [e.findtext(f"{ATOM}title") for e in feed.iter(f"{ATOM}entry")]
    assert "Stuurteken in de titel & meer" in titles
    sitemap = ET.fromstring(app.get("/sitemap.xml").body)  # noqa: S314 - our own output
    assert any(loc.text.endswith(f"/voorbeelden/{slug}") for loc in sitemap.iter(f"{SITEMAP}loc"))


def test_host_header_never_reaches_absolute_urls(testapp, shared_site):
    app = shared_site.testapp(HTTP_HOST="evil.example")
    feed_xml = app.get("/feeds/voorbeelden.xml").text
    sitemap_xml = app.get("/sitemap.xml").text
    robots = app.get("/robots.txt").text
    for text in (feed_xml, sitemap_xml, robots):
        assert "evil.example" not in text
    feed = ET.fromstring(feed_xml.encode())  # noqa: S314 - our own output
    urls = [feed.findtext(f"{ATOM}id")] + [link.get("href") for link in feed.iter(f"{ATOM}link")]
    sitemap = ET.fromstring(sitemap_xml.encode())  # noqa: S314 - our own output
    urls += [loc.text for loc in sitemap.iter(f"{SITEMAP}loc")]
    assert len(urls) > 10
    assert all(url.startswith("http://localhost/") for url in urls), [u for u in urls if "localhost/" not in u]


def test_base_url_is_required_in_production(shared_site):
    settings = {**shared_site.settings, "portal.secure_cookies": "true", "portal.base_url": ""}
    with pytest.raises(ConfigurationError, match=r"portal\.base_url"):
        main({}, **settings)
    with pytest.raises(ConfigurationError, match="geen geldig adres"):
        main({}, **{**settings, "portal.base_url": "kennisportaal.example.nl"})


def test_a_refused_configuration_leaves_no_index_writer_running(shared_site, tmp_path):
    """main() refuses portal.base_url after the search service started: its writer thread must stop with it (it
    would otherwise keep polling a database that may be gone)."""
    def writers() -> int:
        return sum(t.name == "search-index-writer" and t.is_alive() for t in threading.enumerate())

    before = writers()
    settings = {**shared_site.settings, "portal.secure_cookies": "true", "portal.base_url": "",
                "search.index_dir": str(tmp_path / "index")}
    with pytest.raises(ConfigurationError, match=r"portal\.base_url"):
        main({}, **settings)
    assert writers() == before


# --- 5: ids and version numbers -----------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/bijdragen/%C2%B2", "/bijdragen/99999999999", "/bijdragen/0",
                                  "/bijdragen/%D9%A3", "/redactie/aanmeldingen/%C2%B2",
                                  "/redactie/aanmeldingen/99999999999"])
def test_unicode_digits_and_huge_ids_are_404_not_500(testapp, path):
    response = testapp.get(path, status=404)
    assert "Deze" in response.text


def test_hostile_ids_and_versions_for_editors_and_admins(site):
    add_user(site, "admin@example.nl", "beheerder")
    app = site.testapp()
    login(app, "admin@example.nl")
    with site.session() as db:
        example_id = db.scalars(select(PracticeExample.id).where(PracticeExample.status == Status.PUBLISHED)).first()
    for path in ("/redactie/voorbeelden/%C2%B2", "/redactie/voorbeelden/99999999999",
                 f"/redactie/voorbeelden/{example_id}/revisies/%C2%B2",
                 f"/redactie/voorbeelden/{example_id}/revisies/99999999999",
                 "/beheer/gebruikers/%C2%B2", "/beheer/gebruikers/99999999999", "/beheer/aanvragen/%C2%B2"):
        assert app.get(path, expect_errors=True).status_int == 404, path
    token = csrf_token(app)
    for version in ("²", "99999999999", "-1", "1_0"):
        response = app.post(f"/redactie/voorbeelden/{example_id}/besluit",
                            {"csrf_token": token, "version": version, "action": "publish"}, status=400)
        assert "onbekende versie" in response.text


def test_unicode_digit_version_in_contribution_form_is_400(site):
    app = _contributor(site)
    form = contribution_form(app.get("/bijdragen"))
    fill_complete(form)
    form["version"] = "²"
    assert "onbekende versie" in form.submit("opslaan", status=400).text


# --- 5: NUL, broken bodies, charsets ----------------------------------------------------------------------------

def test_nul_in_anonymous_forms_is_a_dutch_400_and_stores_nothing(site):
    app = site.testapp()
    token = csrf_token(app)
    tip = {"csrf_token": token, "name": "Piet\x00", "email": "p@example.nl", "organisation": "School",
           "description": "Een mooi voorbeeld."}
    _dutch_400(app.post("/voorbeeld-aanmelden", tip, status=400))
    request = {"csrf_token": token, "name": "Piet", "email": "p@example.nl", "organisation": "School\x00",
               "region": "", "motivation": "", "password": "een-lang-wachtwoord-123",
               "password_repeat": "een-lang-wachtwoord-123"}
    _dutch_400(app.post("/account/aanvragen", request, status=400))
    assert app.get("/zoeken", {"q": "thuis\x00zitters"}, expect_errors=True).status_int in (200, 400)
    assert not messages(site)


def test_other_control_characters_in_one_line_tip_fields_are_a_field_error(site):
    app = site.testapp()
    token = csrf_token(app)
    response = app.post("/voorbeeld-aanmelden", {"csrf_token": token, "name": "Piet\x1b[31m", "email": "p@example.nl",
                                                  "organisation": "", "description": "Iets."}, status=400)
    assert "regeleinden" in response.text
    assert not messages(site)


def test_malformed_bodies_are_dutch_400s(testapp):
    token = csrf_token(testapp)
    cases = [
        ("multipart/form-data", b"csrf_token=" + token.encode()),  # no boundary
        ("application/x-www-form-urlencoded; charset=latin-1", b"csrf_token=" + token.encode() + b"&name=Jos\xe9"),
        ("application/x-www-form-urlencoded; charset=utf-16", b"csrf_token=" + token.encode()),
        ("application/x-www-form-urlencoded", b"csrf_token=" + token.encode() + b"&name=%ff%fe"),
        ("application/x-www-form-urlencoded", b"csrf_token=" + token.encode() + b"&name=\xff"),
        ("application/json", b'{"csrf_token": "x"}'),
        ("text/plain", b"hallo"),
    ]
    for content_type, body in cases:
        response = testapp.post("/voorbeeld-aanmelden", body, headers={"Content-Type": content_type},
                                expect_errors=True)
        assert response.status_int == 400, (content_type, response.status_int)
        assert "Ongeldige aanvraag" in response.text, content_type
    for content_type in ("multipart/form-data", "application/x-www-form-urlencoded; charset=latin-1"):  # no body
        response = testapp.post("/voorbeeld-aanmelden", b"", headers={"Content-Type": content_type},
                                expect_errors=True)
        assert response.status_int == 400, (content_type, response.status_int)
    api = testapp.post("/api/voorbeelden", b"x", headers={"Content-Type": "multipart/form-data"}, expect_errors=True)
    assert api.status_int == 400 and api.json["error"]["status"] == 400


# --- 5: peppercorn markers, resumed forms, came_from ---------------------------------------------------------------

def _form_controls(page):
    form = contribution_form(page)
    fill_complete(form)
    return [(name, value) for name, value in form.submit_fields("opslaan")]


@pytest.mark.parametrize("mutation", ["swap_mapping", "swap_sequence", "unbalanced_end", "unbalanced_start"])
def test_swapped_or_unbalanced_deform_markers_are_400(site, mutation):
    app = _contributor(site)
    controls = _form_controls(app.get("/bijdragen"))
    if mutation == "swap_mapping":
        controls = [(k, v.replace("basis:mapping", "basis:sequence")) for k, v in controls]
    elif mutation == "swap_sequence":
        controls = [(k, v.replace("tips:sequence", "tips:mapping")) for k, v in controls]
    elif mutation == "unbalanced_end":
        controls = [("__end__", "basis:mapping"), *controls]
    else:
        controls = [*controls, ("__start__", "basis:mapping"), ("__start__", "tips:sequence")]
    response = app.post("/bijdragen", controls, expect_errors=True)
    assert response.status_int in (400, 303), response.status_int
    if response.status_int == 400:
        assert "beschadigd" in response.text or "verbeter" in response.text


def test_came_from_with_line_breaks_or_wide_space_falls_back(site):
    add_user(site, "r@example.nl", "bijdrager")
    for came_from in ("/bijdragen\r\nSet-Cookie: x=1", "/bijdragen\u3000x", "/bijdragen\x85", "/zoeken?q=caf\u00e9"):
        app = site.testapp()
        token = csrf_token(app)
        response = app.post("/inloggen", {"csrf_token": token, "email": "r@example.nl",
                                          "password": "een-lang-wachtwoord", "came_from": came_from}, status=303)
        if came_from.startswith("/zoeken"):
            assert response.location.endswith("/zoeken?q=caf%C3%A9")
        else:
            assert response.location.endswith("/mijn-bijdragen"), response.location


def test_deeply_nested_resume_json_is_treated_as_absent(site):
    add_user(site, "r@example.nl", "bijdrager")
    app = site.testapp()
    token = csrf_token(app)
    response = app.post("/inloggen", {"csrf_token": token, "email": "r@example.nl", "password": "een-lang-wachtwoord",
                                      "came_from": "/bijdragen", "resume": "[" * 200_000 + "]" * 200_000},
                        status=303)
    assert response.location.endswith("/bijdragen")
    with site.session() as db:
        assert db.scalar(select(FormStash)) is None


def test_damaged_form_stash_is_ignored(site):
    app = _contributor(site)
    with site.session() as db:
        user_id = db.scalar(select(User.id).where(User.email == "c@example.nl"))
        for token, controls in (("a" * 20, [["__start__", "basis:sequence"], ["title", "x"],
                                            ["__end__", "basis:sequence"]]),
                                ("b" * 20, {"niet": "een lijst"}), ("c" * 20, [[1, 2, 3]])):
            db.add(FormStash(token=token, user_id=user_id, path="/bijdragen", controls=controls))
    for token in ("a" * 20, "b" * 20, "c" * 20):
        page = app.get(f"/bijdragen?herstel={token}", status=200)
        assert "Welkom terug" not in page.text


def test_account_request_refuses_control_characters_in_one_line_fields(site):
    from sqlalchemy import func, select

    from portal.accounts.models import AccountRequest

    app = site.testapp()
    page = app.get("/account/aanvragen")
    form = next(f for f in page.forms.values() if f.action == "/account/aanvragen")
    form["name"], form["email"], form["organisation"] = "Naam\x1bmet escape", "a@example.nl", "School\u2028Twee"
    form["password"] = form["password_repeat"] = "een-lang-wachtwoord-123"
    response = form.submit(status=400)
    assert "geen regeleinden of onzichtbare stuurtekens" in response.text
    with site.session() as db:
        assert db.scalar(select(func.count(AccountRequest.id))) == 0


def test_redirects_use_the_configured_address_not_the_host_header(testapp):
    response = testapp.get("/bijdragen", headers={"Host": "evil.example"}, status=303)
    assert response.headers["Location"].startswith("http://localhost/inloggen")
    assert "evil.example" not in response.headers["Location"]
