"""Permission matrix: every route of the real route table, tried by every role and by anonymous visitors.

Routes not listed in RESTRICTED must be open to everyone; the restricted ones to exactly the roles named. The item
lies in gemeente Zwolle: one regiocoördinator coordinates Zwolle's jeugdregio (COORD_IN), the other the jeugdregio
of Hengelo (COORD_OUT), so the matrix proves a coordinator can do nothing with an item outside their regions.
"""

from __future__ import annotations

import re

import pytest
from pyramid.interfaces import IRoutesMapper
from sqlalchemy import select
from workflow.helpers import add_user, csrf_token, login

from portal.accounts import coordination
from portal.accounts import services as accounts
from portal.accounts.models import AccountRequest, User
from portal.content.models import PracticeExample, Region, Source, Status, Theme
from portal.workflow import services as wf
from portal.workflow.models import CaseTip

ANON, OWNER, OTHER, EDITOR, ADMIN = "bezoeker", "bijdrager", "andere-bijdrager", "redacteur", "beheerder"
COORD_IN, COORD_OUT = "regiocoordinator-hier", "regiocoordinator-elders"
ROLES = (ANON, OWNER, OTHER, COORD_IN, COORD_OUT, EDITOR, ADMIN)
COORDINATORS = {COORD_IN, COORD_OUT}
CONTRIBUTORS = {OWNER, OTHER, EDITOR, ADMIN} | COORDINATORS
EDITORS = {EDITOR, ADMIN}
#: Who may review this item: the editors and the coordinator of its region, never the other coordinator.
REVIEWERS = EDITORS | {COORD_IN}

RESTRICTED: dict[str, set[str]] = {
    "bijdragen": CONTRIBUTORS,
    "mijn_bijdragen": CONTRIBUTORS,
    "wachtwoord_wijzigen": CONTRIBUTORS,  # every logged-in user
    "bijdrage": {OWNER, EDITOR, ADMIN},
    "redactie": EDITORS | COORDINATORS,  # a coordinator's queue lists only their regions' items
    "redactie_item": REVIEWERS,
    "redactie_besluit": REVIEWERS,
    "redactie_bewerken": REVIEWERS,
    "redactie_geschiedenis": REVIEWERS,
    "redactie_revisie": REVIEWERS,
    "redactie_herstellen": REVIEWERS,
    "redactie_offline": REVIEWERS,
    "redactie_online": REVIEWERS,
    "redactie_aanmelding": EDITORS,
    "redactie_vermelding": COORDINATORS | {ADMIN},
    "beheer_gebruikers": {ADMIN},
    "beheer_gebruiker": {ADMIN},
    "beheer_regios": {ADMIN},
    "beheer_aanvraag": {ADMIN},
}
POST_ONLY = {"redactie_besluit", "redactie_herstellen", "redactie_offline", "redactie_online", "redactie_vermelding",
             "beheer_gebruiker", "beheer_aanvraag"}
LOGIN_USERS = {OWNER: "eigenaar@example.nl", OTHER: "ander@example.nl", EDITOR: "redacteur@example.nl",
               ADMIN: "beheerder@example.nl", COORD_IN: "coord-hier@example.nl", COORD_OUT: "coord-elders@example.nl"}


@pytest.fixture(scope="module")
def world(database_factory, tmp_path_factory):
    from conftest import Site

    site = Site(database_factory.copy(), tmp_path_factory.mktemp("matrix"))
    ids = {}
    for role, email in LOGIN_USERS.items():
        ids[role] = add_user(site, email, "bijdrager" if role in (OTHER, *COORDINATORS) else role)
    with site.session() as db:
        owner = db.get(User, ids[OWNER])
        admin = db.get(User, ids[ADMIN])
        for role, gemeente in ((COORD_IN, "zwolle"), (COORD_OUT, "hengelo")):
            youth_region = db.scalar(select(Region).where(Region.slug == gemeente)).youth_region
            coordination.grant(db, db.get(User, ids[role]), youth_region, admin)
        state, _ = wf.create_contribution(db, owner, {"title": "Matrixvoorbeeld", "tips": ["tip"],
                                                      "gemeente": "zwolle"}, "t" * 20)
        wf.save(db, state, owner, {**state.data(), "summary": "tweede versie"}, state.version)
        tip = CaseTip(name="Tipgever", email="tip@example.nl", description="Kijk eens in Ede.")
        db.add(tip)
        request = accounts.request_account(db, email="nieuw@example.nl", name="Nieuw", organisation="X",
                                           region="", motivation="", password="een-lang-wachtwoord")
        db.flush()
        values = {
            "id_bijdrage": state.example.id, "id_tip": tip.id, "id_request": request.id,
            "voorbeelden": db.scalar(select(PracticeExample.slug).where(PracticeExample.status == Status.PUBLISHED)),
            "themas": db.scalar(select(Theme.slug)), "regios": db.scalar(select(Region.slug)),
            "bronnen": db.scalar(select(Source.slug)),
        }
    apps = {ANON: site.testapp()}
    for role, email in LOGIN_USERS.items():
        apps[role] = site.testapp()
        login(apps[role], email)
    yield site, apps, values, ids
    site.close()
    database_factory.drop(site.db_url)


