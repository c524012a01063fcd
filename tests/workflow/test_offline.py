"""Taking a published item offline (required reason, recorded, reversible) and publishing one's own change in one
step, through the real app; the concurrent case (take offline while a colleague saves an edit) with two really
overlapping transactions on both databases."""

from __future__ import annotations

from conftest import CONTENT_DIR
from sqlalchemy import func, select

from portal.accounts.models import User
from portal.content.loader import load_content
from portal.content.models import PracticeExample, Status
from portal.workflow import services as wf
from portal.workflow.models import ExampleWorkflow, Transition
from workflow.helpers import add_user, contribution_form, csrf_token, login, mail_to
from workflow.test_concurrency import COMPLETE, overlapping
from workflow.test_story import search_finds


def published_item(site) -> tuple[int, str, str]:
    with site.session() as db:
        example = db.scalar(select(PracticeExample).where(PracticeExample.status == Status.PUBLISHED)
                            .order_by(PracticeExample.slug).limit(1))
        return example.id, example.slug, example.title


def web_published_item(site, editor_email: str) -> tuple[int, str]:
    """A complete item written and published through the workflow (items from content/ name contacts whose
    consent the web form would ask for again)."""
    with site.session() as db:
        editor = db.scalar(select(User).where(User.email == editor_email))
        state, _ = wf.create_contribution(db, editor, {**COMPLETE, "title": "Eerder gepubliceerd"}, "p" * 20)
        wf.transition(db, state, editor, "submit", state.version)
        wf.transition(db, state, editor, "publish", state.version)
        return state.example.id, state.example.slug


def _form(page, action_end: str):
    return next(f for f in page.forms.values() if f.action.endswith(action_end))


def _steps(site, example_id: int) -> list[tuple[str, str, str, str]]:
    with site.session() as db:
        rows = db.scalars(select(Transition).where(Transition.example_id == example_id).order_by(Transition.id))
        return [(t.from_status, t.to_status, t.actor.email if t.actor else "", t.reason) for t in rows]


def _editor(site, email="redactie@example.nl", role="redacteur"):
    add_user(site, email, role, name="Rik Redactie")
    app = site.testapp()
    login(app, email)
    return app


def test_take_offline_with_reason_and_back_online(site):
    example_id, slug, title = published_item(site)
    editor = _editor(site)
    visitor = site.testapp()
    query = " ".join(title.split()[:3])
    assert search_finds(site, visitor, query, slug) in (True, None)

    # Without a reason: refused with a Dutch message at the field, nothing changed.
    review = editor.get(f"/redactie/voorbeelden/{example_id}")
    form = _form(review, "/offline")
    refused = form.submit(status=400)
    assert "Geef een reden op" in refused.text and "Reden is verplicht." in refused.text
    assert _steps(site, example_id) == []
    visitor.get(f"/voorbeelden/{slug}", status=200)

    # With a reason: gone from the page, the API and search; recorded with who, when and why.
    form = _form(refused, "/offline")
    form["reason"] = "De school vroeg het voorbeeld tijdelijk weg te halen."
    page = form.submit(status=303).follow()
    assert "offline gehaald" in page.text and "De school vroeg het voorbeeld" in page.text
    visitor.get(f"/voorbeelden/{slug}", status=404)
    visitor.get(f"/api/voorbeelden/{slug}", status=404)
    assert slug not in visitor.get("/sitemap.xml").text
    found = search_finds(site, visitor, query, slug)
    assert found in (False, None)
    assert _steps(site, example_id) == [(Status.PUBLISHED, Status.OFFLINE, "redactie@example.nl",
                                         "De school vroeg het voorbeeld tijdelijk weg te halen.")]
    history = editor.get(f"/redactie/voorbeelden/{example_id}/geschiedenis")
    assert "Offline gehaald" in history and "De school vroeg het voorbeeld" in history and "Rik Redactie" in history

    # A second click (or a colleague at the same moment) changes nothing.
    token = csrf_token(editor)
    again = editor.post(f"/redactie/voorbeelden/{example_id}/offline", {"csrf_token": token, "reason": "nog eens"},
                        status=303).follow()
    assert "al offline" in again.text
    assert len(_steps(site, example_id)) == 1

    # Reloading content/ does not put it back online.
    with site.session() as db:
        load_content(db, CONTENT_DIR)
    with site.session() as db:
        assert db.get(PracticeExample, example_id).status == Status.OFFLINE

    # Back online: public again, recorded too.
    form = _form(editor.get(f"/redactie/voorbeelden/{example_id}"), "/online")
    form["reason"] = "Afgestemd met de school."
    form.submit(status=303)
    visitor.get(f"/voorbeelden/{slug}", status=200)
    assert search_finds(site, visitor, query, slug) in (True, None)
    assert _steps(site, example_id)[-1] == (Status.OFFLINE, Status.PUBLISHED, "redactie@example.nl",
                                            "Afgestemd met de school.")
    # Putting an item online that is online already is a no-op, not an error.
    done = editor.post(f"/redactie/voorbeelden/{example_id}/online", {"csrf_token": token}, status=303).follow()
    assert "stond al online" in done.text and len(_steps(site, example_id)) == 2


