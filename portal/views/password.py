"""Password self-service: change one's own password, and "wachtwoord vergeten" with a signed, single-use link."""

from __future__ import annotations

import datetime as dt

from pyramid.csrf import get_csrf_token
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.security import remember
from pyramid.view import view_config
from sqlalchemy import select

from portal.accounts import services as accounts
from portal.accounts import sessions
from portal.accounts.models import User
from portal.content.files import EMAIL_RE
from portal.mail import send_mail
from portal.security import Permissions
from portal.views.helpers import crumbs

FORGOT_DONE = ("Als dit e-mailadres bij een actief account hoort, hebben we er zojuist een e-mail naartoe gestuurd met "
               "een link om een nieuw wachtwoord in te stellen. De link is één uur geldig en werkt één keer. Geen "
               "e-mail ontvangen? Kijk ook in uw map met ongewenste e-mail, of vraag over een paar minuten een nieuwe "
               "link aan.")
#: Reset mails per address and hour; more requests get the same answer but no mail.
FORGOT_PER_ADDRESS = 3
#: Forgot-password requests per client address and hour before the form answers 429.
FORGOT_PER_CLIENT = 20
#: Wrong current passwords on the change form within CHANGE_WINDOW before it answers 429.
CHANGE_FAILURES = 5
CHANGE_WINDOW = dt.timedelta(minutes=15)


def _client(request) -> str:
    return request.client_addr or "onbekend"


def _new_password_errors(request, email: str) -> tuple[str, dict]:
    password, repeat = request.POST.get("password") or "", request.POST.get("password_repeat") or ""
    errors = {}
    problem = accounts.check_password_strength(password, email)
    if problem:
        errors["password"] = problem
    elif password != repeat:
        errors["password_repeat"] = "De wachtwoorden zijn niet gelijk."  # noqa: S105 - a message
    return password, errors


def _start_fresh_session(request, user: User) -> list:
    """After a password change: every session of the user ends, this browser gets a brand-new one."""
    sessions.end_sessions(request.dbsession, user.id)
    return remember(request, user.id)


# --- change (logged in) ---------------------------------------------------------------------------------------

def _change_page(request, errors: dict, status: int = 200):
    request.response.status_int = status
    return {"errors": errors, "values": {}, "csrf_token": get_csrf_token(request),
            "breadcrumbs": crumbs(request, ("Wachtwoord wijzigen", None))}


@view_config(route_name="wachtwoord_wijzigen", request_method="GET", permission=Permissions.ACCOUNT,
             renderer="portal:templates/account/password_change.jinja2")
def change_form(request):
    return _change_page(request, {})


@view_config(route_name="wachtwoord_wijzigen", request_method="POST", permission=Permissions.ACCOUNT,
             renderer="portal:templates/account/password_change.jinja2")
def change(request):
    user = request.identity
    if not accounts.password_matches(user.password_hash, request.POST.get("current_password") or ""):
        try:
            accounts.check_rate(request.dbsession, "wachtwoord-wijzig", f"user:{user.id}", limit=CHANGE_FAILURES,
                                window=CHANGE_WINDOW)
        except accounts.TooManyAttempts as exc:
            request.response.headers["Retry-After"] = str(exc.retry_after)
            return _change_page(request, {"form": "U heeft te vaak een verkeerd huidig wachtwoord ingevuld. Probeer "
                                                  "het over een kwartier opnieuw."}, status=429)
        return _change_page(request, {"current_password": "Dit is niet uw huidige wachtwoord."}, status=400)
    password, errors = _new_password_errors(request, user.email)
    if errors:
        return _change_page(request, errors, status=400)
    accounts.set_password(user, password)
    headers = _start_fresh_session(request, user)
    request.session.flash("Uw wachtwoord is gewijzigd. Op andere apparaten en browsers bent u uitgelogd.")
    return HTTPSeeOther(location=request.route_path("wachtwoord_wijzigen"), headers=headers)


# --- forgotten (anonymous) ------------------------------------------------------------------------------------

def _forgot_page(request, values: dict, errors: dict, done: bool = False, status: int = 200):
    request.response.status_int = status
    return {"values": values, "errors": errors, "done": done, "csrf_token": get_csrf_token(request),
            "done_text": FORGOT_DONE, "breadcrumbs": crumbs(request, ("Wachtwoord vergeten", None))}


