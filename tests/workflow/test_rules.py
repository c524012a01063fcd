"""Workflow rules: every illegal transition, double submits, concurrent edits, validation that keeps the text,
re-login after an expired session, the public tip form, exports and the portal-user command."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from portal.accounts import services as accounts
from portal.accounts.models import User, UserSession
from portal.content.files import read_content
from portal.content.models import PracticeExample, Status, utcnow
from portal.workflow import services as wf
from portal.workflow.models import CaseTip, ExampleWorkflow, Revision, Transition
from portal.workflow.snapshot import snapshot_from_example
from workflow.helpers import (
    PASSWORD,
    add_user,
    contribution_form,
    csrf_token,
    fill_complete,
    item_id,
    login,
)

COMPLETE = {
    "title": "Compleet voorbeeld", "summary": "Kort.", "place": "Ede", "provincie": "gelderland",
    "target_group": "Kinderen", "themes": ["thuiszitters"], "financing": "Gemeente.", "background": "a",
    "approach": "b", "results": "c", "financing_text": "d", "lessons": "e", "source_note": "https://example.nl",
}


def _users(db):
    owner = User(email="o@example.nl", name="Owner", role="bijdrager", password_hash="x")
    editor = User(email="e@example.nl", name="Editor", role="redacteur", password_hash="x")
    db.add_all([owner, editor])
    db.flush()
    return owner, editor


def _in_state(db, owner, editor, status: str, copy: bool = False) -> wf.ItemState:
    """Reach ``status`` through legal steps only."""
    state, _ = wf.create_contribution(db, owner, COMPLETE, f"token-{status}-{copy}-xxxxxxxx")
    if status == Status.DRAFT and not copy:
        return state
    wf.transition(db, state, owner, "submit", state.version)
    if status == Status.SUBMITTED and not copy:
        return state
    if status in (Status.RETURNED, Status.REJECTED, Status.PUBLISHED) and not copy:
        action = {"returned": "return", "afgewezen": "reject", "gepubliceerd": "publish"}
        wf.transition(db, state, editor, {Status.RETURNED: "return", Status.REJECTED: "reject",
                                          Status.PUBLISHED: "publish"}[status], state.version, reason="r")
        del action
        return state
    # A working copy of a published item in ``status``.
    wf.transition(db, state, editor, "publish", state.version)
    wf.save(db, state, editor, {**state.data(), "title": "Gewijzigd"}, state.version)
    if status == Status.DRAFT:
        return state
    wf.transition(db, state, editor, "submit", state.version)
    if status == Status.RETURNED:
        wf.transition(db, state, editor, "return", state.version, reason="r")
    return state


STATES = [(Status.DRAFT, False), (Status.SUBMITTED, False), (Status.RETURNED, False), (Status.REJECTED, False),
          (Status.PUBLISHED, False), (Status.DRAFT, True), (Status.SUBMITTED, True), (Status.RETURNED, True)]


@pytest.mark.parametrize(("status", "copy"), STATES)
def test_every_transition_is_legal_or_refused_without_change(site, status, copy):
    with site.session() as db:
        owner, editor = _users(db)
        for action in wf.TRANSITIONS.values():
            state = _in_state(db, owner, editor, status, copy)
            assert state.status == status and state.has_copy == copy
            legal = status in action.sources
            before = (state.example.status, state.workflow.copy_status, state.workflow.version,
                      db.scalar(select(func.count(Transition.id))))
            if legal:
                assert wf.transition(db, state, editor, action.name, state.version, reason="waarom")
                assert state.status != status or copy
            else:
                with pytest.raises(wf.IllegalTransition):
                    wf.transition(db, state, editor, action.name, state.version, reason="waarom")
                after = (state.example.status, state.workflow.copy_status, state.workflow.version,
                         db.scalar(select(func.count(Transition.id))))
                assert after == before
            state.example.slug = f"gebruikt-{status}-{copy}-{action.name}"  # free the slug for the next round
            state.workflow.creation_token = None
            db.flush()


def test_contributor_cannot_take_editor_steps(site):
    with site.session() as db:
        owner, editor = _users(db)
        state = _in_state(db, owner, editor, Status.SUBMITTED)
        for action in ("publish", "return", "reject"):
            with pytest.raises(wf.IllegalTransition):
                wf.transition(db, state, owner, action, state.version, reason="x")
        with pytest.raises(wf.IllegalTransition):
            wf.transition(db, state, editor, "delete-everything", state.version)


def test_transitions_record_who_when_why(site):
    with site.session() as db:
        owner, editor = _users(db)
        state = _in_state(db, owner, editor, Status.REJECTED)
        rows = wf.transitions(db, state.example.id)
        assert [(t.from_status, t.to_status) for t in reversed(rows)] == [
            (Status.DRAFT, Status.SUBMITTED), (Status.SUBMITTED, Status.REJECTED)]
        assert rows[0].actor_id == editor.id and rows[0].reason == "r" and rows[0].created_at is not None


def test_reject_needs_reason_and_return_needs_remarks(site):
    with site.session() as db:
        owner, editor = _users(db)
        state = _in_state(db, owner, editor, Status.SUBMITTED)
        with pytest.raises(wf.Incomplete):
            wf.transition(db, state, editor, "reject", state.version)
        with pytest.raises(wf.Incomplete):
            wf.transition(db, state, editor, "return", state.version)
        assert state.status == Status.SUBMITTED


def _contributor(site, email="c@example.nl"):
    add_user(site, email, "bijdrager")
    app = site.testapp()
    login(app, email)
    return app


def test_double_click_on_new_item_stores_it_once(site):
    app = _contributor(site)
    form = contribution_form(app.get("/bijdragen"))
    form["title"] = "Dubbel geklikt"
    first = form.submit("opslaan", status=303)
    second = form.submit("opslaan", status=303)
    assert item_id(first) == item_id(second)
    with site.session() as db:
        assert db.scalar(select(func.count()).where(PracticeExample.title == "Dubbel geklikt")) == 1


def test_double_click_on_submit_submits_once(site):
    app = _contributor(site)
    form = contribution_form(app.get("/bijdragen"))
    fill_complete(form, title="Twee keer indienen")
    example_id = item_id(form.submit("opslaan", status=303))
    form = contribution_form(app.get(f"/bijdragen/{example_id}"))
    form.submit("indienen", status=303)
    form.submit("indienen", status=303)  # the same form again: already submitted, no second step
    with site.session() as db:
        assert db.scalar(select(func.count(Transition.id)).where(Transition.example_id == example_id)) == 1
        # The second form carried the text already stored: no new revision either.
        assert db.scalar(select(func.count(Revision.id)).where(Revision.example_id == example_id)) == 1


def test_concurrent_edit_refuses_second_save_and_keeps_its_text(site):
    add_user(site, "r1@example.nl", "redacteur")
    add_user(site, "r2@example.nl", "redacteur")
    first, second = site.testapp(), site.testapp()
    login(first, "r1@example.nl")
    login(second, "r2@example.nl")
    with site.session() as db:
        example_id = db.scalar(select(PracticeExample.id).where(PracticeExample.status == Status.PUBLISHED))
    form_a = contribution_form(first.get(f"/redactie/voorbeelden/{example_id}/bewerken"))
    form_b = contribution_form(second.get(f"/redactie/voorbeelden/{example_id}/bewerken"))
    form_a["summary"] = "Versie van redacteur één."
    form_a.submit("opslaan", status=303)
    form_b["summary"] = "Versie van redacteur twee."
    refused = form_b.submit("opslaan", status=409)
    assert "Iemand anders heeft dit voorbeeld intussen opgeslagen" in refused
    assert contribution_form(refused)["summary"].value == "Versie van redacteur twee."
    with site.session() as db:
        assert db.get(ExampleWorkflow, example_id).copy_data["summary"] == "Versie van redacteur één."


def test_validation_errors_are_dutch_next_to_the_field_and_keep_everything(site):
    app = _contributor(site)
    form = contribution_form(app.get("/bijdragen"))
    form["title"] = ""
    form["approach"] = "Mijn lange tekst over de aanpak."
    form.set("email", "geen-adres", index=0)
    form.set("name", "Iemand", index=0)
    response = form.submit("opslaan", status=400)
    assert "Dit veld is verplicht." in response and "Dit is geen geldig e-mailadres." in response
    again = contribution_form(response)
    assert again["approach"].value == "Mijn lange tekst over de aanpak."
    assert again.get("email", index=0).value == "geen-adres"


def test_submit_of_incomplete_draft_saves_it_and_shows_what_is_missing(site):
    app = _contributor(site)
    form = contribution_form(app.get("/bijdragen"))
    form["title"] = "Half af"
    form["approach"] = "Alleen de aanpak."
    response = form.submit("indienen", status=400)
    assert "opgeslagen als concept, maar nog niet ingediend" in response
    assert "Vul &#39;Resultaten&#39; in" in response.text or "Vul 'Resultaten' in" in response.text
    assert contribution_form(response)["approach"].value == "Alleen de aanpak."
    with site.session() as db:
        example = db.scalar(select(PracticeExample).where(PracticeExample.title == "Half af"))
        assert example.status == Status.DRAFT


def test_public_contact_needs_consent(site):
    app = _contributor(site)
    form = contribution_form(app.get("/bijdragen"))
    fill_complete(form, title="Zonder toestemming")
    from workflow.helpers import set_visibility

    form.set("name", "Zonder Toestemming", index=0)
    set_visibility(form, 0, "openbaar")
    response = form.submit("indienen", status=400)
    assert "toestemming" in response.text


def test_tampered_hidden_fields_and_unknown_values_are_4xx(site):
    app = _contributor(site)
    page = app.get("/bijdragen")
    form = contribution_form(page)
    form["title"] = "Gemanipuleerd"
    form["version"] = "abc"
    form.submit("opslaan", status=400)
    form["version"], form["token"] = "0", "kort"
    form.submit("opslaan", status=400)
    form = contribution_form(app.get("/bijdragen"))
    form["title"] = "Onbekende gemeente"
    form["gemeente"] = "atlantis"
    assert "Geen gemeente of woonplaats gevonden met de naam" in form.submit("opslaan", status=400)
    form = contribution_form(app.get("/bijdragen"))
    form["title"] = "x" * 301
    assert "Te lang" in form.submit("opslaan", status=400)
    with site.session() as db:
        assert db.scalar(select(func.count(ExampleWorkflow.example_id))) == 0


def test_contributor_cannot_edit_after_submitting_or_touch_others(site):
    app = _contributor(site)
    form = contribution_form(app.get("/bijdragen"))
    fill_complete(form, title="Ingediend stuk")
    form.submit("indienen", status=303)
    with site.session() as db:
        example_id = db.scalar(select(PracticeExample.id).where(PracticeExample.title == "Ingediend stuk"))
    page = app.get(f"/bijdragen/{example_id}")
    assert "ligt bij de redactie" in page and "bijdrage" not in page.forms
    other = _contributor(site, "ander@example.nl")
    other.get(f"/bijdragen/{example_id}", status=403)
    other.post(f"/bijdragen/{example_id}", {"csrf_token": csrf_token(other), "version": "1"}, status=403)


def test_expired_session_keeps_typed_text_through_relogin(site):
    app = _contributor(site)
    form = contribution_form(app.get("/bijdragen"))
    form["title"] = "Getypt voor de sessie verliep"
    form["approach"] = "Veel werk dat niet verloren mag gaan."
    with site.session() as db:  # the session expires: idle for longer than portal.session_idle_minutes
        db.execute(update(UserSession).values(last_seen_at=utcnow() - dt.timedelta(days=1)))
    login_page = form.submit("opslaan", status=403)
    assert "Uw sessie is verlopen" in login_page
    relogin = login_page.forms[next(k for k, f in login_page.forms.items() if f.action == "/inloggen")]
    relogin["email"], relogin["password"] = "c@example.nl", PASSWORD
    back = relogin.submit(status=303)
    assert "/bijdragen?herstel=" in back.location
    restored = back.follow()
    assert "Welkom terug" in restored
    form = contribution_form(restored)
    assert form["approach"].value == "Veel werk dat niet verloren mag gaan."
    saved = form.submit("opslaan", status=303)
    with site.session() as db:
        assert db.get(PracticeExample, item_id(saved)).approach == "Veel werk dat niet verloren mag gaan."


def test_more_rows_button_adds_empty_tips_and_contacts_without_saving(site):
    app = _contributor(site)
    form = contribution_form(app.get("/bijdragen"))
    form["title"] = "Meer rijen"
    before = len(form.fields["tip"])
    response = form.submit("meer", status=200)
    assert len(contribution_form(response).fields["tip"]) == before + 3
    with site.session() as db:
        assert db.scalar(select(func.count()).where(PracticeExample.title == "Meer rijen")) == 0


def test_tip_form_lands_in_queue_with_honeypot_and_rate_limit(site):
    visitor = site.testapp()

    def send(**extra):
        page = visitor.get("/voorbeeld-aanmelden")
        form = next(f for f in page.forms.values() if f.action == "/voorbeeld-aanmelden")
        form["name"], form["email"], form["description"] = "Tipgever", "tip@example.nl", "Kijk in Ede."
        for key, value in extra.items():
            form[key] = value
        return form.submit(status="*")

    assert send(website="http://spam.example").status_int == 200  # the bot is told "thanks"...
    with site.session() as db:
        assert db.scalar(select(func.count(CaseTip.id))) == 0  # ...and nothing is stored
    assert all(send().status_int == 200 for _ in range(accounts.FORM_LIMIT))
    limited = send()
    assert limited.status_int == 429 and "te vaak" in limited.text
    with site.session() as db:
        assert db.scalar(select(func.count(CaseTip.id))) == accounts.FORM_LIMIT
    add_user(site, "red@example.nl", "redacteur")
    editor = site.testapp()
    login(editor, "red@example.nl")
    assert "Tipgever" in editor.get("/redactie")


def test_export_writes_loadable_content_without_private_contacts(site, tmp_path):
    with site.session() as db:
        owner, editor = _users(db)
        data = {**COMPLETE, "title": "Export met geheim", "tips": ["Een tip."], "contacts": [
            {"name": "Open Persoon", "email": "open@example.nl", "public": True, "consent": True},
            {"name": "Geheim Persoon", "email": "geheim@example.nl", "public": False, "consent": True}]}
        wf.create_contribution(db, owner, data, "export-token-123456")
    from portal.scripts.export import main as export_main

    ini = tmp_path / "site.ini"
    ini.write_text(f"[app:main]\nuse = egg:portal\nsqlalchemy.url = {site.db_url}\n", encoding="utf-8")
    with site.session() as db:
        state = wf.item_state(db, db.scalar(select(PracticeExample).where(PracticeExample.title == data["title"])))
        editor = db.scalar(select(User).where(User.email == "e@example.nl"))
        owner = db.get(User, state.workflow.owner_id)
        wf.transition(db, state, owner, "submit", state.version)
        wf.transition(db, state, editor, "publish", state.version)
        slug = state.example.slug
    assert export_main([str(ini), str(tmp_path / "export")]) == 0
    _vocabulary, items = read_content(tmp_path / "export")
    exported = next(i for i in items if i.kind == "voorbeeld" and i.slug == slug)
    text = Path(exported.path).read_text(encoding="utf-8")
    assert "Open Persoon" in text and "geheim@example.nl" not in text and "Geheim Persoon" not in text
    with site.session() as db:
        published = db.scalar(select(func.count(PracticeExample.id)).where(PracticeExample.status == Status.PUBLISHED))
        loaded = db.scalar(select(PracticeExample).where(PracticeExample.origin_path != "",
                                                         PracticeExample.status == Status.PUBLISHED))
        original = snapshot_from_example(loaded)
    assert sum(1 for i in items if i.kind == "voorbeeld") == published
    round_trip = next(i for i in items if i.slug == loaded.slug)
    assert round_trip.meta["title"] == original["title"] and round_trip.meta["tips"] == original["tips"]
    assert round_trip.sections["Aanpak"] == original["approach"]


def test_portal_user_command(site, tmp_path, capsys, monkeypatch):
    from portal.scripts.user import main as user_main

    ini = tmp_path / "site.ini"
    ini.write_text(f"[app:main]\nuse = egg:portal\nsqlalchemy.url = {site.db_url}\n", encoding="utf-8")
    assert user_main([str(ini), "add", "nieuw@example.nl", "--name", "Nieuwe Redacteur", "--role",
                      "redacteur"]) == 0
    password = capsys.readouterr().out.split("Tijdelijk wachtwoord: ")[1].strip()
    app = site.testapp()
    login(app, "nieuw@example.nl", password)
    app.get("/redactie", status=200)
    assert user_main([str(ini), "set-role", "nieuw@example.nl", "bijdrager"]) == 0
    app.get("/redactie", status=303)  # the role change ended the session: log in again
    assert user_main([str(ini), "add", "nieuw@example.nl", "--name", "Dubbel"]) == 1
    assert user_main([str(ini), "set-role", "nieuw@example.nl", "koning"]) == 1
    assert "Onbekende rol" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("nog-een-lang-wachtwoord\n"))
    assert user_main([str(ini), "reset-password", "nieuw@example.nl", "--password-stdin"]) == 0
    login(site.testapp(), "nieuw@example.nl", "nog-een-lang-wachtwoord")
    assert user_main([str(ini), "disable", "nieuw@example.nl"]) == 0
    failed = login(site.testapp(), "nieuw@example.nl", "nog-een-lang-wachtwoord", status=400)
    assert "niet bekend, of het account is niet actief" in failed
    assert user_main([str(ini), "disable", "niemand@example.nl"]) == 1


def test_restore_of_unknown_revision_is_refused(site):
    with site.session() as db:
        owner, editor = _users(db)
        state = _in_state(db, owner, editor, Status.DRAFT)
        with pytest.raises(wf.WorkflowError):
            wf.restore(db, state, editor, 99, state.version)
        with pytest.raises(wf.WorkflowError):  # identical to the current text
            wf.restore(db, state, editor, 1, state.version)





def test_simultaneous_first_saves_store_one_item(site):
    """Two requests with the same new form at the same moment (a double click that really overlaps): one item."""
    app = _contributor(site)
    form = contribution_form(app.get("/bijdragen"))
    fill_complete(form, title="Gelijktijdig opgeslagen")
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def save():
        barrier.wait()
        statuses.append(form.submit("opslaan", expect_errors=True).status_int)

    threads = [threading.Thread(target=save) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert statuses == [303, 303]
    with site.session() as db:
        assert db.scalar(select(func.count(PracticeExample.id))
                         .where(PracticeExample.title == "Gelijktijdig opgeslagen")) == 1


def test_review_page_has_one_main_heading(site):
    """The embedded preview keeps the published layout but its title becomes a sub-heading (one h1 per page)."""
    app = _contributor(site)
    form = contribution_form(app.get("/bijdragen"))
    fill_complete(form, title="Eén kop per pagina")
    example_id = item_id(form.submit("opslaan", status=303))
    add_user(site, "kop@example.nl", "redacteur")
    editor = site.testapp()
    login(editor, "kop@example.nl")
    page = editor.get(f"/redactie/voorbeelden/{example_id}")
    assert page.html.find_all("h1") and len(page.html.find_all("h1")) == 1
    assert page.html.find("h2", string="Eén kop per pagina") is not None


def test_handling_a_tip_erases_the_tipsters_details(site):
    """The privacy statement says a tipster's name, e-mail and organisation are kept until the tip is handled."""
    visitor = site.testapp()
    page = visitor.get("/voorbeeld-aanmelden")
    form = next(f for f in page.forms.values() if f.action == "/voorbeeld-aanmelden")
    form["name"], form["email"], form["description"] = "Tipgever Privé", "prive-tip@example.nl", "Kijk in Ede."
    form.submit(status=200)
    add_user(site, "red@example.nl", "redacteur")
    editor = site.testapp()
    login(editor, "red@example.nl")
    with site.session() as db:
        tip_id = db.scalar(select(CaseTip.id))
    page = editor.get(f"/redactie/aanmeldingen/{tip_id}")
    assert "prive-tip@example.nl" in page
    handled = next(f for f in page.forms.values() if f.action.endswith(f"/redactie/aanmeldingen/{tip_id}"))
    handled.submit(status=303).follow()
    with site.session() as db:
        tip = db.get(CaseTip, tip_id)
        assert tip.handled and tip.email == "" and "Privé" not in tip.name and tip.description == "Kijk in Ede."
    assert "prive-tip@example.nl" not in editor.get(f"/redactie/aanmeldingen/{tip_id}")
