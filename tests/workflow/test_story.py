"""The whole story through the real app: account request -> approval -> login -> draft -> preview -> submit ->
return with remarks -> resubmit -> publish -> found on pages, API and search -> edit a copy -> republish ->
history -> restore."""

from __future__ import annotations

import re
import time

from pyramid.interfaces import IRoutesMapper

from workflow.helpers import (
    PASSWORD,
    add_user,
    contribution_form,
    fill_complete,
    item_id,
    login,
    mail_text,
    mail_to,
    set_visibility,
)

SECRET_EMAIL = "geheim.contact@example.nl"


def api_slugs(app) -> set[str]:
    data = app.get("/api/voorbeelden", params={"per_page": 100}, status="*").json
    return {item["slug"] for item in data.get("items", [])}


def search_finds(site, app, query: str, slug: str) -> bool | None:
    """Whether /api/zoeken finds ``slug``; None when search is not (yet) part of the app."""
    names = {r.name for r in site.registry.getUtility(IRoutesMapper).get_routes()}
    if "api_zoeken" not in names:
        return None
    search = site.registry.get("search_service")
    for _attempt in range(50):  # the index follows commits through an outbox; give the writer a moment
        if search is not None and hasattr(search, "drain"):
            search.drain()
        if slug in app.get("/api/zoeken", params={"q": query}).text:
            return True
        time.sleep(0.1)
    return False


