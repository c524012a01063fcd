"""Throttling slows attackers and spares everyone else: failed logins count per (account, address) pair and, very
loosely, per address; never per account alone. Public forms allow a school behind one address plenty of posts.

Addresses are simulated with REMOTE_ADDR per client; time passing is simulated by moving throttle rows back in the
real database."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from workflow.helpers import PASSWORD, add_user, login

from portal.accounts import services as accounts
from portal.accounts.models import AccountRequest, ThrottleEvent
from portal.content.models import utcnow
from portal.workflow.models import CaseTip

A, B, C = "192.0.2.10", "198.51.100.20", "203.0.113.30"
WRONG = "geraden-wachtwoord"


def client(site, address):
    return site.testapp(REMOTE_ADDR=address)


def age_all_rows(site, delta: dt.timedelta) -> None:
    """Let time pass for the throttle: every row becomes ``delta`` older."""
    with site.session() as db:
        for row in db.scalars(select(ThrottleEvent)):
            row.created_at -= delta


def rows(site) -> int:
    with site.session() as db:
        return db.scalar(select(func.count(ThrottleEvent.id)))


def test_failures_from_a_shared_address_never_refuse_a_colleague(site):
    """(a) Many failures from A against X: Y still logs in from A with the right password."""
    add_user(site, "x@school.nl", "bijdrager")
    add_user(site, "y@school.nl", "bijdrager")
    attacker, colleague = client(site, A), client(site, A)
    for _ in range(accounts.LOGIN_PAIR_FREE):
        login(attacker, "x@school.nl", WRONG, status=400)
    login(attacker, "x@school.nl", WRONG, status=429)
    for number in range(10):  # and failures against other names from A, too
        login(attacker, f"onbekend{number}@school.nl", WRONG, status=400)
    login(colleague, "y@school.nl", PASSWORD, status=303)


def test_guessing_at_an_account_elsewhere_never_locks_its_owner_out(site):
    """(b) Six and more wrong guesses against X from B: X logs in from C."""
    add_user(site, "x@gemeente.nl", "bijdrager")
    attacker = client(site, B)
    for _ in range(accounts.LOGIN_PAIR_FREE):
        login(attacker, "x@gemeente.nl", WRONG, status=400)
    for _ in range(3):
        login(attacker, "x@gemeente.nl", WRONG, status=429)
    login(client(site, C), "x@gemeente.nl", PASSWORD, status=303)
    # The pair (X, B) stays slowed: even the right password from B waits.
    login(attacker, "x@gemeente.nl", PASSWORD, status=429)


def test_the_pair_is_slowed_with_a_growing_wait_and_a_success_clears_it(site):
    """(c) After its limit the pair gets a Dutch 429 with Retry-After; the wait doubles; success clears it."""
    add_user(site, "x@school.nl", "bijdrager")
    app = client(site, B)
    for _ in range(accounts.LOGIN_PAIR_FREE):
        login(app, "x@school.nl", WRONG, status=400)
    blocked = login(app, "x@school.nl", PASSWORD, status=429)
    assert 1 <= int(blocked.headers["Retry-After"]) <= 30
    assert "Te veel mislukte pogingen voor dit account vanaf uw netwerk" in blocked.text
    assert "Probeer het over 1 minuut opnieuw" in blocked.text
    count = rows(site)
    login(app, "x@school.nl", WRONG, status=429)
    assert rows(site) == count  # refused attempts are not even checked, so they do not count

    age_all_rows(site, dt.timedelta(seconds=31))  # the first wait is over: one more try
    login(app, "x@school.nl", WRONG, status=400)
    longer = login(app, "x@school.nl", PASSWORD, status=429)
    assert 30 < int(longer.headers["Retry-After"]) <= 60  # doubled

    age_all_rows(site, dt.timedelta(seconds=61))
    login(app, "x@school.nl", PASSWORD, status=303)  # the right password after the wait
    app = client(site, B)
    for _ in range(accounts.LOGIN_PAIR_FREE - 1):  # the success cleared the pair: five free tries again
        login(app, "x@school.nl", WRONG, status=400)
    login(app, "x@school.nl", PASSWORD, status=303)


def test_the_wait_is_capped(site):
    add_user(site, "x@school.nl", "bijdrager")
    with site.session() as db:  # many failures of this pair within the window
        for _ in range(accounts.LOGIN_PAIR_FREE + 15):
            db.add(ThrottleEvent(kind="login", key=accounts._key(accounts._pair("x@school.nl", B))))
    blocked = login(client(site, B), "x@school.nl", PASSWORD, status=429)
    assert 800 < int(blocked.headers["Retry-After"]) <= accounts.LOGIN_PAIR_MAX_WAIT.total_seconds()
    assert "over 15 minuten" in blocked.text


def test_old_rows_are_pruned_on_the_next_write(site):
    """(d) Rows older than a day are deleted when a new one is written; recent ones stay."""
    add_user(site, "x@school.nl", "bijdrager")
    app = client(site, B)
    for _ in range(3):
        login(app, "x@school.nl", WRONG, status=400)
    age_all_rows(site, dt.timedelta(days=1, minutes=1))
    with site.session() as db:
        db.add(ThrottleEvent(kind="aanmelding", key="0" * 64, created_at=utcnow() - dt.timedelta(hours=23)))
    assert rows(site) == 7  # three failures, each a pair row and an address row, plus the recent one
    login(app, "x@school.nl", WRONG, status=400)
    assert rows(site) == 3  # the two new rows and the recent one


def test_loose_address_limit_slows_unknown_accounts_but_never_a_clean_correct_login(site_factory):
    """(e) Rule: once an address has ``portal.login_address_limit`` failures in an hour, every e-mail address that
    already failed from there is refused at once (429), and a wrong password is answered 429; but a correct password
    of an account without failures from that address is accepted."""
    site = site_factory(**{"portal.login_address_limit": "8"})
    add_user(site, "z@school.nl", "bijdrager")
    add_user(site, "w@school.nl", "bijdrager")
    attacker = client(site, A)
    login(attacker, "w@school.nl", WRONG, status=400)
    for number in range(7):  # below the limit nothing is refused (one address, many names)
        login(attacker, f"onbekend{number}@school.nl", WRONG, status=400)
    refused = login(attacker, "onbekend0@school.nl", WRONG, status=429)  # a name that already failed here
    assert "Vanaf uw netwerk zijn te veel mislukte inlogpogingen gedaan" in refused.text
    assert int(refused.headers["Retry-After"]) > 3000  # until the oldest failure is an hour old
    wrong = login(attacker, "nieuw@school.nl", WRONG, status=429)  # a new name: checked, but slowed
    assert "Retry-After" in wrong.headers
    login(attacker, "nieuw@school.nl", WRONG, status=429)  # and now it failed here: refused at once
    # A correct password of an account without failures from A is never refused ...
    login(client(site, A), "z@school.nl", PASSWORD, status=303)
    # ... one that failed from A waits, but logs in from anywhere else.
    login(client(site, A), "w@school.nl", PASSWORD, status=429)
    login(client(site, C), "w@school.nl", PASSWORD, status=303)
    # Other addresses are not affected at all.
    login(client(site, B), "onbekend0@school.nl", WRONG, status=400)
    # When the failures are an hour old, the address is free again.
    age_all_rows(site, dt.timedelta(hours=1, seconds=1))
    login(attacker, "onbekend0@school.nl", WRONG, status=400)


def test_default_address_limit_is_loose(site):
    """A school's worth of typos (dozens of failures from one address, in many names) refuses nobody."""
    app = client(site, A)
    for number in range(40):
        login(app, f"leerling{number}@school.nl", WRONG, status=400)
    assert accounts.LOGIN_ADDRESS_LIMIT >= 100


