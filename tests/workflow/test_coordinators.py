"""Regional coordinators through the real app: a beheerder grants a jeugdregio, a contributor from that region
submits, the region's coordinator (and not the coordinator of another region) gets the mail, reviews and publishes;
outside their regions a coordinator is refused (403) and nothing changes."""

from __future__ import annotations

from sqlalchemy import func, select

from portal.accounts.models import RegionGrant, Role, User
from portal.content.models import PracticeExample, Region, Status
from portal.workflow.models import ExampleWorkflow, Transition
from workflow.helpers import (
    add_user,
    contribution_form,
    csrf_token,
    fill_complete,
    login,
    mail_text,
    mail_to,
)


def youth_region_of(site, gemeente: str) -> Region:
    with site.session() as db:
        region = db.scalar(select(Region).where(Region.slug == gemeente)).youth_region
        db.expunge(region)
        return region


def _user_id(site, email: str) -> int:
    with site.session() as db:
        return db.scalar(select(User.id).where(User.email == email))


def grant_in_admin_ui(admin, user_id: int, region_slug: str):
    """The beheerder's way: the users page links to the user's regions page, which has a list of all regions."""
    users = admin.get("/beheer/gebruikers")
    assert f"/beheer/gebruikers/{user_id}/regios" in users.text
    page = admin.get(f"/beheer/gebruikers/{user_id}/regios")
    form = next(f for f in page.forms.values() if "region" in f.fields and f.fields["region"][0].tag == "select")
    assert region_slug in [value for value, _sel, _text in form["region"].options]
    form["region"] = region_slug
    return form.submit("action", value="grant", status=303).follow()


def submit_contribution(app, title: str, gemeente: str) -> int:
    form = contribution_form(app.get("/bijdragen"))
    fill_complete(form, title=title, gemeente=gemeente, place=gemeente.capitalize())
    response = form.submit("indienen", status=303)
    assert response.location.endswith("/mijn-bijdragen")
    with_item = response.follow()
    assert "Ingediend" in with_item
    return int(next(a for a in with_item.html.select("a[href^='/bijdragen/']")
                    if a.get_text(strip=True) == title)["href"].rsplit("/", 1)[1])


def _decide_form(page):
    return page.forms[next(k for k, f in page.forms.items() if f.action.endswith("/besluit"))]


def _snapshot(site, example_id: int):
    with site.session() as db:
        example = db.get(PracticeExample, example_id)
        workflow = db.get(ExampleWorkflow, example_id)
        steps = db.scalar(select(func.count(Transition.id)).where(Transition.example_id == example_id))
        return example.status, example.title, workflow.version, workflow.copy_status, steps