def test_whole_story(site):
    add_user(site, "beheer@example.nl", "beheerder", name="Bea Beheer")
    add_user(site, "redactie@example.nl", "redacteur", name="Rik Redactie")

    # 1. Someone asks for an account; the beheerder approves it.
    visitor = site.testapp()
    page = visitor.get("/account/aanvragen")
    form = page.forms[1]
    form["name"], form["email"], form["organisation"] = "Carla Coördinator", "carla@example.nl", "SWV Zwolle"
    form["password"] = form["password_repeat"] = PASSWORD
    assert "Bedankt" in form.submit().text
    assert mail_to(site, "beheer@example.nl")

    admin = site.testapp()
    login(admin, "beheer@example.nl")
    page = admin.get("/beheer/gebruikers")
    assert "Carla Coördinator" in page
    approve = next(f for f in page.forms.values() if f.action.startswith("/beheer/aanvragen/"))
    approve.submit("decision", value="approve").follow()
    assert mail_to(site, "carla@example.nl")

    # 2. The contributor logs in and writes a draft.
    carla = site.testapp()
    login(carla, "carla@example.nl")
    form = contribution_form(carla.get("/bijdragen"))
    form["title"] = "Samen sterk in Zwolle"
    saved = form.submit("opslaan", status=303)
    example_id = item_id(saved)
    page = saved.follow()
    assert "Opgeslagen" in page and "Concept" in page

    # 3. Fill it in with a private contact, preview: rendered by the published page's template and Markdown.
    form = contribution_form(page)
    fill_complete(form, approach="Een jeugdhulpverlener werkt *elke dag* op school.<script>alert(1)</script>")
    form.set("name", "Petra Publiek", index=0)
    form.set("email", "petra@example.nl", index=0)
    set_visibility(form, 0, "openbaar")
    form.set("consent", True, index=0)
    form.set("name", "Gerrit Geheim", index=1)
    form.set("email", SECRET_EMAIL, index=1)
    preview = form.submit("voorbeeld")
    assert "<em>elke dag</em>" in preview.text
    assert "<script>alert(1)" not in preview.text
    assert "Petra Publiek" in preview.text and "Gerrit Geheim" not in preview.text.split("Verder bewerken")[0]
    assert 's-approach' in preview.text  # the published page's section markup

    # 4. Submit: editors get mail; the item is invisible to the public.
    submitted = contribution_form(preview).submit("indienen", status=303)
    assert submitted.location.endswith("/mijn-bijdragen")
    assert "Ingediend" in submitted.follow()
    assert mail_to(site, "redactie@example.nl")
    slug = "samen-sterk-in-zwolle"
    visitor.get(f"/voorbeelden/{slug}", status=404)
    assert slug not in api_slugs(visitor)

    # 5. The editor returns it with remarks per field.
    editor = site.testapp()
    login(editor, "redactie@example.nl")
    queue = editor.get("/redactie")
    assert "Samen sterk in Zwolle" in queue
    review = editor.get(f"/redactie/voorbeelden/{example_id}")
    assert "<em>elke dag</em>" in review.text and SECRET_EMAIL in review.text  # editors see private contacts
    decide = review.forms[next(k for k, f in review.forms.items() if f.action.endswith("/besluit"))]
    decide["remark_results"] = "Noem een cijfer: hoeveel minder verzuim?"
    decide.submit("action", value="return", status=303)
    returned = carla.get("/mijn-bijdragen")
    assert "Teruggestuurd" in returned and "hoeveel minder verzuim" in returned
    assert any("hoeveel minder verzuim" in mail_text(m) for m in mail_to(site, "carla@"))

    # 6. The contributor fixes it and resubmits.
    form = contribution_form(carla.get(f"/bijdragen/{example_id}"))
    form["results"] = "Het verzuim daalde met 30 procent."
    contribution_form(form.submit("opslaan").follow()).submit("indienen", status=303)

    # 7. The editor publishes; the item is on the pages, the API (and search when present).
    review = editor.get(f"/redactie/voorbeelden/{example_id}")
    assert "30 procent" in review.text  # the diff against the previous revision
    decide = review.forms[next(k for k, f in review.forms.items() if f.action.endswith("/besluit"))]
    decide.submit("action", value="publish", status=303)
    public = visitor.get(f"/voorbeelden/{slug}")
    assert "Het verzuim daalde met 30 procent." in public
    assert "Petra Publiek" in public and SECRET_EMAIL not in public and "Gerrit Geheim" not in public
    assert "hoeveel minder verzuim" not in public
    assert slug in api_slugs(visitor)
    detail = visitor.get(f"/api/voorbeelden/{slug}").text
    assert SECRET_EMAIL not in detail and "Gerrit" not in detail
    assert search_finds(site, visitor, "Samen sterk Zwolle", slug) in (True, None)

    # 8. The editor edits the published item: a working copy; the public still sees the published text.
    form = contribution_form(editor.get(f"/redactie/voorbeelden/{example_id}/bewerken"))
    form["title"] = "Samen sterk in Zwolle en omstreken"
    form.submit("opslaan", status=303)
    assert "en omstreken" not in visitor.get(f"/voorbeelden/{slug}")
    form = contribution_form(editor.get(f"/redactie/voorbeelden/{example_id}/bewerken"))
    form.submit("indienen", status=303)
    review = editor.get(f"/redactie/voorbeelden/{example_id}")
    assert "en omstreken" in review.text
    decide = review.forms[next(k for k, f in review.forms.items() if f.action.endswith("/besluit"))]
    decide.submit("action", value="publish", status=303)
    assert "Samen sterk in Zwolle en omstreken" in visitor.get(f"/voorbeelden/{slug}")

    # 9. History lists every revision and transition; restoring revision with the old title makes a copy again.
    history = editor.get(f"/redactie/voorbeelden/{example_id}/geschiedenis")
    numbers = sorted({int(n) for n in re.findall(r"/revisies/(\d+)", history.text)})
    assert len(numbers) >= 4
    for label in ("Ingediend", "Teruggestuurd", "Gepubliceerd", "Rik"):
        assert label in history
    # The revision whose diff adds the contributor's fix still has the old title.
    old = next(n for n in numbers
               if "daalde met 30 procent</ins>"
               in editor.get(f"/redactie/voorbeelden/{example_id}/revisies/{n}"))
    revision_page = editor.get(f"/redactie/voorbeelden/{example_id}/revisies/{old}")
    restore = next(f for f in revision_page.forms.values() if f.action.endswith("/herstellen"))
    restore.submit(status=303)
    assert "en omstreken" in visitor.get(f"/voorbeelden/{slug}")  # still the published version
    edit = contribution_form(editor.get(f"/redactie/voorbeelden/{example_id}/bewerken"))
    assert edit["title"].value == "Samen sterk in Zwolle"
    history = editor.get(f"/redactie/voorbeelden/{example_id}/geschiedenis")
    assert f"hersteld uit revisie {old}" in history
