"""Password self-service (issue 9): changing one's own password, and "wachtwoord vergeten" with a signed,
single-use link that is valid for an hour; both end the user's other sessions. Real app, real database, real
maildir."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import func, select
from workflow.helpers import PASSWORD, add_user, csrf_token, login, mail_text, mail_to, messages

from portal.accounts import sessions
from portal.accounts.models import User, UserSession
from portal.content.models import utcnow

NEW_PASSWORD = "een-heel-nieuw-wachtwoord"


def form_for(page, action):
    return page.forms[next(k for k, f in page.forms.items() if f.action == action)]


def change_password(app, current, new, repeat=None, status=303):
    form = form_for(app.get("/account/wachtwoord"), "/account/wachtwoord")
    form["current_password"], form["password"], form["password_repeat"] = current, new, repeat or new
    return form.submit(status=status)


def ask_reset(app, email, status=200):
    form = form_for(app.get("/wachtwoord-vergeten"), "/wachtwoord-vergeten")
    form["email"] = email
    return form.submit(status=status)


def reset_link(site, email) -> str:
    (message,) = mail_to(site, email)
    match = re.search(r"http://localhost(/wachtwoord-herstellen/\S+)", mail_text(message))
    assert match, mail_text(message)
    return match.group(1)


def test_change_password_ends_the_other_sessions_and_keeps_this_one(site):
    add_user(site, "w@example.nl", "bijdrager")
    here, laptop = site.testapp(), site.testapp()
    login(here, "w@example.nl")
    login(laptop, "w@example.nl")
    page = change_password(here, PASSWORD, NEW_PASSWORD).follow()
    assert "Uw wachtwoord is gewijzigd" in page.text
    here.get("/mijn-bijdragen", status=200)
    laptop.get("/mijn-bijdragen", status=303)
    with site.session() as db:
        assert db.scalar(select(func.count(UserSession.id))) == 1
    login(site.testapp(), "w@example.nl", PASSWORD, status=400)
    login(site.testapp(), "w@example.nl", NEW_PASSWORD)


def test_change_password_refusals_are_dutch_and_tied_to_the_field(site):
    add_user(site, "w@example.nl", "bijdrager")
    app = site.testapp()
    login(app, "w@example.nl")
    wrong = change_password(app, "niet-mijn-wachtwoord", NEW_PASSWORD, status=400)
    assert "Dit is niet uw huidige wachtwoord." in wrong.text
    assert 'id="error-current_password"' in wrong.text and 'aria-describedby="error-current_password"' in wrong.text
    short = change_password(app, PASSWORD, "kort", status=400)
    assert "minstens 10 tekens" in short.text and 'aria-invalid="true"' in short.text
    different = change_password(app, PASSWORD, NEW_PASSWORD, "iets-heel-anders-123", status=400)
    assert "De wachtwoorden zijn niet gelijk." in different.text
    app.get("/mijn-bijdragen", status=200)  # nothing changed, still logged in
    login(site.testapp(), "w@example.nl", PASSWORD)


def test_change_password_needs_a_login_and_a_csrf_token(site):
    anonymous = site.testapp()
    assert "/inloggen" in anonymous.get("/account/wachtwoord", status=303).location
    add_user(site, "w@example.nl", "bijdrager")
    app = site.testapp()
    login(app, "w@example.nl")
    app.post("/account/wachtwoord", {"current_password": PASSWORD, "password": NEW_PASSWORD,
                                     "password_repeat": NEW_PASSWORD}, status=400)
    login(site.testapp(), "w@example.nl", PASSWORD)


def test_forgotten_password_story_end_to_end(site):
    add_user(site, "vergeetachtig@example.nl", "bijdrager", name="Vera")
    other_browser = site.testapp()
    login(other_browser, "vergeetachtig@example.nl")
    app = site.testapp()
    login_page = app.get("/inloggen")
    assert 'href="/wachtwoord-vergeten"' in login_page.text
    done = ask_reset(app, "Vergeetachtig@example.nl ")
    assert "Als dit e-mailadres bij een actief account hoort" in done.text
    link = reset_link(site, "vergeetachtig@example.nl")
    (message,) = mail_to(site, "vergeetachtig@example.nl")
    assert message["Subject"] == "Nieuw wachtwoord instellen" and "één uur geldig" in mail_text(message)

    form = form_for(app.get(link), link)
    form["password"], form["password_repeat"] = NEW_PASSWORD, "niet-hetzelfde-wachtwoord"
    assert "De wachtwoorden zijn niet gelijk." in form.submit(status=400).text
    form = form_for(app.get(link), link)
    form["password"], form["password_repeat"] = NEW_PASSWORD, NEW_PASSWORD
    response = form.submit(status=303)
    assert "Uw nieuwe wachtwoord is ingesteld" in response.follow().text
    app.get("/mijn-bijdragen", status=200)  # logged in with a fresh session
    other_browser.get("/mijn-bijdragen", status=303)  # every other session ended

    login(site.testapp(), "vergeetachtig@example.nl", PASSWORD, status=400)
    login(site.testapp(), "vergeetachtig@example.nl", NEW_PASSWORD)

    again = site.testapp().get(link, status=400)
    assert "al gebruikt of niet meer geldig" in again.text and "<form" not in again.text.split("<main")[-1]
    token = csrf_token(app)
    used = app.post(link, {"csrf_token": token, "password": "nog-een-wachtwoord-1",
                           "password_repeat": "nog-een-wachtwoord-1"}, status=400)
    assert "al gebruikt of niet meer geldig" in used.text
    login(site.testapp(), "vergeetachtig@example.nl", NEW_PASSWORD)


def test_expired_and_forged_links_are_refused(site):
    user_id = add_user(site, "laat@example.nl", "bijdrager")
    secret = site.settings["portal.secret"]
    with site.session() as db:
        user = db.get(User, user_id)
        expired = sessions.make_reset_token(secret, user, expires_at=utcnow() - dt.timedelta(minutes=1))
        fresh = sessions.make_reset_token(secret, user)
        foreign = sessions.make_reset_token("een-ander-geheim-van-elders", user)
    app = site.testapp()
    page = app.get(f"/wachtwoord-herstellen/{expired}", status=400)
    assert "is verlopen: een link is één uur geldig" in page.text and 'href="/wachtwoord-vergeten"' in page.text
    assert "al gebruikt" in app.get(f"/wachtwoord-herstellen/{foreign}", status=400).text
    user_part, expires, mac = fresh.split(".")
    longer = f"{user_part}.{int(expires) + 86400}.{mac}"  # a stretched expiry breaks the signature
    assert "al gebruikt" in app.get(f"/wachtwoord-herstellen/{longer}", status=400).text
    assert "niet geldig" in app.get("/wachtwoord-herstellen/onzin", status=400).text
    app.get(f"/wachtwoord-herstellen/{fresh}", status=200)
    login(site.testapp(), "laat@example.nl", PASSWORD)


def test_forgot_answers_the_same_whether_or_not_the_address_exists(site):
    add_user(site, "bekend@example.nl", "bijdrager")
    disabled = add_user(site, "uit@example.nl", "bijdrager")
    with site.session() as db:
        db.get(User, disabled).active = False
    answers = [ask_reset(site.testapp(), email) for email in
               ("bekend@example.nl", "onbekend@example.nl", "uit@example.nl")]
    main = [a.text.split("<main")[-1].split("</main>")[0].replace(a.request.POST.get("csrf_token", ""), "")
            for a in answers]
    assert all(a.status_int == 200 for a in answers) and main[0] == main[1] == main[2]
    assert len(mail_to(site, "bekend@example.nl")) == 1
    assert len(messages(site)) == 1  # nothing for unknown or disabled accounts
    assert "Vul een geldig e-mailadres in." in ask_reset(site.testapp(), "geen-adres", status=400).text


def test_forgot_is_throttled_per_address_without_revealing_it(site):
    add_user(site, "veel@example.nl", "bijdrager")
    for _ in range(5):
        answer = ask_reset(site.testapp(), "veel@example.nl")
        assert "Als dit e-mailadres bij een actief account hoort" in answer.text
    assert len(mail_to(site, "veel@example.nl")) == 3


def test_password_pages_are_accessible_and_without_scripts(site):
    add_user(site, "w@example.nl", "bijdrager")
    app = site.testapp()
    pages = [app.get("/wachtwoord-vergeten")]
    login(app, "w@example.nl")
    pages.append(app.get("/account/wachtwoord"))
    with site.session() as db:
        token = sessions.make_reset_token(site.settings["portal.secret"], db.get(User, 1) or db.scalar(select(User)))
    pages.append(site.testapp().get(f"/wachtwoord-herstellen/{token}"))
    for page in pages:
        text = page.text
        assert text.count("<h1") == 1 and '<html lang="nl">' in text
        assert "<script" not in text and "<style" not in text
        for input_id in re.findall(r'<input id="(f-[^"]+)"', text):
            assert f'<label for="{input_id}"' in text
        assert "bewaren" in text  # says what happens with what people type
