"""The editors' side (/redactie): queue, review with diff and remarks per field, decisions, history, restore, taking
a published item offline and back online, and publishing one's own change in one step.

Editors see every item; a regiocoördinator sees and decides only on the items in their regions (portal.security).
"""

from __future__ import annotations

import datetime as dt

from pyramid.csrf import get_csrf_token
from pyramid.httpexceptions import HTTPBadRequest, HTTPNotFound, HTTPSeeOther
from pyramid.renderers import render_to_response
from pyramid.view import view_config

from portal.accounts import coordination
from portal.accounts.models import Role
from portal.content.models import Status, utcnow
from portal.inputs import clean_text, parse_id, parse_version
from portal.mail import send_mail
from portal.security import CaseTipResource, ContributionResource, Permissions
from portal.views.contribute import process_form, show_form
from portal.views.helpers import crumbs
from portal.workflow import forms
from portal.workflow import services as wf
from portal.workflow.baseline import review_baseline
from portal.workflow.diff import LEGEND as DIFF_LEGEND
from portal.workflow.diff import field_value
from portal.workflow.snapshot import FIELD_LABELS, preview_example, snapshot_diff

MAX_REMARK = 5000


def _crumbs(request, *trail):
    return crumbs(request, ("Redactie", request.route_path("redactie")), *trail)


