"""Logging in and out, asking for an account, and what happens when a page needs a login."""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets

from pyramid.csrf import get_csrf_token
from pyramid.exceptions import BadCSRFOrigin, BadCSRFToken
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.security import forget, remember
from pyramid.view import exception_view_config, forbidden_view_config, view_config
from sqlalchemy import delete

from portal.accounts import services as accounts
from portal.accounts.models import FormStash
from portal.content.files import EMAIL_RE
from portal.content.models import utcnow
from portal.inputs import oneline_error
from portal.mail import send_mail
from portal.security import Permissions, user_has
from portal.views.errors import error_response
from portal.views.helpers import crumbs

#: Form pages whose posted data we keep across a re-login (the session expired while someone was typing).
RESUMABLE = re.compile(r"^/(bijdragen(/\d+)?|redactie/voorbeelden/\d+/bewerken)$")
MAX_RESUME = 1_000_000


def client_address(request) -> str:
    return request.client_addr or "onbekend"


def throttle_rules(request) -> accounts.ThrottleRules:
    return accounts.ThrottleRules.from_settings(request.registry.settings)


def set_retry_after(request, exc: accounts.AccountError) -> None:
    """A 429 tells how many seconds to wait, for browsers and scripts alike."""
    if isinstance(exc, accounts.TooManyAttempts):
        request.response.headers["Retry-After"] = str(exc.retry_after)


def safe_came_from(value: str | None, default: str = "/mijn-bijdragen") -> str:
    """Only local paths: never redirect to another site after logging in. A path with whitespace or control
    characters (CR/LF, U+3000, ...) is refused (``default`` instead); other non-ASCII characters are
    percent-encoded for the Location header."""
    from urllib.parse import quote

    if (isinstance(value, str) and value.startswith("/") and not value.startswith("//") and "\\" not in value
            and len(value) < 500 and value.isprintable() and not any(c.isspace() for c in value)):
        return quote(value, safe="/?&=%:@!$'()*+,;~-._#[]")
    return default


def landing_path(request, user) -> str:
    """Where someone lands after logging in without a (safe) destination of their own: editors and
    regiocoördinatoren on their queue /redactie, everyone else on /mijn-bijdragen."""
    if user_has(request.dbsession, user, Permissions.QUEUE):
        return request.route_path("redactie")
    return request.route_path("mijn_bijdragen")


def login_page(request, *, status: int = 200, error: str | None = None, email: str = "", came_from: str = "",
               resume: str = "", notice: str | None = None):
    request.response.status_int = status
    return {
        "error": error, "email": email, "came_from": came_from, "resume": resume, "notice": notice,
        "csrf_token": get_csrf_token(request),
        "breadcrumbs": crumbs(request, ("Inloggen", None)),
    }


@view_config(route_name="inloggen", request_method="GET", renderer="portal:templates/account/login.jinja2",
             permission=Permissions.VIEW)
def login_form(request):
    return login_page(request, came_from=safe_came_from(request.GET.get("came_from"), default=""))


@view_config(route_name="inloggen", request_method="POST", renderer="portal:templates/account/login.jinja2",
             permission=Permissions.VIEW)
def login(request):
    email = (request.POST.get("email") or "").strip()[:254]
    came_from = safe_came_from(request.POST.get("came_from"), default="")
    resume = request.POST.get("resume") or ""
    if len(resume) > MAX_RESUME:
        resume = ""
    try:
        user = accounts.authenticate(request.dbsession, email, request.POST.get("password") or "",
                                     client_address(request), throttle_rules(request))
    except accounts.AccountError as exc:
        set_retry_after(request, exc)
        return login_page(request, status=exc.status, error=exc.message, email=email, came_from=came_from,
                          resume=resume)
    keep = {}
    target = came_from or landing_path(request, user)
    if resume and RESUMABLE.match(came_from):
        try:
            controls = [(str(k), str(v)) for k, v in json.loads(resume)]
        except (ValueError, TypeError):
            controls = None
        if controls:
            token = secrets.token_urlsafe(24)
            request.dbsession.execute(delete(FormStash).where(
                FormStash.created_at < utcnow() - dt.timedelta(days=2)))
            request.dbsession.add(FormStash(token=token, user_id=user.id, path=came_from, controls=controls))
            target = f"{came_from}?herstel={token}"
    headers = remember(request, user.id, keep=keep)
    request.session.flash(f"Welkom, {user.name}. U bent ingelogd.")
    return HTTPSeeOther(location=target, headers=headers)


@view_config(route_name="uitloggen", request_method="GET", renderer="portal:templates/account/logout.jinja2",
             permission=Permissions.VIEW)
