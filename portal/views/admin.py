"""Account management for beheerders: approve requests, change roles, disable, reset passwords, and grant or
revoke the coordination of regions (regiocoördinatoren)."""

from __future__ import annotations

from pyramid.csrf import get_csrf_token
from pyramid.httpexceptions import HTTPBadRequest, HTTPNotFound, HTTPSeeOther
from pyramid.view import view_config
from sqlalchemy import select

from portal.accounts import coordination
from portal.accounts import services as accounts
from portal.accounts.models import AccountRequest, Role, User
from portal.content.models import Region
from portal.inputs import clean_text, parse_id
from portal.mail import send_mail
from portal.security import Permissions
from portal.views.helpers import crumbs


def _page(request, **extra):
    users = list(request.dbsession.scalars(select(User).order_by(User.name)))
    grants: dict[int, list] = {}
    for grant in coordination.active_grants(request.dbsession):
        grants.setdefault(grant.user_id, []).append(grant.region)
    return {"users": users, "requests": accounts.pending_requests(request.dbsession), "roles": Role.LABELS,
            "grants": grants, "grantable": coordination.GRANTABLE_ROLES,
            "csrf_token": get_csrf_token(request), "new_password": None, "error": None,
            "breadcrumbs": crumbs(request, ("Beheer", None), ("Gebruikers", None))} | extra


def _by_id(request, model):
    item_id = parse_id(request.matchdict.get("id", ""))
    item = request.dbsession.get(model, item_id) if item_id is not None else None
    if item is None:
        raise HTTPNotFound("Deze gebruiker of aanvraag bestaat niet.")
    return item


@view_config(route_name="beheer_gebruikers", renderer="portal:templates/account/users.jinja2",
             permission=Permissions.MANAGE_USERS)
def users(request):
    return _page(request)


@view_config(route_name="beheer_gebruiker", request_method="POST", renderer="portal:templates/account/users.jinja2",
             permission=Permissions.MANAGE_USERS)
def change_user(request):
    user = _by_id(request, User)
    action = request.POST.get("action", "")
    try:
        if action == "role":
            if user.id == request.identity.id:
                raise accounts.AccountError("U kunt uw eigen rol niet wijzigen.")
            accounts.set_role(user, request.POST.get("role", ""))
            request.session.flash(f"De rol van {user.name} is nu {user.role_label}.")
        elif action in ("disable", "enable"):
            if user.id == request.identity.id:
                raise accounts.AccountError("U kunt uw eigen account niet uitschakelen.")
            accounts.set_active(user, action == "enable")
            state = "weer actief" if user.active else "uitgeschakeld"
            request.session.flash(f"Het account van {user.name} is {state}.")
        elif action == "reset-password":
            password = accounts.generate_password()
            accounts.set_password(user, password)
            # Shown once to the beheerder, who passes it on; never stored in the clear.
            return _page(request, new_password=(user, password))
        else:
            raise HTTPBadRequest("Onbekende actie.")
    except accounts.AccountError as exc:
        request.response.status_int = exc.status
        return _page(request, error=exc.message)
    return HTTPSeeOther(location=request.route_path("beheer_gebruikers"))


@view_config(route_name="beheer_aanvraag", request_method="POST", renderer="portal:templates/account/users.jinja2",
             permission=Permissions.MANAGE_USERS)
def decide_request(request):
    account_request = _by_id(request, AccountRequest)
    decision = request.POST.get("decision", "")
    if decision not in ("approve", "decline"):
        raise HTTPBadRequest("Onbekende beslissing.")
    note = clean_text(request.POST.get("note") or "").strip()[:2000]
    try:
        user = accounts.decide_request(request.dbsession, account_request, request.identity,
                                       decision == "approve", note)
    except accounts.AccountError as exc:
        request.response.status_int = exc.status
        return _page(request, error=exc.message)
    if user is not None:
        send_mail(request, [user.email], "Uw account is goedgekeurd",
                  f"Welkom bij het Kennisportaal, {user.name}. U kunt nu inloggen met uw e-mailadres en het "
                  f"wachtwoord dat u koos:\n{request.route_url('inloggen')}")
        request.session.flash(f"{user.name} heeft nu een account als bijdrager.")
    else:
        send_mail(request, [account_request.email], "Uw accountaanvraag",
                  "Uw aanvraag voor een account is niet goedgekeurd." + (f"\n\n{note}" if note else ""))
        request.session.flash("De aanvraag is afgewezen.")
    return HTTPSeeOther(location=request.route_path("beheer_gebruikers"))


def _regions_page(request, user: User, status: int = 200, error: str | None = None):
    request.response.status_int = status
    return {"user": user, "grants": coordination.active_grants(request.dbsession, user),
            "regions": coordination.regions_by_kind(request.dbsession),
            "grantable": user.role in coordination.GRANTABLE_ROLES,
            "error": error, "csrf_token": get_csrf_token(request),
            "breadcrumbs": crumbs(request, ("Beheer", None), ("Gebruikers", request.route_path("beheer_gebruikers")),
                                  (f"Regio's van {user.name}", None))}


@view_config(route_name="beheer_regios", request_method="GET", renderer="portal:templates/account/regions.jinja2",
             permission=Permissions.MANAGE_USERS)
def user_regions(request):
    return _regions_page(request, _by_id(request, User))


@view_config(route_name="beheer_regios", request_method="POST", renderer="portal:templates/account/regions.jinja2",
             permission=Permissions.MANAGE_USERS)
def change_user_regions(request):
    """Grant or revoke the coordination of one region (recorded with who and when)."""
    user = _by_id(request, User)
    action = request.POST.get("action", "")
    if action not in ("grant", "revoke"):
        raise HTTPBadRequest("Onbekende actie. Er is niets gewijzigd.")
    slug = request.POST.get("region", "")
    region = request.dbsession.scalar(select(Region).where(Region.slug == slug)) if isinstance(slug, str) else None
    if region is None:
        return _regions_page(request, user, 400, "Kies een regio uit de lijst.")
    try:
        if action == "grant":
            done = coordination.grant(request.dbsession, user, region, request.identity)
            request.session.flash(f"{user.name} coördineert nu {region.name}." if done else
                                  f"{user.name} coördineerde {region.name} al; er is niets gewijzigd.")
        else:
            done = coordination.revoke(request.dbsession, user, region, request.identity)
            request.session.flash(f"{user.name} coördineert {region.name} niet meer." if done else
                                  f"{user.name} coördineerde {region.name} niet; er is niets gewijzigd.")
    except accounts.AccountError as exc:
        return _regions_page(request, user, exc.status, exc.message)
    return HTTPSeeOther(location=request.route_path("beheer_regios", id=user.id))