def age_text(moment: dt.datetime | None, now: dt.datetime | None = None) -> str:
    """How long ago, in plain Dutch: "minder dan een uur", "5 uur", "1 dag", "3 dagen"."""
    if moment is None:
        return "onbekend"
    seconds = max(0, ((now or utcnow()) - moment).total_seconds())
    if seconds < 3600:
        return "minder dan een uur"
    if seconds < 86400:
        return f"{int(seconds // 3600)} uur"
    days = int(seconds // 86400)
    return "1 dag" if days == 1 else f"{days} dagen"


def region_text(state: wf.ItemState) -> str:
    """Where an item lies, as the queue shows it: "Zwolle (IJsselland)", or the jeugdregio or provincie."""
    example = state.example
    if example.gemeente is not None:
        youth = example.gemeente.youth_region or example.youth_region
        return f"{example.gemeente.name} ({youth.name})" if youth is not None else example.gemeente.name
    for region in (example.youth_region, example.province):
        if region is not None:
            return region.name
    return "geen regio"


@view_config(route_name="redactie", renderer="portal:templates/workflow/queue.jinja2", permission=Permissions.QUEUE)
def queue(request):
    user = request.identity
    national = bool(request.has_permission(Permissions.REVIEW))  # editors; a coordinator only has their regions
    scope = None if national else user
    return {
        "items": wf.queue(request.dbsession, scope),
        "tips": wf.open_case_tips(request.dbsession) if national else [],
        "all_items": wf.all_items(request.dbsession, scope),
        "national": national,
        "grants": [] if national else coordination.active_grants(request.dbsession, user),
        "coordinator": user.role == Role.COORDINATOR,
        "age_text": age_text, "region_text": region_text,
        "csrf_token": get_csrf_token(request),
        "breadcrumbs": crumbs(request, ("Redactie", None)),
    }


@view_config(route_name="redactie_vermelding", request_method="POST", permission=Permissions.COORDINATE)
def coordinator_listing(request):
    """The coordinator's own consent to be named (name, organisation) on the pages of their regions."""
    consent = request.POST.get("vermelding", "") == "ja"
    coordination.set_public(request.identity, consent)
    request.session.flash("Uw naam en organisatie staan nu op de pagina's van uw regio's." if consent else
                          "Uw naam en organisatie staan niet (meer) op de pagina's van uw regio's.")
    return HTTPSeeOther(location=request.route_path("redactie"))


def _state(context) -> wf.ItemState:
    return wf.ItemState(context.example, context.workflow)


def _review_context(request, state: wf.ItemState, errors=None, values=None, message=None):
    data = state.data()
    latest = wf.latest_revision(request.dbsession, state.example.id)
    # Compared with what was published or last reviewed; a first review shows the whole item.
    baseline = review_baseline(request.dbsession, state)
    label = forms.Vocabulary(request.dbsession).label
    changes = snapshot_diff(baseline.revision.data, data, label) if baseline is not None else []
    changed = {field for field, _label, _html in changes}
    remarks = wf.latest_remarks(request.dbsession, state.example.id)
    return {
        "state": state,
        "example": preview_example(request.dbsession, data, state.example.slug),
        "related": [],
        "data": data,
        "baseline": baseline, "latest": latest,
        "diff": changes,
        "review_fields": [(field, title, field_value(field, data.get(field), label))
                          for field, title in FIELD_LABELS.items() if field not in changed],
        "diff_legend": DIFF_LEGEND,
        "remarks": remarks,
        # The remarks the editors returned it with, at their fields (only when that return is what is compared).
        "previous_remarks": ({r.field: r.text for r in remarks[1]}
                             if baseline is not None and baseline.kind == "beoordeeld" else {}),
        "field_labels": FIELD_LABELS,
        "actions": [a for a in wf.TRANSITIONS.values() if a.editor_only and state.status in a.sources],
        "offline_reason": _offline_reason(request, state),
        "errors": errors or {}, "values": values or {}, "message": message,
        "csrf_token": get_csrf_token(request),
        "breadcrumbs": _crumbs(request, (state.example.title, None)),
    }


@view_config(route_name="redactie_item", request_method="GET", context=ContributionResource,
             renderer="portal:templates/workflow/review.jinja2", permission=Permissions.REVIEW)
def review(context, request):
    return _review_context(request, _state(context))


@view_config(route_name="redactie_besluit", request_method="POST", context=ContributionResource,
             permission=Permissions.REVIEW)
def decide(context, request):
    state = _state(context)
    version = parse_version(request.POST.get("version", ""))
    if version is None:
        raise HTTPBadRequest("Het formulier is beschadigd (onbekende versie). Er is niets gewijzigd.")
    action = request.POST.get("action", "")
    if action not in ("publish", "return", "reject"):
        raise HTTPBadRequest("Onbekende beslissing. Er is niets gewijzigd.")
    reason = clean_text(request.POST.get("reason") or "").strip()
    remarks = {f: clean_text(request.POST.get(f"remark_{f}") or "").strip() for f in FIELD_LABELS}
    errors = {f"remark_{f}": "Te lang." for f, text in remarks.items() if len(text) > MAX_REMARK}
    if len(reason) > MAX_REMARK:
        errors["reason"] = "Te lang."
    values = {f"remark_{f}": text for f, text in remarks.items()} | {"reason": reason}
    if errors:
        return _review_response(request, state, errors, values, "Sommige opmerkingen zijn te lang.", 400)
    try:
        done = wf.transition(request.dbsession, state, request.identity, action, version, reason, remarks)
    except wf.WorkflowError as exc:
        return _review_response(request, state, {f"remark_{k}": v for k, v in exc.errors.items()} | (
            {"reason": exc.errors["reason"]} if "reason" in exc.errors else {}), values, exc.message, exc.status)
    if done:
        notify_owner(request, state, action, reason, remarks)
        label = {"publish": "Gepubliceerd.", "return": "Teruggestuurd naar de indiener.",
                 "reject": "Afgewezen."}[action]
    else:  # the same decision arrived twice (a double click, or a colleague at the same moment): applied once
        label = {"publish": "Dit voorbeeld was al gepubliceerd.", "return": "Dit voorbeeld was al teruggestuurd.",
                 "reject": "Dit voorbeeld was al afgewezen."}[action] + " Er is niets veranderd."
    request.session.flash(label)
    return HTTPSeeOther(location=request.route_path("redactie"))


def _offline_reason(request, state: wf.ItemState) -> str | None:
    """Why an offline item was taken offline (the latest such step), for the review page."""
    if state.example.status != Status.OFFLINE:
        return None
    for step in wf.transitions(request.dbsession, state.example.id):
        if step.to_status == Status.OFFLINE:
            return step.reason
    return ""


def _review_response(request, state, errors, values, message, status):
    response = render_to_response("portal:templates/workflow/review.jinja2",
                                  _review_context(request, state, errors, values, message), request=request)
    response.status_int = status
    return response


def notify_owner(request, state: wf.ItemState, action: str, reason: str, remarks: dict[str, str]) -> None:
    owner = state.workflow.owner if state.workflow is not None else None
    if owner is None:
        return
    title = state.example.title
    if action == "publish":
        subject, body = (f"Gepubliceerd: {title}",
                         f"Uw bijdrage staat op de website:\n{request.route_url('voorbeeld', slug=state.example.slug)}")
    elif action == "return":
        lines = [f"- {FIELD_LABELS[f]}: {t}" for f, t in remarks.items() if t]
        subject, body = (f"Teruggestuurd: {title}",
                         "De redactie heeft uw bijdrage teruggestuurd met opmerkingen.\n\n"
                         + (f"{reason}\n\n" if reason else "") + "\n".join(lines)
                         + f"\n\nPas uw bijdrage aan via {request.route_url('mijn_bijdragen')}")
    else:
        subject, body = f"Afgewezen: {title}", f"De redactie heeft uw bijdrage afgewezen.\n\nReden: {reason}"
    send_mail(request, [owner.email], subject, body)


@view_config(route_name="redactie_bewerken", request_method="GET", context=ContributionResource,
             permission=Permissions.REVIEW)
def editor_edit(context, request):
    state = _state(context)
    try:
        wf.check_can_edit(state, request.identity)
    except wf.WorkflowError as exc:
        request.session.flash(exc.message)
        return HTTPSeeOther(location=request.route_path("redactie_item", id=state.example.id))
    return show_form(request, state, editor=True)


@view_config(route_name="redactie_bewerken", request_method="POST", context=ContributionResource,
             permission=Permissions.REVIEW)
def editor_save(context, request):
    """Save (as process_form does), and with "Opslaan en publiceren" publish the saved text at once."""
    state = _state(context)
    others_draft = wf.draft_of_someone_else(request.dbsession, state, request.identity)  # before our save
    response = process_form(request, state, editor=True)
    if "publiceren" not in request.POST or "indienen" in request.POST or response.status_int != 303:
        return response  # not asked to publish, or not saved (the form with its message is shown again)
    saved = request.session.pop_flash()  # "Opgeslagen." / "Er was niets gewijzigd.": replaced by the outcome
    try:
        done = wf.publish_directly(request.dbsession, state, request.identity, others_draft)
    except wf.WorkflowError as exc:
        prefix = "Uw tekst is opgeslagen, maar niet gepubliceerd: " if saved == ["Opgeslagen."] else \
            "Niet gepubliceerd: "
        details = " ".join(exc.errors.values())
        request.session.flash(prefix + exc.message + (f" {details}" if details else ""))
        return HTTPSeeOther(location=request.route_path("redactie_bewerken", id=state.example.id))
    if done:
        owner = state.workflow.owner if state.workflow is not None else None
        if owner is not None and owner.id != request.identity.id:
            notify_owner(request, state, "publish", "", {})
        request.session.flash("Opgeslagen en gepubliceerd.")
    else:
        request.session.flash("Er was niets gewijzigd; de gepubliceerde tekst blijft zoals hij was.")
    return HTTPSeeOther(location=request.route_path("redactie_item", id=state.example.id))


def _visibility_refused(request, state: wf.ItemState, exc: wf.WorkflowError):
    errors = {"offline_reason": exc.errors["reason"]} if "reason" in exc.errors else {}
    values = {"offline_reason": clean_text(request.POST.get("reason") or "")[:5000]}
    return _review_response(request, state, errors, values, exc.message, exc.status)


@view_config(route_name="redactie_offline", request_method="POST", context=ContributionResource,
             permission=Permissions.REVIEW)
def take_offline(context, request):
    """Take a published item offline (reason required; recorded; the owner is told)."""
    state = _state(context)
    reason = clean_text(request.POST.get("reason") or "").strip()
    try:
        done = wf.take_offline(request.dbsession, state, request.identity, reason)
    except wf.WorkflowError as exc:
        return _visibility_refused(request, state, exc)
    if done:
        owner = state.workflow.owner if state.workflow is not None else None
        if owner is not None and owner.id != request.identity.id:
            send_mail(request, [owner.email], f"Offline gehaald: {state.example.title}",
                      f"Uw bijdrage staat niet meer op de website.\n\nReden: {reason}")
        request.session.flash("Het voorbeeld is offline gehaald. Het staat niet meer op de website en niet meer "
                              "in de zoekresultaten; u kunt het weer online zetten.")
    else:
        request.session.flash("Dit voorbeeld was al offline gehaald. Er is niets veranderd.")
    return HTTPSeeOther(location=request.route_path("redactie_item", id=state.example.id))


@view_config(route_name="redactie_online", request_method="POST", context=ContributionResource,
             permission=Permissions.REVIEW)
def put_online(context, request):
    """Put an item that was taken offline back on the website (recorded, with an optional reason)."""
    state = _state(context)
    try:
        done = wf.put_online(request.dbsession, state, request.identity,
                             clean_text(request.POST.get("reason") or "").strip())
    except wf.WorkflowError as exc:
        return _visibility_refused(request, state, exc)
    request.session.flash("Het voorbeeld staat weer op de website." if done else
                          "Dit voorbeeld stond al online. Er is niets veranderd.")
    return HTTPSeeOther(location=request.route_path("redactie_item", id=state.example.id))


@view_config(route_name="redactie_geschiedenis", context=ContributionResource,
             renderer="portal:templates/workflow/history.jinja2", permission=Permissions.REVIEW)
def history(context, request):
    state = _state(context)
    return {
        "state": state,
        "revisions": wf.revisions(request.dbsession, state.example.id),
        "transitions": wf.transitions(request.dbsession, state.example.id),
        "status_labels": wf.STATUS_LABELS,
        "breadcrumbs": _crumbs(request, (state.example.title, request.route_path("redactie_item",
                                                                                  id=state.example.id)),
                               ("Geschiedenis", None)),
    }


def _revision_number(request) -> int:
    number = parse_id(request.matchdict.get("number", ""))
    if number is None:
        raise HTTPNotFound("Deze revisie bestaat niet.")
    return number


@view_config(route_name="redactie_revisie", context=ContributionResource,
             renderer="portal:templates/workflow/revision.jinja2", permission=Permissions.REVIEW)
def revision(context, request):
    state = _state(context)
    number = _revision_number(request)
    current = wf.get_revision(request.dbsession, state.example.id, number)
    if current is None:
        raise HTTPNotFound("Deze revisie bestaat niet.")
    previous = wf.get_revision(request.dbsession, state.example.id, number - 1) if number > 1 else None
    return {
        "state": state, "revision": current, "previous": previous,
        "diff": snapshot_diff(previous.data if previous else None, current.data,
                              forms.Vocabulary(request.dbsession).label),
        "diff_legend": DIFF_LEGEND, "field_count": len(FIELD_LABELS),
        "csrf_token": get_csrf_token(request),
        "breadcrumbs": _crumbs(request, (state.example.title, request.route_path("redactie_item",
                                                                                  id=state.example.id)),
                               ("Geschiedenis", request.route_path("redactie_geschiedenis", id=state.example.id)),
                               (f"Revisie {number}", None)),
    }


@view_config(route_name="redactie_herstellen", request_method="POST", context=ContributionResource,
             permission=Permissions.REVIEW)
def restore(context, request):
    state = _state(context)
    number = _revision_number(request)
    version = parse_version(request.POST.get("version", ""))
    if version is None:
        raise HTTPBadRequest("Het formulier is beschadigd (onbekende versie). Er is niets hersteld.")
    try:
        wf.restore(request.dbsession, state, request.identity, number, version)
    except wf.WorkflowError as exc:
        request.response.status_int = exc.status
        response = render_to_response("portal:templates/error.jinja2",
                                      {"status": exc.status, "title": "Niet hersteld", "message": exc.message},
                                      request=request)
        response.status_int = exc.status
        return response
    copy_note = (" als wijziging; de gepubliceerde versie blijft zichtbaar tot u opnieuw publiceert"
                 if state.has_copy else "")
    request.session.flash(f"Revisie {number} is hersteld{copy_note}.")
    return HTTPSeeOther(location=request.route_path("redactie_geschiedenis", id=state.example.id))


@view_config(route_name="redactie_aanmelding", request_method="GET", context=CaseTipResource,
             renderer="portal:templates/workflow/case_tip.jinja2", permission=Permissions.REVIEW)
def case_tip(context, request):
    return {"tip": context.tip, "csrf_token": get_csrf_token(request),
            "breadcrumbs": _crumbs(request, (f"Aanmelding van {context.tip.name}", None))}


@view_config(route_name="redactie_aanmelding", request_method="POST", context=CaseTipResource,
             permission=Permissions.REVIEW)
def case_tip_handled(context, request):
    tip = context.tip
    if not tip.handled:
        tip.handled, tip.handled_by_id, tip.handled_at = True, request.identity.id, utcnow()
        # The privacy statement promises the tipster's details are kept only until the tip is handled.
        tip.name, tip.email, tip.organisation = "(verwijderd)", "", ""
    request.session.flash("De aanmelding is afgehandeld. Naam, e-mailadres en organisatie van de melder zijn "
                          "verwijderd.")
    return HTTPSeeOther(location=request.route_path("redactie"))