def test_coordinator_story(site):
    add_user(site, "beheer@example.nl", "beheerder", name="Bea Beheer")
    add_user(site, "redactie@example.nl", "redacteur", name="Rik Redactie")
    add_user(site, "carla@example.nl", "bijdrager", name="Carla Coördinator")
    add_user(site, "otto@example.nl", "bijdrager", name="Otto Overkant")
    add_user(site, "bert@example.nl", "bijdrager", name="Bert Bijdrager")
    carla_id, otto_id = _user_id(site, "carla@example.nl"), _user_id(site, "otto@example.nl")
    ijsselland = youth_region_of(site, "zwolle")  # Zwolle's jeugdregio
    twente = youth_region_of(site, "hengelo")  # another jeugdregio in the same provincie
    assert ijsselland.id != twente.id

    # 1. The beheerder grants the jeugdregio of Zwolle to Carla and that of Hengelo to Otto, in the admin UI.
    admin = site.testapp()
    login(admin, "beheer@example.nl")
    page = grant_in_admin_ui(admin, carla_id, ijsselland.slug)
    assert f"Carla Coördinator coördineert nu {ijsselland.name}." in page
    grant_in_admin_ui(admin, otto_id, twente.slug)
    with site.session() as db:
        grant = db.scalar(select(RegionGrant).where(RegionGrant.user_id == carla_id))
        assert grant.region_id == ijsselland.id and grant.revoked_at is None and grant.granted_at is not None
        assert grant.granted_by.email == "beheer@example.nl"  # recorded who and when
        assert db.get(User, carla_id).role == Role.COORDINATOR
    assert "Regiocoördinator" in admin.get("/beheer/gebruikers")

    # 2. A contributor from Zwolle submits; another item lies in Hengelo.
    bert = site.testapp()
    login(bert, "bert@example.nl")
    zwolle_id = submit_contribution(bert, "Samen sterk in Zwolle", "zwolle")
    hengelo_id = submit_contribution(bert, "Thuisnabij onderwijs in Hengelo", "hengelo")

    # 3. The mail reaches the editors and the coordinator of the region, not the coordinator of the other region.
    assert any("Samen sterk in Zwolle" in m["Subject"] for m in mail_to(site, "redactie@example.nl"))
    carla_mail = [m for m in mail_to(site, "carla@example.nl") if "Samen sterk in Zwolle" in m["Subject"]]
    assert len(carla_mail) == 1 and f"/redactie/voorbeelden/{zwolle_id}" in mail_text(carla_mail[0])
    assert not any("Samen sterk in Zwolle" in m["Subject"] for m in mail_to(site, "otto@example.nl"))
    assert any("Hengelo" in m["Subject"] for m in mail_to(site, "otto@example.nl"))
    assert not any("Hengelo" in m["Subject"] for m in mail_to(site, "carla@example.nl"))

    # 4. Carla logs in and lands on her queue: only her region's item, with region, age and who submitted it.
    carla = site.testapp()
    landed = login(carla, "carla@example.nl")
    assert landed.location.endswith("/redactie")
    queue = landed.follow()
    assert "Samen sterk in Zwolle" in queue and "Thuisnabij onderwijs in Hengelo" not in queue
    row = next(tr for tr in queue.html.select("tr") if "Samen sterk in Zwolle" in tr.get_text())
    cells = [td.get_text(" ", strip=True) for td in row.select("td")]
    assert f"Zwolle ({ijsselland.name})" in cells and "minder dan een uur" in cells
    assert any("Bert Bijdrager" in c for c in cells)
    assert "aanmeldingen" not in queue.text.lower()  # public tips are for the national editors
    editor = site.testapp()
    login(editor, "redactie@example.nl")
    national = editor.get("/redactie")
    assert "Samen sterk in Zwolle" in national and "Thuisnabij onderwijs in Hengelo" in national

    # 5. Carla reviews and publishes the Zwolle item; the public sees it.
    review = carla.get(f"/redactie/voorbeelden/{zwolle_id}")
    _decide_form(review).submit("action", value="publish", status=303)
    slug = site_slug(site, zwolle_id)
    assert "Samen sterk in Zwolle" in site.testapp().get(f"/voorbeelden/{slug}")
    assert any(m["Subject"] == "Gepubliceerd: Samen sterk in Zwolle" for m in mail_to(site, "bert@example.nl"))

    # 6. On the Hengelo item Carla is refused everywhere (403, Dutch), and nothing changes in the database.
    before = _snapshot(site, hengelo_id)
    version = before[2]
    token = csrf_token(carla)
    for path in (f"/redactie/voorbeelden/{hengelo_id}", f"/redactie/voorbeelden/{hengelo_id}/bewerken",
                 f"/redactie/voorbeelden/{hengelo_id}/geschiedenis", f"/bijdragen/{hengelo_id}"):
        refused = carla.get(path, status=403)
        assert "Geen toegang" in refused.text and '<html lang="nl">' in refused.text
    for action in ("publish", "reject", "return"):
        carla.post(f"/redactie/voorbeelden/{hengelo_id}/besluit",
                   {"csrf_token": token, "version": str(version), "action": action, "reason": "Niet mijn regio",
                    "remark_title": "Andere titel"}, status=403)
    carla.post(f"/redactie/voorbeelden/{hengelo_id}/bewerken",
               {"csrf_token": token, "version": str(version), "title": "Gekaapt", "publiceren": "1"}, status=403)
    carla.post(f"/redactie/voorbeelden/{hengelo_id}/offline", {"csrf_token": token, "reason": "x"}, status=403)
    carla.post(f"/redactie/voorbeelden/{hengelo_id}/revisies/1/herstellen",
               {"csrf_token": token, "version": str(version)}, status=403)
    assert _snapshot(site, hengelo_id) == before
    assert before[0] == Status.SUBMITTED

    # Otto, the coordinator of that region, may review it.
    otto = site.testapp()
    login(otto, "otto@example.nl")
    assert "Thuisnabij onderwijs in Hengelo" in otto.get(f"/redactie/voorbeelden/{hengelo_id}")
    assert "Samen sterk in Zwolle" not in otto.get("/redactie")