def routes(site):
    mapper = site.registry.getUtility(IRoutesMapper)
    return [r for r in mapper.get_routes() if not r.name.startswith("__")]


def fill(route, values, ids) -> str:
    def value(match):
        name = match.group(1)
        if name == "id":
            if route.name.startswith("beheer_gebruiker") or route.name == "beheer_regios":
                return str(ids[OTHER])
            if route.name == "beheer_aanvraag":
                return str(values["id_request"])
            if route.name == "redactie_aanmelding":
                return str(values["id_tip"])
            return str(values["id_bijdrage"])
        if name == "number":
            return "1"
        prefix = route.pattern.strip("/").split("/")[0]
        if route.pattern.startswith("/api/voorbeelden"):
            prefix = "voorbeelden"
        return str(values.get(prefix, "onbekend"))

    return re.sub(r"\{(\w+)(?::[^}]*)?\}", value, route.pattern)


def allowed(app, route, path) -> bool:
    if route.name in POST_ONLY:
        # No action/version fields: an allowed user gets a 4xx about the form, never a change.
        response = app.post(path, {"csrf_token": csrf_token(app)}, status="*")
    else:
        response = app.get(path, status="*")
    if response.status_int == 403:
        return False
    if response.status_int in (302, 303) and "/inloggen" in response.location:
        return False
    if response.status_int >= 500:
        raise ServerError(f"{route.name} {path}: {response.status}")
    return True


class ServerError(AssertionError):
    pass


def test_permission_matrix(world):
    site, apps, values, ids = world
    table = routes(site)
    names = {r.name for r in table}
    assert set(RESTRICTED) <= names, set(RESTRICTED) - names
    failures = []
    for route in table:
        path = fill(route, values, ids)
        expected = RESTRICTED.get(route.name, set(ROLES))
        try:
            actual = {role for role in ROLES if allowed(apps[role], route, path)}
        except ServerError as exc:
            failures.append(str(exc))
            continue
        if actual != expected:
            failures.append(f"{route.name} {path}: allowed {sorted(actual)}, expected {sorted(expected)}")
    assert not failures, "\n".join(failures)


def test_matrix_changed_nothing(world):
    site, _apps, values, _ids = world
    with site.session() as db:
        example = db.get(PracticeExample, values["id_bijdrage"])
        assert example.status == Status.DRAFT and example.summary == "tweede versie"
        assert db.get(CaseTip, values["id_tip"]).handled is False
        assert db.get(AccountRequest, values["id_request"]).status == "open"


def test_anonymous_get_of_protected_page_redirects_to_login(world):
    _site, apps, _values, _ids = world
    response = apps[ANON].get("/mijn-bijdragen", status=303)
    assert "/inloggen?came_from=%2Fmijn-bijdragen" in response.location


def test_wrong_role_gets_dutch_403(world):
    _site, apps, _values, _ids = world
    response = apps[OWNER].get("/redactie", status=403)
    assert "Geen toegang" in response.text and '<html lang="nl">' in response.text


def test_unknown_and_malformed_ids_are_404(world):
    _site, apps, _values, _ids = world
    for path in ("/bijdragen/999999", "/bijdragen/abc", "/redactie/voorbeelden/0", "/redactie/aanmeldingen/x"):
        apps[EDITOR].get(path, status=404)


def test_coordinator_queue_lists_only_their_regions(world):
    _site, apps, _values, _ids = world
    assert "Matrixvoorbeeld" in apps[COORD_IN].get("/redactie")
    elsewhere = apps[COORD_OUT].get("/redactie")
    assert "Matrixvoorbeeld" not in elsewhere and "Aanmeldingen van bezoekers" not in elsewhere
    assert "Matrixvoorbeeld" in apps[EDITOR].get("/redactie")
