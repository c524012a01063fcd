"""The editorial workflow: saving (always as a new revision), the legal transitions, working copies, restore.

States (Status): concept -> ingediend -> gepubliceerd | teruggestuurd (-> ingediend again) | afgewezen; a
published item can be taken offline (offline, with a reason) and put back online. Only the transitions in
TRANSITIONS (and take_offline/put_online/publish_directly) exist; each is recorded with who, when and why. A
published (or offline) item is never edited in place: changes go to a working copy with its own state, and
publishing the copy updates the public item. Who may review an item (editors; a regiocoördinator in their regions)
is decided in portal.security; the checks here ask it (``may_review``).

Nothing here commits: pyramid_tm (or the script's unit of work) owns the transaction.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, object_session
from transaction.interfaces import TransientError

from portal import security
from portal.accounts import coordination
from portal.accounts.models import Role, User
from portal.content.files import EMAIL_RE
from portal.content.models import PracticeExample, Region, Status, utcnow
from portal.workflow.models import CaseTip, ExampleWorkflow, Remark, Revision, Transition
from portal.workflow.snapshot import (
    FIELD_LABELS,
    SECTION_FIELDS,
    apply_snapshot,
    normalised,
    snapshot_from_example,
    unique_slug,
)

MAX_SUMMARY = 600
MAX_THEMES = 8


class WorkflowError(Exception):
    """A request the workflow refuses; ``message`` is Dutch and shown to the user, ``status`` the HTTP code."""

    status = 409

    def __init__(self, message: str, errors: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


class IllegalTransition(WorkflowError):
    status = 409


class EditConflict(WorkflowError):
    """Someone else saved in between: the form's version is stale. The caller keeps the user's text."""

    status = 409


class Incomplete(WorkflowError):
    """A contribution cannot be submitted yet; ``errors`` maps field names to Dutch messages."""

    status = 400


@dataclasses.dataclass(frozen=True)
class Action:
    name: str
    label: str
    sources: tuple[str, ...]
    target: str
    editor_only: bool
    needs_reason: bool = False


#: The only legal transitions.
TRANSITIONS: dict[str, Action] = {
    "submit": Action("submit", "Indienen", (Status.DRAFT, Status.RETURNED), Status.SUBMITTED, editor_only=False),
    "publish": Action("publish", "Publiceren", (Status.SUBMITTED,), Status.PUBLISHED, editor_only=True),
    "return": Action("return", "Terugsturen", (Status.SUBMITTED,), Status.RETURNED, editor_only=True),
    "reject": Action("reject", "Afwijzen", (Status.SUBMITTED,), Status.REJECTED, editor_only=True,
                     needs_reason=True),
}

STATUS_LABELS = {
    Status.DRAFT: "Concept",
    Status.SUBMITTED: "Ingediend",
    Status.PUBLISHED: "Gepubliceerd",
    Status.RETURNED: "Teruggestuurd",
    Status.REJECTED: "Afgewezen",
    Status.WITHDRAWN: "Ingetrokken",
    Status.OFFLINE: "Offline gehaald",
}

#: States of an item that has a published text (on the website, or taken offline): edits go to a working copy.
LIVE = (Status.PUBLISHED, Status.OFFLINE)
MAX_REASON = 5000


def may_review(user: User | None, state: ItemState) -> bool:
    """Whether ``user`` may review, decide on and take offline this item (portal.security decides)."""
    session = object_session(state.example)
    return user is not None and security.user_may(session, user, state.example, state.workflow,
                                                  security.Permissions.REVIEW)


@dataclasses.dataclass
class ItemState:
    """Where an item stands for the people working on it."""

    example: PracticeExample
    workflow: ExampleWorkflow | None
    #: Whether this transaction holds the item's write lock and has re-read it since (see lock_for_write).
    locked: bool = dataclasses.field(default=False, compare=False, repr=False)

    @property
    def has_copy(self) -> bool:
        return self.workflow is not None and self.workflow.copy_status is not None

    @property
    def status(self) -> str:
        """The workflow state that edits and transitions act on (the copy's state if there is a copy)."""
        return self.workflow.copy_status if self.has_copy else self.example.status

    @property
    def version(self) -> int:
        return self.workflow.version if self.workflow is not None else 0

    @property
    def status_label(self) -> str:
        label = STATUS_LABELS.get(self.status, self.status)
        return f"{label} (wijziging van een gepubliceerd voorbeeld)" if self.has_copy else label

    def data(self) -> dict[str, Any]:
        """The text being worked on: the working copy, else the latest revision of an unpublished item (it keeps
        what the row cannot, such as a contact marked public without consent yet), else the row itself."""
        if self.has_copy:
            return normalised(self.workflow.copy_data or {})
        session = object_session(self.example)
        if self.workflow is not None and self.example.status not in LIVE and session is not None:
            revision = session.scalar(select(Revision).where(Revision.example_id == self.example.id,
                                                             Revision.on_copy.is_(False))
                                      .order_by(Revision.number.desc()).limit(1))
            if revision is not None:
                return normalised(revision.data)
        return snapshot_from_example(self.example)


def item_state(dbsession: Session, example: PracticeExample) -> ItemState:
    return ItemState(example, dbsession.get(ExampleWorkflow, example.id))


def lock_for_write(dbsession: Session, state: ItemState) -> ItemState:
    """Take the item's write lock and re-read it; every write (save, transition, restore) starts here, before it
    compares the form's version with the stored one.

    Why: the request read the item (and its version) before it knew it would write. On SQLite that read already
    happened inside the single write lock (writing requests begin with BEGIN IMMEDIATE), so a second writer waits
    for the first and then reads what it wrote. On PostgreSQL (READ COMMITTED) two writers both read version N;
    the second's UPDATE ... WHERE version = N then fails at flush (StaleDataError), and for an item from content/
    without a workflow row both INSERT that row (IntegrityError). So here the second writer waits, on a
    SELECT ... FOR NO KEY UPDATE of the item's practice_examples row (the row every item has, with or without a
    workflow row; the lock an ordinary UPDATE takes, so it does not block inserts that merely refer to the item),
    until the first commits, and then re-reads example and workflow (populate_existing) and finds the new version,
    exactly as on SQLite: the normal EditConflict or "already done" answers follow. SQLite ignores FOR UPDATE.
    Idempotent within one request (``state.locked``).
    """
    if state.locked:
        return state
    if dbsession.info.get("row_locks", True):
        example = dbsession.scalars(
            select(PracticeExample).where(PracticeExample.id == state.example.id)
            .with_for_update(key_share=True).execution_options(populate_existing=True)).one_or_none()
        if example is None:
            raise WorkflowError("Dit voorbeeld bestaat niet meer.")
        state.example = example
        state.workflow = dbsession.scalars(
            select(ExampleWorkflow).where(ExampleWorkflow.example_id == example.id)
            .execution_options(populate_existing=True)).one_or_none()
    state.locked = True
    return state


def _ensure_workflow(dbsession: Session, state: ItemState, author: User | None) -> ExampleWorkflow:
    """Items that came from content/ files get their bookkeeping (and a baseline revision) when first edited."""
    if state.workflow is None:
        state.workflow = ExampleWorkflow(example_id=state.example.id, owner_id=None, version=1)
        dbsession.add(state.workflow)
        dbsession.add(Revision(example_id=state.example.id, number=1, data=snapshot_from_example(state.example),
                               author_id=None, note="ingeladen uit content/"))
        if state.example.status in LIVE:
            state.workflow.published_revision = 1
        dbsession.flush()
    return state.workflow


def _next_revision(dbsession: Session, example_id: int) -> int:
    return (dbsession.scalar(select(func.max(Revision.number)).where(Revision.example_id == example_id)) or 0) + 1


def latest_revision(dbsession: Session, example_id: int) -> Revision | None:
    return dbsession.scalar(select(Revision).where(Revision.example_id == example_id)
                            .order_by(Revision.number.desc()).limit(1))


def get_revision(dbsession: Session, example_id: int, number: int) -> Revision | None:
    return dbsession.scalar(select(Revision).where(Revision.example_id == example_id, Revision.number == number))


def revisions(dbsession: Session, example_id: int) -> list[Revision]:
    return list(dbsession.scalars(select(Revision).where(Revision.example_id == example_id)
                                  .order_by(Revision.number.desc())))


def transitions(dbsession: Session, example_id: int) -> list[Transition]:
    return list(dbsession.scalars(select(Transition).where(Transition.example_id == example_id)
                                  .order_by(Transition.created_at.desc(), Transition.id.desc())))


def _bump(workflow: ExampleWorkflow) -> None:
    workflow.version = workflow.version + 1


def create_contribution(dbsession: Session, owner: User, data: dict[str, Any],
                        token: str) -> tuple[ItemState, bool]:
    """A new draft, and whether it was created now. The form's one-time token makes a double-clicked save store
    the item once (the second request gets the first one's item)."""
    existing = _by_creation_token(dbsession, owner, token)
    if existing is not None:
        return existing, False
    try:
        # A savepoint, so that a truly simultaneous second request (PostgreSQL lets both past the lookup above)
        # loses only this block on the unique token and then returns the first request's item.
        with dbsession.begin_nested():
            example = PracticeExample(slug=unique_slug(dbsession, data.get("title") or "voorbeeld"), title="",
                                      summary="", place="", status=Status.DRAFT, origin_path="", origin_hash="")
            apply_snapshot(dbsession, example, data)
            dbsession.add(example)
            dbsession.flush()
            workflow = ExampleWorkflow(example_id=example.id, owner_id=owner.id, version=1, creation_token=token)
            dbsession.add(workflow)
            dbsession.add(Revision(example_id=example.id, number=1, data=normalised(data), author_id=owner.id,
                                   note="aangemaakt"))
            dbsession.flush()
    except IntegrityError as exc:
        existing = _by_creation_token(dbsession, owner, token)
        if existing is None:
            # Another writer took the same slug at the same moment: let pyramid_retry run the request again.
            raise TransientError("gelijktijdige bijdrage met dezelfde titel") from exc
        return existing, False
    return ItemState(example, workflow, locked=True), True  # our own new row: nobody else can see it yet


def _by_creation_token(dbsession: Session, owner: User, token: str) -> ItemState | None:
    existing = dbsession.scalar(select(ExampleWorkflow).where(ExampleWorkflow.creation_token == token))
    if existing is None:
        return None
    if existing.owner_id != owner.id:
        raise WorkflowError("Dit formulier is al gebruikt. Begin een nieuwe bijdrage.")
    return ItemState(existing.example, existing)


def check_can_edit(state: ItemState, user: User) -> None:
    status = state.status
    if status in (Status.REJECTED, Status.WITHDRAWN):
        raise WorkflowError(f"Dit voorbeeld is {STATUS_LABELS[status].lower()} en kan niet meer worden bewerkt.")
    if status == Status.SUBMITTED and not may_review(user, state):
        raise WorkflowError("Dit voorbeeld is ingediend en ligt bij de redactie. U kunt het pas weer bewerken "
                            "als de redactie het heeft teruggestuurd.")


def save(dbsession: Session, state: ItemState, user: User, data: dict[str, Any], version: int,
         note: str = "opgeslagen") -> bool:
    """Store ``data`` as a new revision. Returns False when nothing changed (e.g. a double-clicked save).

    Raises EditConflict when ``version`` is not the current one and the text differs from what is stored.
    """
    lock_for_write(dbsession, state)
    data = normalised(data)
    if state.workflow is not None and version != state.workflow.version and data == state.data():
        return False  # the same text arrived twice (a double click): already stored
    check_can_edit(state, user)
    if state.workflow is not None and version != state.workflow.version:
        raise EditConflict("Iemand anders heeft dit voorbeeld intussen opgeslagen. Uw tekst is niet opgeslagen "
                           "maar staat hieronder nog in het formulier; vergelijk hem met de nieuwste versie.")
    if data == state.data() and state.workflow is not None:
        return False
    workflow = _ensure_workflow(dbsession, state, user)
    on_copy = state.example.status in LIVE
    if on_copy:
        workflow.copy_data = data
        if workflow.copy_status is None:
            workflow.copy_status = Status.DRAFT
    else:
        apply_snapshot(dbsession, state.example, data)
        state.example.updated_at = utcnow()
    dbsession.add(Revision(example_id=state.example.id, number=_next_revision(dbsession, state.example.id),
                           data=data, author_id=user.id, note=note, on_copy=on_copy))
    _bump(workflow)
    dbsession.flush()
    return True


def public_names(state: ItemState) -> frozenset[str]:
    """Names of the contacts the live version of the item shows (none for an item never published)."""
    if state.example.status not in LIVE:
        return frozenset()
    return frozenset(c.name.strip().lower() for c in state.example.contacts if c.public)


def completeness_errors(data: dict[str, Any], already_public: frozenset[str] = frozenset()) -> dict[str, str]:
    """What still has to be filled in before a contribution can be submitted (field -> Dutch message).

    ``already_public``: names (lower case) the published version already shows. Naming someone publicly needs their
    consent, unless the page already names them (a person from a publication the example is based on): keeping a
    name discloses nothing new. Their e-mail address still needs consent to be shown (Contact.email_public).
    """
    data = normalised(data)
    errors: dict[str, str] = {}
    for field in ("title", "summary", "place", "target_group", "financing", *SECTION_FIELDS):
        if not (data[field] or "").strip():
            errors[field] = f"Vul '{FIELD_LABELS[field]}' in voordat u indient."
    if len(data["summary"]) > MAX_SUMMARY:
        errors["summary"] = f"De samenvatting is te lang (maximaal {MAX_SUMMARY} tekens)."
    if not data["gemeente"] and not data["provincie"]:
        errors["provincie"] = "Kies een gemeente of een provincie."
    if not 1 <= len(data["themes"]) <= MAX_THEMES:
        errors["themes"] = f"Kies 1 tot {MAX_THEMES} thema's."
    if not data["source"] and not (data["source_note"] or "").strip():
        errors["source_note"] = "Noem de bron of website waar dit voorbeeld op is gebaseerd."
    for index, contact in enumerate(data["contacts"], start=1):
        if not (contact.get("name") or "").strip():
            errors["contacts"] = f"Contactpersoon {index} heeft geen naam."
        elif contact.get("email") and not EMAIL_RE.match(contact["email"]):
            errors["contacts"] = f"Contactpersoon {index}: ongeldig e-mailadres."
        elif (contact.get("public") and not contact.get("consent")
              and (contact.get("name") or "").strip().lower() not in already_public):
            errors["contacts"] = (f"Contactpersoon {index} is als openbaar gemarkeerd: bevestig dat deze persoon "
                                  "toestemming geeft om naam en e-mailadres te publiceren, of kies "
                                  "'alleen voor de redactie'.")
    return errors


def transition(dbsession: Session, state: ItemState, user: User, action_name: str, version: int,
               reason: str = "", remarks: dict[str, str] | None = None) -> bool:
    """Apply one legal transition. Returns False for a repeated (double-clicked) request that already happened."""
    action = TRANSITIONS.get(action_name)
    if action is None:
        raise IllegalTransition("Onbekende actie.")
    lock_for_write(dbsession, state)
    if action.editor_only and not may_review(user, state):
        raise IllegalTransition("Alleen de redactie (of de regiocoördinator van de regio) kan een voorbeeld "
                                "publiceren, terugsturen of afwijzen.")
    current = state.status
    if state.workflow is not None and version != state.workflow.version:
        if current == action.target:
            return False  # the same click arrived twice
        raise EditConflict("Dit voorbeeld is intussen gewijzigd. Bekijk de nieuwste versie en probeer het opnieuw.")
    if current not in action.sources:
        raise IllegalTransition(
            f"'{action.label}' kan niet vanuit de status '{STATUS_LABELS.get(current, current)}'.")
    remarks = {k: v.strip() for k, v in (remarks or {}).items() if v and v.strip() and k in FIELD_LABELS}
    reason = (reason or "").strip()
    if action.needs_reason and not reason:
        raise Incomplete("Geef een reden op; de indiener krijgt die te zien.", {"reason": "Reden is verplicht."})
    if action.name == "return" and not remarks and not reason:
        raise Incomplete("Schrijf minstens één opmerking of een toelichting, zodat de indiener weet wat er moet "
                         "gebeuren.", {"reason": "Opmerking of toelichting is verplicht."})
    if action.name in ("submit", "publish"):
        errors = completeness_errors(state.data(), public_names(state))
        if errors:
            raise Incomplete("Het voorbeeld is nog niet compleet.", errors)
    workflow = _ensure_workflow(dbsession, state, user)
    on_copy = state.has_copy
    revision = latest_revision(dbsession, state.example.id)
    revision_number = revision.number if revision else None
    now = utcnow()
    if action.name == "submit":
        workflow.submitted_at = now
    if action.name == "publish":
        _publish(dbsession, state, workflow, revision_number, now)
    elif on_copy and action.name == "reject":
        # A rejected change is dropped; the published version stays as it is.
        workflow.copy_data, workflow.copy_status = None, None
    elif on_copy:
        workflow.copy_status = action.target
    else:
        state.example.status = action.target
    for field, text in remarks.items():
        dbsession.add(Remark(example_id=state.example.id, revision=revision_number or 0, field=field, text=text,
                             author_id=user.id))
    dbsession.add(Transition(example_id=state.example.id, from_status=current, to_status=action.target,
                             on_copy=on_copy, revision=revision_number, actor_id=user.id, reason=reason,
                             created_at=now))
    _bump(workflow)
    dbsession.flush()
    return True


def _publish(dbsession: Session, state: ItemState, workflow: ExampleWorkflow, revision_number: int | None,
             now) -> None:
    """The text being worked on becomes the public item (a working copy replaces the published text)."""
    if state.has_copy:
        apply_snapshot(dbsession, state.example, workflow.copy_data or {})
        workflow.copy_data, workflow.copy_status = None, None
    state.example.status = Status.PUBLISHED
    state.example.published_at = state.example.published_at or now
    state.example.updated_at = now
    workflow.published_revision = revision_number


def _check_reason(reason: str, required: bool) -> str:
    reason = (reason or "").strip()
    if required and not reason:
        raise Incomplete("Geef een reden op; die komt in de geschiedenis van het voorbeeld.",
                         {"reason": "Reden is verplicht."})
    if len(reason) > MAX_REASON:
        raise Incomplete(f"De reden is te lang (maximaal {MAX_REASON} tekens).", {"reason": "Te lang."})
    return reason


def _record(dbsession: Session, state: ItemState, user: User, from_status: str, to_status: str, reason: str,
            on_copy: bool = False) -> None:
    revision = latest_revision(dbsession, state.example.id)
    dbsession.add(Transition(example_id=state.example.id, from_status=from_status, to_status=to_status,
                             on_copy=on_copy, revision=revision.number if revision else None, actor_id=user.id,
                             reason=reason, created_at=utcnow()))


def take_offline(dbsession: Session, state: ItemState, user: User, reason: str) -> bool:
    """Hide a published item from the public (pages, API, feeds, search) with a required reason, recorded in its
    history. A working copy stays as it is. Returns False when it was offline already (a double click).

    No version check: taking offline acts on the public text, which a colleague's edit of the working copy does
    not change; the item's write lock (lock_for_write) orders it with every other write to the item.
    """
    reason = _check_reason(reason, required=True)
    return _switch_visibility(
        dbsession, state, user, reason, Status.PUBLISHED, Status.OFFLINE,
        "Alleen de redactie (of de regiocoördinator van de regio) kan een voorbeeld offline halen.",
        "Alleen een gepubliceerd voorbeeld kan offline worden gehaald; dit voorbeeld is {status}.")


def put_online(dbsession: Session, state: ItemState, user: User, reason: str = "") -> bool:
    """Undo take_offline: the published text is public again (a working copy stays a pending change). Recorded
    with who, when and the optional reason. Returns False when it was online already (a double click)."""
    reason = _check_reason(reason, required=False)
    return _switch_visibility(
        dbsession, state, user, reason, Status.OFFLINE, Status.PUBLISHED,
        "Alleen de redactie (of de regiocoördinator van de regio) kan een voorbeeld weer online zetten.",
        "Alleen een voorbeeld dat offline is gehaald kan weer online worden gezet.")


def _switch_visibility(dbsession: Session, state: ItemState, user: User, reason: str, source: str, target: str,
                       not_allowed: str, wrong_status: str) -> bool:
    """Move a live item between published and offline under its write lock, recorded in its history.
    ``wrong_status`` may name the item's current status as ``{status}``."""
    lock_for_write(dbsession, state)
    if not may_review(user, state):
        raise IllegalTransition(not_allowed)
    if state.example.status == target:
        return False
    if state.example.status != source:  # read under the lock: the message names the status as it is now
        raise IllegalTransition(wrong_status.format(
            status=STATUS_LABELS.get(state.example.status, state.example.status).lower()))
    workflow = _ensure_workflow(dbsession, state, user)
    state.example.status = target
    _record(dbsession, state, user, source, target, reason)
    _bump(workflow)
    dbsession.flush()
    return True


def draft_of_someone_else(dbsession: Session, state: ItemState, user: User) -> bool:
    """Whether the text being worked on is an unsubmitted draft (concept, teruggestuurd) last saved by someone
    else: that is theirs until they submit it."""
    if state.status not in (Status.DRAFT, Status.RETURNED):
        return False
    if not state.has_copy and state.example.status in LIVE:
        return False
    latest = latest_revision(dbsession, state.example.id)
    return latest is not None and latest.author_id != user.id


def publish_directly(dbsession: Session, state: ItemState, user: User, others_draft: bool | None = None) -> bool:
    """A reviewer publishes what they just saved, in one step (no separate submit and review): a change to a
    published item, or a submitted item. Returns False when there was nothing to publish (no pending change).

    Refused for someone else's unsubmitted draft (``others_draft``: draft_of_someone_else as it was before the
    reviewer saved; computed now when not given)."""
    if others_draft is None:
        others_draft = draft_of_someone_else(dbsession, state, user)
    lock_for_write(dbsession, state)
    if not may_review(user, state):
        raise IllegalTransition("Alleen de redactie (of de regiocoördinator van de regio) kan publiceren.")
    current = state.status
    if not state.has_copy and state.example.status in LIVE:
        return False  # nothing pending: the published text is what was saved
    if current in (Status.REJECTED, Status.WITHDRAWN):
        raise IllegalTransition(f"Dit voorbeeld is {STATUS_LABELS[current].lower()} en kan niet worden "
                                "gepubliceerd.")
    latest = latest_revision(dbsession, state.example.id)
    if current != Status.SUBMITTED and others_draft:
        raise IllegalTransition("Dit is een concept van de indiener dat nog niet is ingediend; het kan pas worden "
                                "gepubliceerd als de indiener het indient.")
    errors = completeness_errors(state.data(), public_names(state))
    if errors:
        raise Incomplete("Het voorbeeld is nog niet compleet.", errors)
    workflow = _ensure_workflow(dbsession, state, user)
    on_copy = state.has_copy
    now = utcnow()
    _publish(dbsession, state, workflow, latest.number if latest else None, now)
    dbsession.add(Transition(example_id=state.example.id, from_status=current, to_status=Status.PUBLISHED,
                             on_copy=on_copy, revision=latest.number if latest else None, actor_id=user.id,
                             reason="in één stap opgeslagen en gepubliceerd", created_at=now))
    _bump(workflow)
    dbsession.flush()
    return True


def restore(dbsession: Session, state: ItemState, user: User, number: int, version: int) -> None:
    """Make an older revision the text being worked on again (as a new revision; history is never rewritten)."""
    lock_for_write(dbsession, state)
    revision = get_revision(dbsession, state.example.id, number)
    if revision is None:
        raise WorkflowError("Deze revisie bestaat niet.")
    if state.status == Status.SUBMITTED and not may_review(user, state):
        raise WorkflowError("Dit voorbeeld ligt bij de redactie.")
    if state.workflow is not None and version != state.workflow.version:
        raise EditConflict("Dit voorbeeld is intussen gewijzigd. Bekijk de geschiedenis opnieuw.")
    data = normalised(revision.data)
    if state.status in (Status.REJECTED, Status.WITHDRAWN):
        raise WorkflowError("Een afgewezen of ingetrokken voorbeeld kan niet worden hersteld.")
    if data == state.data():
        raise WorkflowError(f"Revisie {number} is gelijk aan de huidige tekst; er is niets hersteld.")
    save(dbsession, state, user, data, state.version, note=f"hersteld uit revisie {number}")


def latest_remarks(dbsession: Session, example_id: int) -> tuple[Transition | None, list[Remark]]:
    """The last 'return' or 'reject' decision and the remarks written with it (for the contributor)."""
    decision = dbsession.scalar(
        select(Transition).where(Transition.example_id == example_id,
                                 Transition.to_status.in_((Status.RETURNED, Status.REJECTED)))
        .order_by(Transition.created_at.desc(), Transition.id.desc()).limit(1))
    if decision is None:
        return None, []
    remarks = list(dbsession.scalars(
        select(Remark).where(Remark.example_id == example_id, Remark.revision == (decision.revision or 0))
        .order_by(Remark.id)))
    order = list(FIELD_LABELS)
    remarks.sort(key=lambda r: order.index(r.field) if r.field in order else len(order))
    return decision, remarks


def own_items(dbsession: Session, user: User) -> list[ItemState]:
    rows = dbsession.execute(
        select(PracticeExample, ExampleWorkflow).join(ExampleWorkflow, ExampleWorkflow.example_id == PracticeExample.id)
        .where(ExampleWorkflow.owner_id == user.id).order_by(PracticeExample.updated_at.desc())).all()
    return [ItemState(e, w) for e, w in rows]


def queue(dbsession: Session, user: User | None = None) -> list[ItemState]:
    """Submitted items and submitted changes to published items, oldest submission first; with ``user``, only
    those the user may review (a regiocoördinator: the items in their regions)."""
    rows = dbsession.execute(
        select(PracticeExample, ExampleWorkflow).join(ExampleWorkflow, ExampleWorkflow.example_id == PracticeExample.id)
        .where((PracticeExample.status == Status.SUBMITTED) | (ExampleWorkflow.copy_status == Status.SUBMITTED))
        .order_by(ExampleWorkflow.submitted_at, PracticeExample.id)).all()
    return reviewable(dbsession, [ItemState(e, w) for e, w in rows], user)


def all_items(dbsession: Session, user: User | None = None) -> list[ItemState]:
    """Every practice example by title; with ``user``, only those the user may review."""
    rows = dbsession.execute(
        select(PracticeExample, ExampleWorkflow).outerjoin(ExampleWorkflow,
                                                           ExampleWorkflow.example_id == PracticeExample.id)
        .order_by(PracticeExample.title, PracticeExample.id)).all()
    return reviewable(dbsession, [ItemState(e, w) for e, w in rows], user)


def reviewable(dbsession: Session, states: list[ItemState], user: User | None) -> list[ItemState]:
    if user is None:
        return states
    _regions = list(dbsession.scalars(select(Region)))  # held in the session: no query per item's gemeente
    principals = security.principals_for(dbsession, user)
    return [s for s in states if security.permits(principals, s.example, s.workflow, security.Permissions.REVIEW)]


def open_case_tips(dbsession: Session) -> list[CaseTip]:
    return list(dbsession.scalars(select(CaseTip).where(CaseTip.handled.is_(False))
                                  .order_by(CaseTip.created_at, CaseTip.id)))


def coordinator_addresses(dbsession: Session, state: ItemState) -> list[str]:
    """The regiocoördinatoren of the regions an item lies in (not those of other regions)."""
    return sorted({user.email for user, _region in
                   coordination.coordinators_of(dbsession, security.item_region_ids(state.example))})


def editor_addresses(dbsession: Session) -> list[str]:
    editors = list(dbsession.scalars(select(User.email).where(User.role == Role.EDITOR, User.active.is_(True))))
    return editors or list(dbsession.scalars(select(User.email).where(User.role == Role.ADMIN,
                                                                      User.active.is_(True))))