def site_slug(site, example_id: int) -> str:
    with site.session() as db:
        return db.get(PracticeExample, example_id).slug


def test_grant_covers_the_region_and_below_only(site):
    """A provincie covers all its gemeenten, a gemeente only itself; revoking ends it (the row stays, recorded)."""
    from portal.accounts import coordination
    from portal.security import Permissions, user_may
    from portal.workflow import services as wf

    add_user(site, "beheer@example.nl", "beheerder")
    add_user(site, "c@example.nl", "bijdrager")
    add_user(site, "o@example.nl", "bijdrager")
    with site.session() as db:
        admin = db.scalar(select(User).where(User.email == "beheer@example.nl"))
        owner = db.scalar(select(User).where(User.email == "o@example.nl"))
        coordinator = db.scalar(select(User).where(User.email == "c@example.nl"))
        zwolle_item, _ = wf.create_contribution(db, owner, {"title": "In Zwolle", "gemeente": "zwolle"}, "z" * 20)
        hengelo_item, _ = wf.create_contribution(db, owner, {"title": "In Hengelo", "gemeente": "hengelo"}, "h" * 20)
        zwolle = db.scalar(select(Region).where(Region.slug == "zwolle"))
        province = zwolle.province

        def may(state):
            return user_may(db, coordinator, state.example, state.workflow, Permissions.REVIEW)

        assert not may(zwolle_item) and not may(hengelo_item)
        assert coordination.grant(db, coordinator, zwolle, admin) is True
        assert coordination.grant(db, coordinator, zwolle, admin) is False  # already in force
        assert may(zwolle_item) and not may(hengelo_item)
        coordination.grant(db, coordinator, province, admin)
        assert may(zwolle_item) and may(hengelo_item)  # Hengelo lies in the same provincie
        assert coordination.revoke(db, coordinator, province, admin) is True
        assert may(zwolle_item) and not may(hengelo_item)
        coordination.revoke(db, coordinator, zwolle, admin)
        assert not may(zwolle_item)
        assert coordinator.role == Role.CONTRIBUTOR  # no region left: a bijdrager again
        rows = list(db.scalars(select(RegionGrant).where(RegionGrant.user_id == coordinator.id)))
        assert len(rows) == 2 and all(r.revoked_at is not None and r.revoked_by_id == admin.id for r in rows)


def test_admin_regions_page_refuses_bad_input(site):
    add_user(site, "beheer@example.nl", "beheerder")
    add_user(site, "redactie@example.nl", "redacteur", name="Rik Redactie")
    add_user(site, "c@example.nl", "bijdrager")
    admin = site.testapp()
    login(admin, "beheer@example.nl")
    token = csrf_token(admin)
    user_id = _user_id(site, "c@example.nl")
    page = admin.post(f"/beheer/gebruikers/{user_id}/regios", {"csrf_token": token, "action": "grant",
                                                               "region": "bestaat-niet"}, status=400)
    assert "Kies een regio uit de lijst." in page
    admin.post(f"/beheer/gebruikers/{user_id}/regios", {"csrf_token": token, "action": "weg", "region": "zwolle"},
               status=400)
    admin.post("/beheer/gebruikers/999999/regios", {"csrf_token": token, "action": "grant", "region": "zwolle"},
               status=404)
    # Without the CSRF token nothing happens.
    admin.post(f"/beheer/gebruikers/{user_id}/regios", {"action": "grant", "region": "zwolle"}, status=400)
    # An editor already sees every region: refused with a Dutch message.
    editor_id = _user_id(site, "redactie@example.nl")
    page = admin.post(f"/beheer/gebruikers/{editor_id}/regios", {"csrf_token": token, "action": "grant",
                                                                 "region": "zwolle"}, status=400)
    assert "ziet alle regio" in page
    with site.session() as db:
        assert db.scalar(select(func.count(RegionGrant.id))) == 0


