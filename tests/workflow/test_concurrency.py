"""Simultaneous writes with real overlapping transactions: the second writer gets a Dutch answer, never a 500.

Each test holds, from a separate connection, the lock that the requests need (on PostgreSQL the item's row lock,
on SQLite the database write lock), starts two requests in two threads, waits until both are blocked, and then lets
go. So both requests have read the same version before either writes, as when two people press at the same moment.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time

from sqlalchemy import create_engine, func, make_url, select, text

from portal.accounts.models import User
from portal.content.models import PracticeExample, Status
from portal.workflow import services as wf
from portal.workflow.models import ExampleWorkflow, Revision, Transition
from workflow.helpers import add_user, contribution_form, fill_complete, item_id, login, mail_to

CONFLICT = "Iemand anders heeft dit voorbeeld intussen opgeslagen"
COMPLETE = {
    "title": "Gelijktijdig werk", "summary": "Kort.", "place": "Ede", "provincie": "gelderland",
    "target_group": "Kinderen", "themes": ["thuiszitters"], "financing": "Gemeente.", "background": "a",
    "approach": "b", "results": "c", "financing_text": "d", "lessons": "e", "source_note": "https://example.nl",
}


class HeldLock:
    """Another transaction that holds what the requests need, until ``release_when_waiting``.

    PostgreSQL: ``SELECT ... FOR UPDATE`` on one row; we release once the requests are seen waiting for a lock in
    pg_stat_activity. SQLite: ``BEGIN IMMEDIATE`` (its one write lock); the requests' own BEGIN IMMEDIATE waits in
    the busy handler, which cannot be observed, so we give them a moment.
    """

    def __init__(self, site, table: str, row_id: int):
        self.url = make_url(site.db_url)
        self.table, self.row_id = table, row_id

    @property
    def postgresql(self) -> bool:
        return self.url.get_backend_name() == "postgresql"

    def __enter__(self):
        if self.postgresql:
            self.engine = create_engine(self.url, future=True)
            self.conn = self.engine.connect()
            self.conn.begin()
            locked = self.conn.execute(text(f"SELECT id FROM {self.table} WHERE id = :id FOR UPDATE"),  # noqa: S608
                                       {"id": self.row_id}).all()
            assert locked, f"no row {self.table} {self.row_id}"
        else:
            self.engine = None
            self.conn = sqlite3.connect(self.url.database, isolation_level=None, timeout=10)
            self.conn.execute("BEGIN IMMEDIATE")
        return self

    def release_when_waiting(self, count: int = 2, timeout: float = 4.0) -> int:
        """Wait until ``count`` other transactions wait for a lock (PostgreSQL), then release; returns the count."""
        waiting = 0
        if self.engine is not None:
            deadline = time.monotonic() + timeout
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as watcher:
                while time.monotonic() < deadline:
                    waiting = watcher.scalar(text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND wait_event_type = 'Lock'"))
                    if waiting >= count:
                        break
                    time.sleep(0.02)
        else:
            time.sleep(0.5)
        self._release()
        return waiting

    def _release(self):
        if self.conn is not None:
            self.conn.rollback()
            self.conn.close()
            self.conn = None
        if self.engine is not None:
            self.engine.dispose()
            self.engine = None

    def __exit__(self, *exc):
        self._release()


def together(*calls):
    """Run ``calls`` in parallel threads; returns a function that joins them and gives results (or exceptions)."""
    results: list = [None] * len(calls)

    def run(index, call):
        try:
            results[index] = call()
        except BaseException as exc:  # reported by the test's assertions
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i, c), daemon=True) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()

    def join():
        for thread in threads:
            thread.join(timeout=30)
        assert not any(t.is_alive() for t in threads), "a request did not finish"
        return results

    return join


def overlapping(site, table: str, row_id: int, *calls):
    with HeldLock(site, table, row_id) as lock:
        join = together(*calls)
        waiting = lock.release_when_waiting(len(calls))
    results = join()
    if lock.postgresql:  # the requests really overlapped: all were waiting for the lock at the same time
        assert waiting == len(calls), waiting
    for result in results:
        assert not isinstance(result, BaseException), f"request failed: {result!r}"
        assert result.status_int < 500, result.text[:2000]
        assert "Internal Server Error" not in result.text
    return results


def _app(site, email: str, role: str | None = None):
    if role is not None and not _count(site, select(func.count(User.id)).where(User.email == email)):
        add_user(site, email, role)
    app = site.testapp()
    login(app, email)
    return app


def _count(site, statement) -> int:
    with site.session() as db:
        return db.scalar(statement)


def _assert_one_saved_one_refused(responses, texts):
    statuses = [r.status_int for r in responses]
    assert sorted(statuses) == [303, 409], statuses
    loser = statuses.index(409)
    refused = responses[loser]
    assert CONFLICT in refused.text
    # The loser's typed text is still in the form, ready to compare and save again.
    assert contribution_form(refused)["summary"].value == texts[loser]
    return texts[1 - loser]


def _content_item(site) -> int:
    with site.session() as db:
        example_id = db.scalar(select(PracticeExample.id).where(PracticeExample.status == Status.PUBLISHED)
                               .order_by(PracticeExample.id).limit(1))
        assert db.get(ExampleWorkflow, example_id) is None
    return example_id


def _two_editors_save(site, example_id: int, attempt: int = 1):
    """Two editors open the same item, type a different summary and press "opslaan" at the same moment."""
    first = _app(site, "r1@example.nl", "redacteur")
    second = _app(site, "r2@example.nl", "redacteur")
    forms = [contribution_form(app.get(f"/redactie/voorbeelden/{example_id}/bewerken")) for app in (first, second)]
    texts = [f"Samenvatting {attempt} van redacteur één.", f"Samenvatting {attempt} van redacteur twee."]
    for form, summary in zip(forms, texts, strict=True):
        form["summary"] = summary
    responses = overlapping(site, "practice_examples", example_id,
                            *(lambda f=f: f.submit("opslaan", expect_errors=True) for f in forms))
    return responses, texts


def test_two_first_edits_of_a_content_item_at_once(site):
    """An item from content/ has no workflow row yet: both first edits would create it."""
    example_id = _content_item(site)
    responses, texts = _two_editors_save(site, example_id)
    winner_text = _assert_one_saved_one_refused(responses, texts)
    with site.session() as db:
        workflow = db.get(ExampleWorkflow, example_id)
        assert workflow.copy_data["summary"] == winner_text
        assert workflow.version == 2
        # The baseline from content/ plus the one save that won.
        assert db.scalar(select(func.count(Revision.id)).where(Revision.example_id == example_id)) == 2


def test_owner_and_editor_save_the_same_draft_at_once(site):
    owner = _app(site, "c@example.nl", "bijdrager")
    editor = _app(site, "r@example.nl", "redacteur")
    form = contribution_form(owner.get("/bijdragen"))
    fill_complete(form, title="Samen aan één concept")
    example_id = item_id(form.submit("opslaan", status=303))
    version = _count(site, select(ExampleWorkflow.version).where(ExampleWorkflow.example_id == example_id))
    forms = [contribution_form(owner.get(f"/bijdragen/{example_id}")),
             contribution_form(editor.get(f"/redactie/voorbeelden/{example_id}/bewerken"))]
    texts = ["De indiener schrijft dit.", "De redacteur schrijft dat."]
    for form, summary in zip(forms, texts, strict=True):
        form["summary"] = summary
    responses = overlapping(site, "practice_examples", example_id,
                            *(lambda f=f: f.submit("opslaan", expect_errors=True) for f in forms))
    winner_text = _assert_one_saved_one_refused(responses, texts)
    with site.session() as db:
        assert db.get(PracticeExample, example_id).summary == winner_text
        assert db.get(ExampleWorkflow, example_id).version == version + 1
        assert db.scalar(select(func.count(Revision.id)).where(Revision.example_id == example_id)) == 2


def _flash_after(app, response) -> str:
    return response.follow().text


def test_double_click_on_submit_applies_once(site):
    add_user(site, "redactie@example.nl", "redacteur")
    add_user(site, "c@example.nl", "bijdrager")
    first, second = _app(site, "c@example.nl"), _app(site, "c@example.nl")
    form = contribution_form(first.get("/bijdragen"))
    fill_complete(form, title="Twee keer tegelijk ingediend")
    example_id = item_id(form.submit("opslaan", status=303))
    version = _count(site, select(ExampleWorkflow.version).where(ExampleWorkflow.example_id == example_id))
    forms = [contribution_form(app.get(f"/bijdragen/{example_id}")) for app in (first, second)]
    responses = overlapping(site, "practice_examples", example_id,
                            *(lambda f=f: f.submit("indienen", expect_errors=True) for f in forms))
    assert [r.status_int for r in responses] == [303, 303]
    pages = [r.follow().text for r in responses]
    assert sum("Ingediend. De redactie bekijkt uw bijdrage" in p for p in pages) == 1
    assert sum("Dit voorbeeld was al ingediend" in p for p in pages) == 1
    with site.session() as db:
        assert db.scalar(select(func.count(Transition.id)).where(Transition.example_id == example_id)) == 1
        assert db.scalar(select(func.count(Revision.id)).where(Revision.example_id == example_id)) == 1
        assert db.get(ExampleWorkflow, example_id).version == version + 1
        assert db.get(PracticeExample, example_id).status == Status.SUBMITTED
    assert len(mail_to(site, "redactie@example.nl")) == 1


def test_double_click_on_publish_applies_once(site):
    add_user(site, "red@example.nl", "redacteur")
    owner_id = add_user(site, "c@example.nl", "bijdrager")
    with site.session() as db:
        state, _ = wf.create_contribution(db, db.get(User, owner_id), COMPLETE, "dubbel-publiceren-123456")
        wf.transition(db, state, state.workflow.owner, "submit", state.version)
        example_id, version = state.example.id, state.version
    first, second = _app(site, "red@example.nl"), _app(site, "red@example.nl")
    forms = []
    for app in (first, second):
        page = app.get(f"/redactie/voorbeelden/{example_id}")
        forms.append(next(f for f in page.forms.values() if f.action.endswith("/besluit")))
    responses = overlapping(site, "practice_examples", example_id,
                            *(lambda f=f: f.submit("action", value="publish", expect_errors=True) for f in forms))
    assert [r.status_int for r in responses] == [303, 303]
    pages = [r.follow().text for r in responses]
    assert sum("Gepubliceerd." in p for p in pages) == 1
    assert sum("Dit voorbeeld was al gepubliceerd" in p for p in pages) == 1
    with site.session() as db:
        assert db.scalar(select(func.count(Transition.id)).where(Transition.example_id == example_id,
                                                                 Transition.to_status == Status.PUBLISHED)) == 1
        assert db.get(ExampleWorkflow, example_id).version == version + 1
        assert db.get(PracticeExample, example_id).status == Status.PUBLISHED
    assert len(mail_to(site, "c@example.nl")) == 1


# --- the safety net: the same races without the row lock (portal.row_locks = false) ----------------------------------
# On PostgreSQL the loser now fails at flush: StaleDataError (version check) or IntegrityError (the workflow row of a
# content item inserted twice). pyramid_retry runs it again, and the new attempt reads the winner's work. On SQLite
# nothing changes (its writers never overlap); the answers are the same.


def _retried(caplog) -> list[str]:
    return [r.getMessage().rsplit(": ", 1)[-1] for r in caplog.records if "opnieuw geprobeerd" in r.getMessage()]


def test_without_row_lock_a_lost_race_is_retried_into_the_normal_conflict(site_factory, caplog):
    caplog.set_level(logging.INFO, logger="portal.views.errors")
    site = site_factory(**{"portal.row_locks": "false"})
    postgresql = make_url(site.db_url).get_backend_name() == "postgresql"
    content_id = _content_item(site)  # IntegrityError on the second insert of its workflow row
    responses, texts = _two_editors_save(site, content_id)
    winner_text = _assert_one_saved_one_refused(responses, texts)
    with site.session() as db:
        assert db.get(ExampleWorkflow, content_id).copy_data["summary"] == winner_text
        assert db.scalar(select(func.count(Revision.id)).where(Revision.example_id == content_id)) == 2
    assert _retried(caplog) == (["IntegrityError"] if postgresql else [])
    caplog.clear()
    # Now it has a workflow row: StaleDataError on the version check.
    responses, texts = _two_editors_save(site, content_id, attempt=2)
    winner_text = _assert_one_saved_one_refused(responses, texts)
    with site.session() as db:
        workflow = db.get(ExampleWorkflow, content_id)
        assert workflow.copy_data["summary"] == winner_text and workflow.version == 3
        assert db.scalar(select(func.count(Revision.id)).where(Revision.example_id == content_id)) == 3
    assert _retried(caplog) == (["StaleDataError"] if postgresql else [])


def test_when_retries_run_out_the_answer_is_a_dutch_409_with_the_typed_text(site_factory):
    site = site_factory(**{"portal.row_locks": "false", "retry.attempts": "1"})
    content_id = _content_item(site)
    _two_editors_save(site, content_id)  # gives the item its workflow row
    responses, texts = _two_editors_save(site, content_id, attempt=2)
    statuses = [r.status_int for r in responses]
    assert sorted(statuses) == [303, 409], statuses
    refused = responses[statuses.index(409)]
    assert "niet opgeslagen" in refused.text and "Internal Server Error" not in refused.text
    assert texts[statuses.index(409)] in refused.text  # the typed text is given back, not lost
    if make_url(site.db_url).get_backend_name() == "postgresql":  # the safety net's page, not the form's conflict
        assert "Tegelijk gewijzigd" in refused.text and "Wat u verstuurde" in refused.text
    with site.session() as db:
        assert db.get(ExampleWorkflow, content_id).copy_data["summary"] == texts[statuses.index(303)]