@view_config(route_name="wachtwoord_vergeten", request_method="GET", permission=Permissions.VIEW,
             renderer="portal:templates/account/password_forgot.jinja2")
def forgot_form(request):
    return _forgot_page(request, {}, {})


@view_config(route_name="wachtwoord_vergeten", request_method="POST", permission=Permissions.VIEW,
             renderer="portal:templates/account/password_forgot.jinja2")
def forgot(request):
    email = (request.POST.get("email") or "").strip().lower()[:254]
    if not email or not EMAIL_RE.match(email):
        return _forgot_page(request, {"email": email}, {"email": "Vul een geldig e-mailadres in."}, status=400)
    try:
        accounts.check_rate(request.dbsession, "wachtwoord-ip", _client(request), limit=FORGOT_PER_CLIENT,
                            window=dt.timedelta(hours=1))
    except accounts.TooManyAttempts as exc:
        request.response.headers["Retry-After"] = str(exc.retry_after)
        return _forgot_page(request, {"email": email}, {"form": "Er zijn vanaf uw netwerk te veel herstel-links "
                                                                "aangevraagd. Probeer het over een uur opnieuw."},
                            status=429)
    try:
        # Counted for every address, known or not, so the answer never tells whether an account exists.
        accounts.check_rate(request.dbsession, "wachtwoord", f"u:{email}", limit=FORGOT_PER_ADDRESS,
                            window=dt.timedelta(hours=1))
        throttled = False
    except accounts.TooManyAttempts:
        throttled = True
    user = request.dbsession.scalar(select(User).where(User.email == email))
    if user is not None and user.active and not throttled:
        token = sessions.make_reset_token(request.registry.settings["portal.secret"], user)
        link = request.route_url("wachtwoord_herstellen", token=token)
        send_mail(request, [user.email], "Nieuw wachtwoord instellen",
                  f"Beste {user.name},\n\n"
                  "Iemand, waarschijnlijk u, heeft gevraagd om een nieuw wachtwoord voor uw account op het "
                  "Kennisportaal Onderwijs & Jeugd. Via deze link stelt u een nieuw wachtwoord in:\n\n"
                  f"{link}\n\n"
                  "De link is één uur geldig en werkt één keer. Na het instellen bent u op alle andere apparaten "
                  "uitgelogd.\n\n"
                  "Heeft u dit niet zelf gevraagd? Dan hoeft u niets te doen: uw wachtwoord blijft zoals het is.")
    return _forgot_page(request, {}, {}, done=True)


# --- reset with the link from the mail ------------------------------------------------------------------------

def _reset_page(request, token: str, errors: dict, invalid: str | None = None, status: int = 200):
    request.response.status_int = status
    request.response.cache_control.no_store = True
    return {"token": token, "errors": errors, "values": {}, "invalid": invalid,
            "csrf_token": get_csrf_token(request), "breadcrumbs": crumbs(request, ("Nieuw wachtwoord", None))}


def _check(request) -> tuple[str, User | None, str | None]:
    token = request.matchdict.get("token", "")
    try:
        return token, sessions.check_reset_token(request.dbsession, request.registry.settings["portal.secret"],
                                                 token), None
    except sessions.ResetLinkError as exc:
        return token, None, str(exc)


@view_config(route_name="wachtwoord_herstellen", request_method="GET", permission=Permissions.VIEW,
             renderer="portal:templates/account/password_reset.jinja2")
def reset_form(request):
    token, user, problem = _check(request)
    if user is None:
        return _reset_page(request, "", {}, invalid=problem, status=400)
    return _reset_page(request, token, {})


@view_config(route_name="wachtwoord_herstellen", request_method="POST", permission=Permissions.VIEW,
             renderer="portal:templates/account/password_reset.jinja2")
def reset(request):
    token, user, problem = _check(request)
    if user is None:
        return _reset_page(request, "", {}, invalid=problem, status=400)
    password, errors = _new_password_errors(request, user.email)
    if errors:
        return _reset_page(request, token, errors, status=400)
    accounts.set_password(user, password)
    headers = _start_fresh_session(request, user)
    request.session.flash("Uw nieuwe wachtwoord is ingesteld en u bent ingelogd. Op alle andere apparaten bent u "
                          "uitgelogd.")
    return HTTPSeeOther(location=request.route_path("wachtwoord_wijzigen"), headers=headers)