def test_only_published_items_go_offline_and_owner_is_told(site):
    add_user(site, "c@example.nl", "bijdrager")
    contributor = site.testapp()
    login(contributor, "c@example.nl")
    form = contribution_form(contributor.get("/bijdragen"))
    form["title"] = "Nog een concept"
    draft_id = int(form.submit("opslaan", status=303).location.rsplit("/", 1)[1])
    editor = _editor(site)
    token = csrf_token(editor)
    refused = editor.post(f"/redactie/voorbeelden/{draft_id}/offline", {"csrf_token": token, "reason": "x"},
                          status=409)
    assert "Alleen een gepubliceerd voorbeeld" in refused.text
    too_long = editor.post(f"/redactie/voorbeelden/{published_item(site)[0]}/offline",
                           {"csrf_token": token, "reason": "x" * 5001}, status=400)
    assert "te lang" in too_long.text
    # A contributor cannot take anything offline, not even their own item.
    contributor.post(f"/redactie/voorbeelden/{draft_id}/offline",
                     {"csrf_token": csrf_token(contributor), "reason": "weg"}, status=403)
    with site.session() as db:
        assert db.get(PracticeExample, draft_id).status == Status.DRAFT
        # Publish it as if reviewed, then take it offline: the owner gets the reason by mail.
        db.get(PracticeExample, draft_id).status = Status.PUBLISHED
    editor.post(f"/redactie/voorbeelden/{draft_id}/offline", {"csrf_token": token, "reason": "Klacht ontvangen."},
                status=303)
    assert any("Offline gehaald" in m["Subject"] for m in mail_to(site, "c@example.nl"))