def test_region_page_names_coordinator_only_with_consent(site):
    add_user(site, "beheer@example.nl", "beheerder")
    with site.session() as db:
        from portal.accounts import services as accounts

        accounts.create_user(db, "carla@example.nl", "Carla Coördinator", "bijdrager",
                             accounts.hash_password("een-lang-wachtwoord"), organisation="SWV IJssel | Vecht")
    ijsselland = youth_region_of(site, "zwolle")
    admin = site.testapp()
    login(admin, "beheer@example.nl")
    grant_in_admin_ui(admin, _user_id(site, "carla@example.nl"), ijsselland.slug)
    visitor = site.testapp()
    assert "Carla" not in visitor.get(f"/regios/{ijsselland.slug}")

    carla = site.testapp()
    login(carla, "carla@example.nl")
    queue = carla.get("/redactie")
    form = next(f for f in queue.forms.values() if f.action == "/redactie/vermelding")
    assert "Wat we bewaren" in queue.text
    form["vermelding"] = True
    form.submit(status=303)
    with site.session() as db:
        assert db.scalar(select(User).where(User.email == "carla@example.nl")).coordinator_public_at is not None
    page = visitor.get(f"/regios/{ijsselland.slug}")
    assert "Regiocoördinator: Carla Coördinator, SWV IJssel | Vecht" in page
    # The gemeente page names the coordinator of its jeugdregio too, saying for which region.
    assert f"Regiocoördinator: Carla Coördinator, SWV IJssel | Vecht (voor {ijsselland.name})" in visitor.get(
        "/regios/zwolle")
    assert "Carla" not in visitor.get("/regios/hengelo")

    # Consent withdrawn: gone again.
    form = next(f for f in carla.get("/redactie").forms.values() if f.action == "/redactie/vermelding")
    form["vermelding"] = False
    form.submit(status=303)
    assert "Carla" not in visitor.get(f"/regios/{ijsselland.slug}")


def test_login_lands_editors_and_coordinators_on_their_queue(site):
    add_user(site, "redactie@example.nl", "redacteur")
    add_user(site, "coord@example.nl", "regiocoordinator")
    add_user(site, "bijdrager@example.nl", "bijdrager")
    assert login(site.testapp(), "redactie@example.nl").location.endswith("/redactie")
    assert login(site.testapp(), "coord@example.nl").location.endswith("/redactie")
    assert login(site.testapp(), "bijdrager@example.nl").location.endswith("/mijn-bijdragen")
    # An explicit, safe destination wins; an unsafe one falls back to the landing page of the role.
    app = site.testapp()
    page = app.get("/inloggen", params={"came_from": "/mijn-bijdragen"})
    form = page.forms[next(k for k, f in page.forms.items() if f.action == "/inloggen")]
    form["email"], form["password"] = "redactie@example.nl", "een-lang-wachtwoord"
    assert form.submit(status=303).location.endswith("/mijn-bijdragen")
    app = site.testapp()
    page = app.get("/inloggen", params={"came_from": "//evil.example/"})
    form = page.forms[next(k for k, f in page.forms.items() if f.action == "/inloggen")]
    form["email"], form["password"] = "redactie@example.nl", "een-lang-wachtwoord"
    location = form.submit(status=303).location
    assert location.endswith("/redactie") and "evil" not in location


def test_queue_age_text():
    import datetime as dt

    from portal.views.editorial import age_text

    now = dt.datetime(2026, 12, 7, 12, 0)
    assert age_text(now - dt.timedelta(minutes=5), now) == "minder dan een uur"
    assert age_text(now - dt.timedelta(hours=5), now) == "5 uur"
    assert age_text(now - dt.timedelta(days=1, hours=2), now) == "1 dag"
    assert age_text(now - dt.timedelta(days=3), now) == "3 dagen"
    assert age_text(None, now) == "onbekend"
