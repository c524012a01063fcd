"""The "Neem contact op" form of a practice example (issue 10).

Visitors write to a contact person without ever seeing an address that person did not agree to publish: the message
goes by e-mail to the contact's stored address (or to the editors when there is no usable one), with Reply-To set to
the visitor, and a copy goes to the visitor. Nothing of the message is stored; only the form's rate limit counts a
hash of the client address, as for every public form.
"""

from __future__ import annotations

from pyramid.csrf import get_csrf_token
from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.view import view_config

from portal.accounts import services as accounts
from portal.content import catalog
from portal.content.files import EMAIL_RE
from portal.content.models import Contact, PracticeExample
from portal.inputs import clean_text, oneline_error
from portal.mail import editors_address, send_mail
from portal.security import Permissions
from portal.views.account import client_address, set_retry_after, throttle_rules
from portal.views.helpers import crumbs

TEMPLATE = "portal:templates/contact.jinja2"
#: Field limits (characters).
LIMITS = {"name": 200, "email": 254, "message": 5000}
#: The throttle kind: the same per-address form limit as the other public forms, counted separately.
RATE_KIND = "contact"
HONEYPOT = "website"
FIELD_LABELS = {"name": "Uw naam", "email": "Uw e-mailadres", "contact": "Aan wie is uw bericht?",
                "message": "Uw bericht"}


def _example(request) -> PracticeExample:
    example = catalog.get_published_example(request.dbsession, request.matchdict["slug"])
    if example is None:
        raise HTTPNotFound("Dit praktijkvoorbeeld bestaat niet of is niet (meer) gepubliceerd.")
    return example


def usable_address(contact: Contact | None) -> str:
    """The contact's stored address when a message can go there, else ""."""
    email = (contact.email or "").strip() if contact is not None else ""
    return email if email and EMAIL_RE.match(email) and not oneline_error(email) else ""


def _page(request, example: PracticeExample, values: dict, errors: dict, status: int = 200, done: bool = False):
    request.response.status_int = status
    return {
        "example": example, "contacts": example.public_contacts, "values": values, "errors": errors,
        "labels": FIELD_LABELS, "done": done, "csrf_token": get_csrf_token(request),
        "breadcrumbs": crumbs(request, ("Praktijkvoorbeelden", request.route_url("voorbeelden")),
                              (example.title, request.route_url("voorbeeld", slug=example.slug)),
                              ("Neem contact op", None)),
    }


@view_config(route_name="voorbeeld_contact", request_method="GET", renderer=TEMPLATE, permission=Permissions.VIEW)
def contact_form(request):
    example = _example(request)
    return _page(request, example, {}, {}, done=request.GET.get("verzonden") == "1")


def _validate(values: dict, contacts: list[Contact]) -> dict[str, str]:
    errors = {k: error for k in ("name", "email") if (error := oneline_error(values[k]))}
    for field, maximum in LIMITS.items():
        if field not in errors and len(values[field]) > maximum:
            errors[field] = f"Te lang: maximaal {maximum} tekens."
    for field, label in (("name", "uw naam"), ("email", "uw e-mailadres"), ("message", "uw bericht")):
        if not values[field].strip():
            errors[field] = f"Vul {label} in."
    if values["email"] and "email" not in errors and not EMAIL_RE.match(values["email"]):
        errors["email"] = "Dit is geen geldig e-mailadres (bijvoorbeeld naam@school.nl)."
    choice = values["contact"]
    if len(contacts) > 1 and not choice:
        errors["contact"] = "Kies aan wie uw bericht is."
    elif choice and not (choice.isdigit() and 1 <= int(choice) <= len(contacts)):
        errors["contact"] = "Kies een van de genoemde contactpersonen."
    return errors


def _chosen(values: dict, contacts: list[Contact]) -> Contact | None:
    if values["contact"]:
        return contacts[int(values["contact"]) - 1]
    return contacts[0] if len(contacts) == 1 else None


@view_config(route_name="voorbeeld_contact", request_method="POST", renderer=TEMPLATE, permission=Permissions.VIEW)
def contact_submit(request):
    example = _example(request)
    done = HTTPSeeOther(request.route_url("voorbeeld_contact", slug=example.slug, _query={"verzonden": "1"}))
    if (request.POST.get(HONEYPOT) or "").strip():
        return done  # a bot: the same answer as for a person, and nothing is sent
    contacts = example.public_contacts
    values = {k: (request.POST.get(k) or "").strip() for k in ("name", "email", "contact")}
    values["message"] = clean_text(request.POST.get("message") or "").strip()
    errors = _validate(values, contacts)
    if errors:
        return _page(request, example, values, errors, status=400)
    try:
        accounts.check_rate(request.dbsession, RATE_KIND, client_address(request),
                            throttle_rules(request).form_limit, accounts.FORM_WINDOW)
    except accounts.TooManyAttempts as exc:
        set_retry_after(request, exc)
        return _page(request, example, values, {"form": exc.message}, status=429)
    _deliver(request, example, _chosen(values, contacts), values)
    return done


def _deliver(request, example: PracticeExample, contact: Contact | None, values: dict) -> None:
    page = request.route_url("voorbeeld", slug=example.slug)
    editors = editors_address(request.registry.settings)
    address = usable_address(contact)
    subject = f"Bericht via het Kennisportaal over {example.title}"
    quoted = (f"Van: {values['name']} <{values['email']}>\n"
              f"Over: {example.title}\n{page}\n\n{values['message']}\n")
    if address:
        body = (f"Beste {contact.name},\n\n"
                f"Via het Kennisportaal Onderwijs & Jeugd stuurt {values['name']} u een bericht over het "
                f"praktijkvoorbeeld '{example.title}', waarbij u als contactpersoon staat genoemd. Uw e-mailadres "
                f"staat niet op de website; u kunt dit bericht gewoon beantwoorden.\n\n{quoted}\n"
                f"Bent u niet (meer) de juiste persoon, of wilt u geen berichten meer via het portaal krijgen? "
                f"Laat het de redactie weten: {editors}.")
        send_mail(request, [address], subject, body, reply_to=values["email"])
        forwarded = f"naar {contact.name}"
    else:
        meant_for = f"{contact.name} (geen bruikbaar e-mailadres bekend)" if contact is not None else (
            "de contactpersoon van dit voorbeeld (er staat niemand bij)")
        body = (f"Beste redactie,\n\nVia het contactformulier bij '{example.title}' kwam een bericht binnen voor "
                f"{meant_for}. Stuur het zo mogelijk door of beantwoord het zelf; antwoorden gaan naar de "
                f"afzender.\n\n{quoted}")
        send_mail(request, [editors], subject, body, reply_to=values["email"])
        forwarded = "naar de redactie van het portaal, die het zo mogelijk doorstuurt"
    copy = (f"Beste {values['name']},\n\nU stuurde via het Kennisportaal Onderwijs & Jeugd het bericht hieronder "
            f"over '{example.title}'. Het is doorgestuurd {forwarded}. Een antwoord komt rechtstreeks naar dit "
            f"e-mailadres. Het portaal zelf bewaart uw bericht niet.\n\n{quoted}")
    send_mail(request, [values["email"]], f"Kopie van uw bericht over {example.title}", copy, reply_to=editors)