def test_editor_publishes_own_change_in_one_step(site):
    editor = _editor(site)
    example_id, slug = web_published_item(site, "redactie@example.nl")
    form = contribution_form(editor.get(f"/redactie/voorbeelden/{example_id}/bewerken"))
    assert "publiceren" in form.fields  # the button "Opslaan en publiceren"
    form["summary"] = "Een nieuwe samenvatting, in één stap gepubliceerd."
    response = form.submit("publiceren", status=303)
    assert response.location.endswith(f"/redactie/voorbeelden/{example_id}")
    assert "Opgeslagen en gepubliceerd." in response.follow()
    assert "in één stap gepubliceerd" in site.testapp().get(f"/voorbeelden/{slug}")
    with site.session() as db:
        workflow = db.get(ExampleWorkflow, example_id)
        assert workflow.copy_status is None and workflow.copy_data is None
        steps = list(db.scalars(select(Transition).where(Transition.example_id == example_id)))
        # After the first publication: one step from the draft copy to published, no submit and review.
        assert [(t.from_status, t.to_status, t.on_copy) for t in steps][2:] == [(Status.DRAFT, Status.PUBLISHED,
                                                                                 True)]
    # Nothing changed: nothing to publish, said plainly.
    form = contribution_form(editor.get(f"/redactie/voorbeelden/{example_id}/bewerken"))
    assert "Er was niets gewijzigd" in form.submit("publiceren", status=303).follow()
    # Incomplete text is saved but not published; the public keeps the published text.
    form = contribution_form(editor.get(f"/redactie/voorbeelden/{example_id}/bewerken"))
    form["results"] = ""
    page = form.submit("publiceren", status=303).follow()
    assert "opgeslagen, maar niet gepubliceerd" in page.text
    assert "in één stap gepubliceerd" in site.testapp().get(f"/voorbeelden/{slug}")
    with site.session() as db:
        assert db.get(ExampleWorkflow, example_id).copy_status == Status.DRAFT


def test_one_step_publish_leaves_a_contributors_unsubmitted_draft_alone(site):
    add_user(site, "c@example.nl", "bijdrager")
    contributor = site.testapp()
    login(contributor, "c@example.nl")
    form = contribution_form(contributor.get("/bijdragen"))
    form["title"] = "Concept van een bijdrager"
    draft_id = int(form.submit("opslaan", status=303).location.rsplit("/", 1)[1])
    editor = _editor(site)
    form = contribution_form(editor.get(f"/redactie/voorbeelden/{draft_id}/bewerken"))
    form["summary"] = "Door de redactie aangevuld."
    page = form.submit("publiceren", status=303).follow()
    assert "nog niet is ingediend" in page.text
    with site.session() as db:
        assert db.get(PracticeExample, draft_id).status == Status.DRAFT
        assert db.scalar(select(func.count(Transition.id)).where(Transition.example_id == draft_id)) == 0


def test_take_offline_while_a_colleague_saves_an_edit(site):
    """Two overlapping transactions: one takes the item offline, the other saves an edit of its working copy.
    Taking offline always lands (it acts on the public text and needs no version); the edit either lands too (it
    came first) or, having read the version from before the item went offline, gets the Dutch conflict answer with
    its text kept in the form. Never a 500, never a lost write."""
    example_id, slug, _title = published_item(site)
    first = _editor(site, "een@example.nl")
    second = _editor(site, "twee@example.nl")
    offline = _form(first.get(f"/redactie/voorbeelden/{example_id}"), "/offline")
    offline["reason"] = "Tijdelijk offline."
    edit = contribution_form(second.get(f"/redactie/voorbeelden/{example_id}/bewerken"))
    edit["summary"] = "Tegelijk bewerkt."

    took, saved = overlapping(site, "practice_examples", example_id,
                              lambda: offline.submit(status="*"), lambda: edit.submit("opslaan", status="*"))
    assert took.status_int == 303
    with site.session() as db:
        example = db.get(PracticeExample, example_id)
        workflow = db.get(ExampleWorkflow, example_id)
        assert example.status == Status.OFFLINE
        assert example.summary != "Tegelijk bewerkt."  # the published text is never edited in place
        assert db.scalar(select(func.count(Transition.id)).where(Transition.example_id == example_id,
                                                                 Transition.to_status == Status.OFFLINE)) == 1
        if saved.status_int == 303:  # the edit came first: it is the working copy
            assert workflow.copy_status == Status.DRAFT and workflow.copy_data["summary"] == "Tegelijk bewerkt."
        else:
            assert saved.status_int == 409 and "Iemand anders heeft dit voorbeeld intussen opgeslagen" in saved.text
            assert contribution_form(saved)["summary"].value == "Tegelijk bewerkt."
            assert workflow.copy_status is None
    site.testapp().get(f"/voorbeelden/{slug}", status=404)