def _tip(app, **values):
    page = app.get("/voorbeeld-aanmelden")
    form = next(f for f in page.forms.values() if f.action == "/voorbeeld-aanmelden")
    form["name"], form["email"], form["description"] = "Tipgever", "tip@example.nl", "Kijk in Ede."
    for key, value in values.items():
        form[key] = value
    return form.submit(status="*")


def test_tip_form_allows_a_school_and_keeps_the_text_when_limited(site_factory):
    site = site_factory(**{"portal.form_limit": "3"})
    school = client(site, A)
    assert all(_tip(school).status_int == 200 for _ in range(3))
    limited = _tip(school, description="Mijn zorgvuldig getypte beschrijving")
    assert limited.status_int == 429
    assert 3000 < int(limited.headers["Retry-After"]) <= 3600
    assert "vanaf uw netwerk te vaak verstuurd" in limited.text and "over 60 minuten" in limited.text
    assert "Mijn zorgvuldig getypte beschrijving" in limited.text  # nothing typed is lost
    assert _tip(client(site, B)).status_int == 200  # another address is not affected
    with site.session() as db:
        assert db.scalar(select(func.count(CaseTip.id))) == 4


def test_form_limit_default_is_generous(site):
    school = client(site, A)
    assert accounts.FORM_LIMIT >= 20
    assert all(_tip(school).status_int == 200 for _ in range(accounts.FORM_LIMIT))
    assert _tip(school).status_int == 429


def test_account_request_form_is_limited_per_address_with_retry_after(site_factory):
    site = site_factory(**{"portal.form_limit": "2"})

    def ask(app, number):
        page = app.get("/account/aanvragen")
        form = next(f for f in page.forms.values() if f.action == "/account/aanvragen")
        form["name"], form["email"], form["organisation"] = f"Docent {number}", f"d{number}@school.nl", "OBS De Es"
        form["password"] = form["password_repeat"] = "een-heel-lang-wachtwoord"
        return form.submit(status="*")

    school = client(site, A)
    assert [ask(school, n).status_int for n in range(2)] == [200, 200]
    limited = ask(school, 3)
    assert limited.status_int == 429 and "Retry-After" in limited.headers
    assert "te vaak verstuurd" in limited.text and "Docent 3" in limited.text and "OBS De Es" in limited.text
    assert ask(client(site, B), 4).status_int == 200
    with site.session() as db:
        assert db.scalar(select(func.count(AccountRequest.id))) == 3