def logout_form(request):
    return {"csrf_token": get_csrf_token(request), "breadcrumbs": crumbs(request, ("Uitloggen", None))}


@view_config(route_name="uitloggen", request_method="POST", permission=Permissions.VIEW)
def logout(request):
    headers = forget(request)
    request.session.flash("U bent uitgelogd.")
    return HTTPSeeOther(location=request.route_path("home"), headers=headers)


def _request_form(request, values: dict, errors: dict, status: int = 200, done: bool = False):
    request.response.status_int = status
    return {"values": values, "errors": errors, "done": done, "csrf_token": get_csrf_token(request),
            "breadcrumbs": crumbs(request, ("Account aanvragen", None))}


@view_config(route_name="account_aanvragen", request_method="GET",
             renderer="portal:templates/account/request.jinja2", permission=Permissions.VIEW)
def account_request_form(request):
    return _request_form(request, {}, {})


REQUEST_FIELDS = {"name": 200, "email": 254, "organisation": 300, "region": 200, "motivation": 2000}


@view_config(route_name="account_aanvragen", request_method="POST",
             renderer="portal:templates/account/request.jinja2", permission=Permissions.VIEW)
def account_request(request):
    values = {k: (request.POST.get(k) or "").strip() for k in REQUEST_FIELDS}
    errors = {}
    for field, maximum in REQUEST_FIELDS.items():
        if len(values[field]) > maximum:
            errors[field] = f"Te lang: maximaal {maximum} tekens."
        elif oneline_error(values[field]):
            errors[field] = oneline_error(values[field])
    for field, label in (("name", "uw naam"), ("email", "uw e-mailadres"), ("organisation", "uw organisatie")):
        if not values[field]:
            errors[field] = f"Vul {label} in."
    if values["email"] and "email" not in errors and not EMAIL_RE.match(values["email"]):
        errors["email"] = "Dit is geen geldig e-mailadres."
    password, repeat = request.POST.get("password") or "", request.POST.get("password_repeat") or ""
    problem = accounts.check_password_strength(password, values["email"])
    if problem:
        errors["password"] = problem
    elif password != repeat:
        errors["password_repeat"] = "De wachtwoorden zijn niet gelijk."  # noqa: S105 - a message
    if errors:
        return _request_form(request, values, errors, status=400)
    try:
        accounts.check_rate(request.dbsession, "aanvraag", client_address(request),
                            limit=throttle_rules(request).form_limit, window=accounts.FORM_WINDOW)
    except accounts.TooManyAttempts as exc:
        set_retry_after(request, exc)
        return _request_form(request, values, {"form": exc.message}, status=429)
    account_request = accounts.request_account(request.dbsession, password=password, **values)
    admins = [u.email for u in _admins(request)]
    send_mail(request, admins, "Nieuwe accountaanvraag",
              f"{account_request.name} ({account_request.organisation}) vraagt een account aan als bijdrager.\n"
              f"Beoordeel de aanvraag op {request.route_url('beheer_gebruikers')}")
    return _request_form(request, {}, {}, done=True)


def _admins(request):
    from sqlalchemy import select

    from portal.accounts.models import Role, User

    return request.dbsession.scalars(select(User).where(User.role == Role.ADMIN, User.active.is_(True)))


@forbidden_view_config(renderer="portal:templates/account/login.jinja2")
def forbidden(exc, request):
    """Anonymous: log in first (keeping posted form data). Logged in without the right: a Dutch 403 page."""
    if request.identity is not None:
        return error_response(request, 403, "U heeft geen toegang tot deze pagina met uw account.")
    if request.path.startswith("/api/"):
        return error_response(request, 403, "Inloggen is nodig voor deze gegevens.")
    if request.method in ("GET", "HEAD"):
        return HTTPSeeOther(location=request.route_path("inloggen", _query={"came_from": request.path_qs}))
    resume = ""
    if RESUMABLE.match(request.path):
        controls = [(k, v) for k, v in request.POST.items() if k != "csrf_token" and isinstance(v, str)]
        resume = json.dumps(controls)
        if len(resume) > MAX_RESUME:
            resume = ""
    notice = ("Uw sessie is verlopen. Log opnieuw in; daarna staat wat u typte weer in het formulier."
              if resume else "Log in om verder te gaan.")
    return login_page(request, status=403, came_from=request.path, resume=resume, notice=notice)


@exception_view_config(BadCSRFToken)
@exception_view_config(BadCSRFOrigin)
def bad_csrf(exc, request):
    return error_response(request, 400, "Dit formulier is verlopen of niet vanaf deze website verstuurd. Er is "
                                        "niets opgeslagen. Ga terug, laad de pagina opnieuw en probeer het nog eens.")
