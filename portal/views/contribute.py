"""Contributing: the /bijdragen form (drafts, preview, submit), /mijn-bijdragen, and the public tip form."""

from __future__ import annotations

import contextlib
import re
import secrets

import colander
import deform
from markupsafe import Markup
from pyramid.csrf import get_csrf_token
from pyramid.httpexceptions import HTTPBadRequest, HTTPSeeOther
from pyramid.renderers import render_to_response
from pyramid.view import view_config
from sqlalchemy import delete, select

from portal.accounts import services as accounts
from portal.accounts.models import FormStash
from portal.content.files import EMAIL_RE
from portal.content.models import Status
from portal.inputs import clean_text, oneline_error, pairs, parse_version
from portal.mail import send_mail
from portal.security import ContributionResource, Permissions
from portal.views.account import client_address, set_retry_after, throttle_rules
from portal.views.helpers import crumbs
from portal.workflow import forms
from portal.workflow import services as wf
from portal.workflow.models import CaseTip
from portal.workflow.snapshot import FIELD_LABELS, preview_example

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
FORM_TEMPLATE = "portal:templates/workflow/edit.jinja2"


def _form_version(request) -> int:
    version = parse_version(request.POST.get("version", ""))
    if version is None:
        raise HTTPBadRequest("Het formulier is beschadigd (onbekende versie). Er is niets opgeslagen.")
    return version


def _set_hidden(form: deform.Form, request, version: int, token: str = "") -> None:
    cstruct = form.cstruct if isinstance(form.cstruct, dict) else {}
    cstruct["csrf_token"] = get_csrf_token(request)
    cstruct["version"] = str(version)
    cstruct["token"] = token
    form.cstruct = cstruct


def _attach_errors(form: deform.Form, errors: dict[str, str]) -> None:
    """Show the submit rule's messages (services.completeness_errors) at their fields."""
    for field, text in errors.items():
        target = forms.field_of(form, field)
        if target is not None:
            target.error = colander.Invalid(target.schema, text)


INVALID_TITLE = "Er is iets niet goed ingevuld"
INVALID_INTRO = "Er is niets opgeslagen; alles wat u typte staat nog in het formulier. Verbeter:"


def _visible_remarks(state: wf.ItemState | None, remarks, editor: bool) -> dict[str, str]:
    """The editors' remarks per field, when the contributor (or an editor) should act on them."""
    decision, remark_list = remarks
    if state is None or decision is None or not (state.status in ("teruggestuurd", "afgewezen") or editor):
        return {}
    return {r.field: r.text for r in remark_list}


def render_form(request, form: deform.Form, *, state: wf.ItemState | None, status: int = 200,
                message: str | None = None, preview=None, editor: bool = False,
                summary_title: str = INVALID_TITLE, summary_intro: str = INVALID_INTRO):
    """The form page. Fields with errors are listed in an error summary at the top (linked to the fields, which
    carry their own message); ``message`` is a notice for everything else and is not repeated next to a
    summary."""
    remarks = wf.latest_remarks(request.dbsession, state.example.id) if state else (None, [])
    remark_anchors = forms.remark_targets(form, _visible_remarks(state, remarks, editor))
    summary = forms.error_summary(form)
    context = {
        "form_html": Markup(form.render()),  # noqa: S704 - Deform escapes every value it renders
        "state": state,
        "message": None if summary else message,
        "error_summary": summary,
        "summary_title": summary_title,
        "summary_intro": summary_intro,
        "editor": editor,
        "example": preview,
        "related": [],
        "remarks": remarks,
        "remark_anchors": remark_anchors,
        "field_labels": FIELD_LABELS,
        "breadcrumbs": crumbs(request, ("Mijn bijdragen", request.route_path("mijn_bijdragen")),
                              (state.example.title if state else "Nieuwe bijdrage", None)),
    }
    template = "portal:templates/workflow/preview.jinja2" if preview is not None else FORM_TEMPLATE
    response = render_to_response(template, context, request=request)
    response.status_int = status
    return response


