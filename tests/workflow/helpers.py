"""Test helpers for accounts and the workflow: users made through the real services, logins through the real form."""

from __future__ import annotations

import functools
import mailbox
import re
from pathlib import Path

import webtest

from portal.accounts import services as accounts

PASSWORD = "een-lang-wachtwoord"


@functools.cache
def _password_hash(password: str) -> str:
    """One real argon2id hash per password per test process: hashing is deliberately slow (a tenth of a second of
    CPU), and users made for set-up need not each pay it. Logging in still verifies the hash for real."""
    return accounts.hash_password(password)


def add_user(site, email: str, role: str, password: str = PASSWORD, name: str | None = None) -> int:
    with site.session() as dbsession:
        user = accounts.create_user(dbsession, email, name or email.split("@")[0].capitalize(), role,
                                    _password_hash(password))
        return user.id


def login(app: webtest.TestApp, email: str, password: str = PASSWORD, status: int = 303) -> webtest.TestResponse:
    page = app.get("/inloggen")
    form = page.forms[next(k for k, f in page.forms.items() if f.action == "/inloggen")]
    form["email"], form["password"] = email, password
    return form.submit(status=status)


def csrf_token(app: webtest.TestApp) -> str:
    """The token from the CSRF cookie (set on the first page with a form)."""
    if "portal_csrf" not in app.cookies:
        app.get("/inloggen")
    return app.cookies["portal_csrf"].strip('"')


def contribution_form(page: webtest.TestResponse) -> webtest.Form:
    return page.forms["bijdrage"]


def fill_complete(form: webtest.Form, title: str = "Samen sterk in Zwolle", **extra) -> None:
    values = {
        "title": title,
        "summary": "Een school en de wijkteams werken samen zodat geen leerling thuis komt te zitten.",
        "place": "Zwolle",
        "target_group": "Leerlingen van 12 tot 18 jaar die dreigen uit te vallen",
        "background": "Te veel **thuiszitters** in de regio.",
        "approach": "Een jeugdhulpverlener werkt *elke dag* op school.\n\n- korte lijnen\n- snelle hulp",
        "results": "Minder verzuim.",
        "financing": "Gemeente en samenwerkingsverband betalen samen.",
        "financing_text": "De gemeente betaalt de jeugdhulpverlener uit Jeugdwet-middelen.",
        "lessons": "Begin klein.",
        "source_note": "https://example.nl/samen-sterk",
    }
    values.update(extra)
    for name, value in values.items():
        form[name] = value
    form.set("provincie", "overijssel") if "gemeente" not in extra else None
    select_checkbox(form, "themes", "thuiszitters")


def select_checkbox(form: webtest.Form, name: str, value: str) -> None:
    """Deform names choice checkboxes 'checkbox' inside a __start__/__end__ group; find ours by value."""
    for field in form.fields.get("checkbox", []):
        if getattr(field, "_value", None) == value:
            field.checked = True
            return
    raise AssertionError(f"no checkbox {name}={value}")


def set_visibility(form: webtest.Form, index: int, value: str) -> None:
    """The n-th contact's public/private radio group (Deform names radio groups by their widget id)."""
    radios = []
    for name, field in form.field_order:
        if type(field).__name__ == "Radio" and name not in radios:
            radios.append(name)
    form[radios[index]] = value


def set_indexed(form: webtest.Form, name: str, index: int, value) -> None:
    form.set(name, value, index=index)


def messages(site) -> list:
    box = mailbox.Maildir(Path(site.settings["portal.maildir"]), create=False)
    return list(box.values())


def mail_to(site, address: str) -> list:
    return [m for m in messages(site) if address in (m["To"] or "")]


def item_id(response) -> int:
    match = re.search(r"/bijdragen/(\d+)", response.location or response.request.url)
    assert match, response.location
    return int(match.group(1))


def mail_text(message) -> str:
    if message.is_multipart():
        return "\n".join(mail_text(part) for part in message.get_payload())
    return message.get_payload(decode=True).decode(message.get_content_charset() or "utf-8")
