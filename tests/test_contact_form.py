"""The "Neem contact op" form of a practice example (issue 10): a visitor writes to a contact person whose address
stays hidden; the message goes by mail to that address (or to the editors), with a copy to the sender; nothing is
stored. Real app, real database, real maildir."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from workflow.helpers import mail_text, messages

from portal.content.models import PracticeExample, Status

EDITORS = "kennisportaal@localhost"  # mail.default_sender in the test settings
SENDER = "vraag@school.example.nl"


def _examples(site) -> tuple[dict, dict]:
    """(an example with several contacts, the second with an address; an example with a contact without one)."""
    with site.session() as db:
        examples = list(db.scalars(select(PracticeExample).where(PracticeExample.status == Status.PUBLISHED)
                                   .order_by(PracticeExample.slug)))
        several = next(e for e in examples if len(e.public_contacts) > 1 and e.public_contacts[1].email)
        without = next(e for e in examples if e.public_contacts and not e.public_contacts[0].email)
        return ({"slug": several.slug, "title": several.title, "count": len(several.public_contacts),
                 "name": several.public_contacts[1].name, "email": several.public_contacts[1].email,
                 "others": [c.email for n, c in enumerate(several.public_contacts) if n != 1 and c.email]},
                {"slug": without.slug, "name": without.public_contacts[0].name,
                 "count": len(without.public_contacts)})


def _form(app, slug: str):
    page = app.get(f"/voorbeelden/{slug}/contact")
    return next(f for f in page.forms.values() if f.action == f"/voorbeelden/{slug}/contact")


def _fill(form, name="Petra de Vries", email=SENDER, message="Hoe hebben jullie de financiering geregeld?",
          contact=None, **extra):
    form["name"], form["email"], form["message"] = name, email, message
    if contact is not None:
        form["contact"].force_value(contact)  # also values the radio group does not offer
    for key, value in extra.items():
        form[key] = value
    return form


def test_example_page_links_to_the_form_and_the_form_says_what_is_kept(site):
    several, _without = _examples(site)
    app = site.testapp()
    page = app.get(f"/voorbeelden/{several['slug']}")
    assert f'href="/voorbeelden/{several["slug"]}/contact"' in page.text and "Neem contact op" in page.text
    form_page = app.get(f"/voorbeelden/{several['slug']}/contact")
    html = form_page.text
    assert "<h1>Neem contact op over" in html
    assert "Wat we bewaren" in html and 'href="/privacy"' in html
    assert 'class="hp-field" aria-hidden="true"' in html and 'name="website" type="text" tabindex="-1"' in html
    assert 'name="csrf_token"' in html
    assert several["email"] not in html  # the stored address never reaches the visitor
    for n in range(1, several["count"] + 1):
        assert f'id="f-contact-{n}"' in html and f'<label for="f-contact-{n}">' in html


def test_message_goes_to_the_chosen_contact_with_reply_to_and_a_copy_to_the_sender(site):
    several, _without = _examples(site)
    app = site.testapp()
    response = _fill(_form(app, several["slug"]), contact="2").submit(status=303)
    assert response.location == f"http://localhost/voorbeelden/{several['slug']}/contact?verzonden=1"
    done = response.follow()
    assert done.status_int == 200 and "uw bericht is verstuurd" in done.text
    sent = messages(site)
    assert len(sent) == 2
    to_contact = next(m for m in sent if m["To"] == several["email"])
    assert to_contact["Reply-To"] == SENDER
    body = mail_text(to_contact)
    assert f"Beste {several['name']}" in body and "Hoe hebben jullie de financiering geregeld?" in body
    assert "Petra de Vries" in body and SENDER in body
    copy = next(m for m in sent if m["To"] == SENDER)
    copy_text = mail_text(copy)
    assert "Hoe hebben jullie de financiering geregeld?" in copy_text and several["name"] in copy_text
    assert several["email"] not in copy_text and several["email"] not in str(copy)  # the copy hides the address
    for other in several["others"]:
        assert all(other not in (m["To"] or "") for m in sent)  # only the chosen contact


def test_without_a_usable_address_the_editors_get_the_message(site):
    _several, without = _examples(site)
    app = site.testapp()
    choice = "1" if without["count"] > 1 else None
    _fill(_form(app, without["slug"]), contact=choice).submit(status=303)
    sent = messages(site)
    assert sorted(m["To"] for m in sent) == sorted([EDITORS, SENDER])
    to_editors = next(m for m in sent if m["To"] == EDITORS)
    assert to_editors["Reply-To"] == SENDER and without["name"] in mail_text(to_editors)
    assert "redactie" in mail_text(next(m for m in sent if m["To"] == SENDER))


def test_honeypot_gets_the_same_answer_and_nothing_is_sent(site):
    several, _without = _examples(site)
    app = site.testapp()
    response = _fill(_form(app, several["slug"]), contact="2", website="http://spam.example").submit(status=303)
    assert response.location.endswith("/contact?verzonden=1")
    assert "uw bericht is verstuurd" in response.follow().text
    assert messages(site) == []


def test_rate_limit_answers_429_in_dutch_and_keeps_the_text(site_factory):
    site = site_factory(**{"portal.form_limit": "2"})
    several, _without = _examples(site)
    app = site.testapp()
    for _ in range(2):
        _fill(_form(app, several["slug"]), contact="2").submit(status=303)
    limited = _fill(_form(app, several["slug"]), contact="2", message="Mijn derde vraag").submit(status=429)
    assert "te vaak verstuurd" in limited.text and "Mijn derde vraag" in limited.text
    assert int(limited.headers["Retry-After"]) > 0
    assert 'value="2" checked' in limited.text
    assert len(messages(site)) == 4  # two messages and two copies; the third sent nothing


@pytest.mark.parametrize(("field", "value", "error"), [
    ("name", "", "Vul uw naam in."),
    ("email", "", "Vul uw e-mailadres in."),
    ("message", "   ", "Vul uw bericht in."),
    ("email", "geen-adres", "Dit is geen geldig e-mailadres"),
    ("name", "x" * 201, "Te lang: maximaal 200 tekens."),
    ("message", "x" * 5001, "Te lang: maximaal 5000 tekens."),
    # header injection: a line break would start a new mail header (Bcc: ...)
    ("name", "Piet\r\nBcc: slachtoffer@example.org", "geen regeleinden"),
    ("email", "a@school.nl\nBcc: slachtoffer@example.org", "geen regeleinden"),
    ("email", "a@school.nl\r\nReply-To: x@example.org", "geen regeleinden"),
])
def test_bad_input_is_a_400_with_the_message_at_the_field_and_a_summary(site, field, value, error):
    several, _without = _examples(site)
    app = site.testapp()
    form = _fill(_form(app, several["slug"]), contact="2", message="Mijn getypte vraag")
    form[field] = value
    response = form.submit(status=400)
    html = response.text
    assert 'aria-labelledby="error-summary-title"' in html and f'href="#f-{field}"' in html
    assert f'id="error-{field}"' in html and error in html
    if field != "message":
        assert "Mijn getypte vraag" in html
    assert messages(site) == []


@pytest.mark.parametrize("choice", ["0", "99", "-1", "abc", "1.5"])
def test_contact_choice_out_of_range_is_a_400(site, choice):
    several, _without = _examples(site)
    app = site.testapp()
    response = _fill(_form(app, several["slug"]), contact=choice).submit(status=400)
    assert "Kies een van de genoemde contactpersonen." in response.text
    assert messages(site) == []


def test_several_contacts_need_a_choice(site):
    several, _without = _examples(site)
    app = site.testapp()
    response = _fill(_form(app, several["slug"])).submit(status=400)
    assert "Kies aan wie uw bericht is." in response.text and 'href="#f-contact-1"' in response.text
    assert messages(site) == []


def test_unknown_example_is_a_404(site):
    several, _without = _examples(site)
    app = site.testapp()
    app.get("/voorbeelden/bestaat-niet/contact", status=404)
    token = _form(app, several["slug"])["csrf_token"].value
    app.post("/voorbeelden/bestaat-niet/contact", {"csrf_token": token, "name": "A", "email": SENDER,
                                                    "message": "Hallo"}, status=404)
    assert messages(site) == []


def test_post_without_csrf_token_is_refused(site):
    several, _without = _examples(site)
    app = site.testapp()
    app.get(f"/voorbeelden/{several['slug']}/contact")
    response = app.post(f"/voorbeelden/{several['slug']}/contact",
                        {"name": "A", "email": SENDER, "message": "Hallo", "contact": "2"}, status="*")
    assert response.status_int == 400
    assert messages(site) == []