def form_action(request, state: wf.ItemState | None, editor: bool) -> str:
    if state is None:
        return request.route_path("bijdragen")
    if editor:
        return request.route_path("redactie_bewerken", id=state.example.id)
    return request.route_path("bijdrage", id=state.example.id)


def _restore_stash(request, form: deform.Form) -> bool:
    token = request.GET.get("herstel", "")
    if not TOKEN_RE.match(token) or request.identity is None:
        return False
    stash = request.dbsession.scalar(select(FormStash).where(
        FormStash.token == token, FormStash.user_id == request.identity.id, FormStash.path == request.path))
    controls = pairs(stash.controls) if stash is not None else None
    if controls is None:  # no stash, or damaged data: start from the stored text
        return False
    try:
        forms.validate(form, controls)
    except deform.ValidationFailure:  # errors are shown on the next save, not now
        pass
    except HTTPBadRequest:  # markers that do not fit the form: treat the stash as absent
        return False
    return True


def show_form(request, state: wf.ItemState | None, editor: bool = False):
    form = forms.make_form(request, form_action(request, state, editor))
    restored = _restore_stash(request, form)
    if not restored:
        data = state.data() if state is not None else {}
        form.cstruct = form.schema.serialize(forms.snapshot_to_appstruct(data))
    version = state.version if state else 0
    token = "" if state else secrets.token_urlsafe(24)
    if restored:
        token = (form.cstruct.get("token") or token) if state is None else ""
        stashed_version = parse_version(str(form.cstruct.get("version") or ""))
        version = stashed_version if stashed_version is not None else version
    _set_hidden(form, request, version, token)
    message = ("Welkom terug. Uw tekst van vóór het inloggen staat weer in het formulier; hij is nog niet "
               "opgeslagen." if restored else None)
    return render_form(request, form, state=state, message=message, editor=editor)


