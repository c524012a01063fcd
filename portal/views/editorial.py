"""The editors' side (/redactie): queue, review with diff and remarks per field, decisions, history, restore."""

from __future__ import annotations

from pyramid.csrf import get_csrf_token
from pyramid.httpexceptions import HTTPBadRequest, HTTPNotFound, HTTPSeeOther
from pyramid.renderers import render_to_response
from pyramid.view import view_config
from sqlalchemy import select

from portal.content.models import PracticeExample, utcnow
from portal.inputs import clean_text, parse_id, parse_version
from portal.mail import send_mail
from portal.security import CaseTipResource, ContributionResource, Permissions
from portal.views.contribute import process_form, show_form
from portal.views.helpers import crumbs
from portal.workflow import services as wf
from portal.workflow.models import ExampleWorkflow
from portal.workflow.snapshot import FIELD_LABELS, preview_example, snapshot_diff

MAX_REMARK = 5000


def _crumbs(request, *trail):
    return crumbs(request, ("Redactie", request.route_path("redactie")), *trail)


@view_config(route_name="redactie", renderer="portal:templates/workflow/queue.jinja2", permission=Permissions.REVIEW)
def queue(request):
    items = wf.queue(request.dbsession)
    tips = wf.open_case_tips(request.dbsession)
    rows = request.dbsession.execute(
        select(PracticeExample, ExampleWorkflow).outerjoin(ExampleWorkflow,
                                                           ExampleWorkflow.example_id == PracticeExample.id)
        .order_by(PracticeExample.title)).all()
    return {
        "items": items, "tips": tips,
        "all_items": [wf.ItemState(e, w) for e, w in rows],
        "breadcrumbs": crumbs(request, ("Redactie", None)),
    }


def _state(context) -> wf.ItemState:
    return wf.ItemState(context.example, context.workflow)


def _review_context(request, state: wf.ItemState, errors=None, values=None, message=None):
    data = state.data()
    latest = wf.latest_revision(request.dbsession, state.example.id)
    previous = (wf.get_revision(request.dbsession, state.example.id, latest.number - 1)
                if latest is not None and latest.number > 1 else None)
    return {
        "state": state,
        "example": preview_example(request.dbsession, data, state.example.slug),
        "related": [],
        "data": data,
        "diff": snapshot_diff(previous.data if previous else None, data),
        "previous": previous, "latest": latest,
        "remarks": wf.latest_remarks(request.dbsession, state.example.id),
        "field_labels": FIELD_LABELS,
        "actions": [a for a in wf.TRANSITIONS.values() if a.editor_only and state.status in a.sources],
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
    return process_form(request, _state(context), editor=True)


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
        "diff": snapshot_diff(previous.data if previous else None, current.data),
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



