"""Examples loaded from content/ can be edited and republished through the web: the people the page already names
stay named without a new consent, their e-mail addresses stay hidden, and a newly added person still needs consent."""

from __future__ import annotations

from sqlalchemy import select

from portal.content.models import PracticeExample
from workflow.helpers import add_user, contribution_form, login, set_indexed, set_visibility

SLUG = "jeugdhulpverlener-in-elke-school-amstelveen"  # names two people, neither address may be shown


def _editor(site):
    add_user(site, "redactie@example.nl", "redacteur", name="Rik Redactie")
    app = site.testapp()
    login(app, "redactie@example.nl")
    return app


def _loaded(site):
    with site.session() as db:
        example = db.scalars(select(PracticeExample).where(PracticeExample.slug == SLUG)).one()
        return example.id, [(c.name, c.email) for c in example.contacts if c.public]


def test_editor_republishes_a_loaded_example_in_one_step(site):
    example_id, named = _loaded(site)
    assert named and any(email for _name, email in named)
    editor = _editor(site)
    form = contribution_form(editor.get(f"/redactie/voorbeelden/{example_id}/bewerken"))
    form["summary"] = "Elke Amstelveense basisschool heeft wekelijks een jeugdhulpverlener van de gemeente in huis."
    page = form.submit("publiceren", status=303).follow()
    assert "Opgeslagen en gepubliceerd." in page.text
    public = site.testapp().get(f"/voorbeelden/{SLUG}")
    assert "wekelijks een jeugdhulpverlener van de gemeente in huis" in public.text
    for name, email in named:
        assert name in public.text  # still named, as before
        if email:
            assert email not in public.text  # and still no address without consent


def test_a_new_person_still_needs_consent(site):
    example_id, _named = _loaded(site)
    editor = _editor(site)
    form = contribution_form(editor.get(f"/redactie/voorbeelden/{example_id}/bewerken"))
    set_indexed(form, "name", 0, "Nieuwe Naam")  # someone else in the first contact's place
    set_visibility(form, 0, "openbaar")
    page = form.submit("publiceren", status=303).follow()
    assert "opgeslagen, maar niet gepubliceerd" in page.text
    assert "toestemming" in page.text
    assert "Nieuwe Naam" not in site.testapp().get(f"/voorbeelden/{SLUG}").text