def process_form(request, state: wf.ItemState | None, editor: bool = False):
    """Handle one POST of the contribution form: more rows, preview, save, or save + submit."""
    user = request.identity
    version = _form_version(request)
    token = request.POST.get("token", "")
    if state is None and not TOKEN_RE.match(token):
        raise HTTPBadRequest("Het formulier is beschadigd (ongeldig kenmerk). Er is niets opgeslagen.")
    if state is not None:
        token = ""
    controls = list(request.POST.items())
    form = forms.make_form(request, form_action(request, state, editor))
    if "meer" in request.POST:
        with contextlib.suppress(deform.ValidationFailure):  # only the typed values are needed here
            forms.validate(form, controls)
        typed = form.cstruct
        form = forms.make_form(request, form_action(request, state, editor))  # fresh: no errors, new rows
        form.cstruct = typed
        forms.pad_cstruct(form, 3)
        _set_hidden(form, request, version, token)
        return render_form(request, form, state=state, editor=editor,
                           message="Er zijn lege velden bijgekomen. Niets is nog opgeslagen.")
    try:
        appstruct = forms.validate(form, controls)
    except deform.ValidationFailure:
        _set_hidden(form, request, version, token)
        return render_form(request, form, state=state, status=400, editor=editor,
                           message="Niet opgeslagen: verbeter de gemarkeerde velden.")  # shown if no summary
    data = forms.appstruct_to_snapshot(appstruct)
    if "voorbeeld" in request.POST:
        _set_hidden(form, request, version, token)
        slug = state.example.slug if state else "voorbeeld"
        return render_form(request, form, state=state, editor=editor,
                           preview=preview_example(request.dbsession, data, slug))
    try:
        if state is None:
            state, created = wf.create_contribution(request.dbsession, user, data, token)
            if not created:
                request.session.flash("Deze bijdrage was al ingediend." if state.status == Status.SUBMITTED
                                      and "indienen" in request.POST else "Deze bijdrage was al opgeslagen.")
                return HTTPSeeOther(location=request.route_path("bijdrage", id=state.example.id))
            saved, current_version = True, True
        else:
            # Wait for a simultaneous writer of this item and read what it stored before comparing versions.
            wf.lock_for_write(request.dbsession, state)
            current_version = version == state.version
            saved = wf.save(request.dbsession, state, user, data, version)
    except wf.WorkflowError as exc:
        _set_hidden(form, request, version, token)
        return render_form(request, form, state=state, status=exc.status, message=exc.message, editor=editor)
    request.dbsession.execute(delete(FormStash).where(FormStash.user_id == user.id,
                                                      FormStash.path == request.path))
    if "indienen" in request.POST:
        submit_version = state.version if (saved or current_version) else version
        try:
            done = wf.transition(request.dbsession, state, user, "submit", submit_version)
        except wf.WorkflowError as exc:
            form = forms.make_form(request, form_action(request, state, editor))
            form.cstruct = form.schema.serialize(forms.snapshot_to_appstruct(data))
            _set_hidden(form, request, state.version)
            _attach_errors(form, exc.errors)
            prefix = ("Uw tekst is opgeslagen als concept, maar nog niet ingediend. " if saved
                      else "Nog niet ingediend. ")
            return render_form(request, form, state=state, status=exc.status, message=prefix + exc.message,
                               editor=editor, summary_title=exc.message.rstrip("."),
                               summary_intro=prefix + "Vul aan en dien opnieuw in:")
        if done:
            notify_editors(request, state)
            request.session.flash("Ingediend. De redactie bekijkt uw bijdrage; u krijgt bericht per e-mail.")
        else:  # the same click arrived twice (a double click, or a second tab): it was submitted once
            request.session.flash("Dit voorbeeld was al ingediend; het ligt bij de redactie. Er is niets "
                                  "veranderd.")
        target = (request.route_path("redactie_item", id=state.example.id) if editor
                  else request.route_path("mijn_bijdragen"))
        return HTTPSeeOther(location=target)
    request.session.flash("Opgeslagen." if saved else "Er was niets gewijzigd.")
    return HTTPSeeOther(location=form_action(request, state, editor))


def notify_editors(request, state: wf.ItemState) -> None:
    kind = "Een wijziging van een gepubliceerd voorbeeld" if state.has_copy else "Een nieuwe bijdrage"
    send_mail(request, wf.editor_addresses(request.dbsession), f"Ingediend: {state.example.title}",
              f"{kind} is ingediend en wacht op de redactie:\n\n{state.example.title}\n"
              f"{request.route_url('redactie_item', id=state.example.id)}")
    # The regiocoördinatoren of the item's regions (each their own message; other regions' coordinators not).
    for address in wf.coordinator_addresses(request.dbsession, state):
        send_mail(request, [address], f"Ingediend in uw regio: {state.example.title}",
                  f"{kind} uit uw regio is ingediend en wacht op beoordeling:\n\n{state.example.title}\n"
                  f"{request.route_url('redactie_item', id=state.example.id)}")


@view_config(route_name="bijdragen", request_method="GET", permission=Permissions.CONTRIBUTE)
def new_contribution(request):
    return show_form(request, None)


@view_config(route_name="bijdragen", request_method="POST", permission=Permissions.CONTRIBUTE)
def create_contribution(request):
    return process_form(request, None)


def _readonly(request, state: wf.ItemState, message: str, editor: bool = False):
    return render_to_response("portal:templates/workflow/status.jinja2", {
        "state": state, "message": message, "example": preview_example(request.dbsession, state.data(),
                                                                      state.example.slug),
        "related": [], "editor": editor,
        "remarks": wf.latest_remarks(request.dbsession, state.example.id),
        "field_labels": FIELD_LABELS,
        "breadcrumbs": crumbs(request, ("Mijn bijdragen", request.route_path("mijn_bijdragen")),
                              (state.example.title, None)),
    }, request=request)


@view_config(route_name="bijdrage", request_method="GET", permission=Permissions.EDIT,
             context=ContributionResource)
def edit_contribution(context, request):
    state = wf.ItemState(context.example, context.workflow)
    try:
        wf.check_can_edit(state, request.identity)
    except wf.WorkflowError as exc:
        return _readonly(request, state, exc.message)
    return show_form(request, state)


@view_config(route_name="bijdrage", request_method="POST", permission=Permissions.EDIT,
             context=ContributionResource)
def save_contribution(context, request):
    return process_form(request, wf.ItemState(context.example, context.workflow))


@view_config(route_name="mijn_bijdragen", renderer="portal:templates/workflow/mine.jinja2",
             permission=Permissions.CONTRIBUTE)
def my_contributions(request):
    items = wf.own_items(request.dbsession, request.identity)
    return {
        "items": [(state, *wf.latest_remarks(request.dbsession, state.example.id)) for state in items],
        "field_labels": FIELD_LABELS,
        "breadcrumbs": crumbs(request, ("Mijn bijdragen", None)),
    }


# --- the public tip form ------------------------------------------------------------------------------------------

TIP_FIELDS = {"name": 200, "email": 254, "organisation": 300, "description": 5000}
#: One-line fields: line breaks and control characters are refused (in the description they are removed).
TIP_ONELINE = ("name", "email", "organisation")


def _tip_page(request, values, errors, status=200, done=False):
    request.response.status_int = status
    return {"values": values, "errors": errors, "done": done, "csrf_token": get_csrf_token(request),
            "breadcrumbs": crumbs(request, ("Voorbeeld aanmelden", None))}


@view_config(route_name="voorbeeld_aanmelden", request_method="GET",
             renderer="portal:templates/workflow/tip.jinja2", permission=Permissions.VIEW)
def tip_form(request):
    return _tip_page(request, {}, {})


@view_config(route_name="voorbeeld_aanmelden", request_method="POST",
             renderer="portal:templates/workflow/tip.jinja2", permission=Permissions.VIEW)
def tip_submit(request):
    # The honeypot: a field hidden from people (and labelled as such for screen readers) that bots fill in.
    if (request.POST.get("website") or "").strip():
        return _tip_page(request, {}, {}, done=True)  # pretend success; store nothing
    values = {k: (request.POST.get(k) or "").strip() for k in TIP_FIELDS}
    errors = {k: error for k in TIP_ONELINE if (error := oneline_error(values[k]))}
    values["description"] = clean_text(values["description"])
    for field, maximum in TIP_FIELDS.items():
        if field not in errors and len(values[field]) > maximum:
            errors[field] = f"Te lang: maximaal {maximum} tekens."
    for field, label in (("name", "uw naam"), ("email", "uw e-mailadres"), ("description", "een beschrijving")):
        if not values[field]:
            errors[field] = f"Vul {label} in."
    if values["email"] and "email" not in errors and not EMAIL_RE.match(values["email"]):
        errors["email"] = "Dit is geen geldig e-mailadres."
    if errors:
        return _tip_page(request, values, errors, status=400)
    try:
        accounts.check_rate(request.dbsession, "aanmelding", client_address(request),
                            throttle_rules(request).form_limit, accounts.FORM_WINDOW)
    except accounts.TooManyAttempts as exc:
        set_retry_after(request, exc)
        return _tip_page(request, values, {"form": exc.message}, status=429)
    tip = CaseTip(**values)
    request.dbsession.add(tip)
    request.dbsession.flush()
    send_mail(request, wf.editor_addresses(request.dbsession), "Nieuwe aanmelding van een praktijkvoorbeeld",
              f"{tip.name} ({tip.organisation or 'geen organisatie'}) meldt een voorbeeld aan.\n"
              f"{request.route_url('redactie_aanmelding', id=tip.id)}")
    return _tip_page(request, {}, {}, done=True)
