"""All of the Netherlands as vocabulary (issue 11): every gemeente with its provincie and jeugdregio, woonplaatsen
that lead to their gemeente, portal-load's checks, the contribution form's gemeente field, and quiet region pages."""

from __future__ import annotations

import collections
import re
from pathlib import Path

import pytest
import yaml
from bs4 import BeautifulSoup
from conftest import CONTENT_DIR
from sqlalchemy import event, func, or_, select
from workflow.helpers import add_user, contribution_form, fill_complete, item_id, login

from portal.content.files import ContentError, read_vocabulary
from portal.content.loader import load_content
from portal.content.models import PracticeExample, Region, RegionKind, Status

#: CBS, gemeentelijke indeling op 1 januari 2025: 342 gemeenten, per provincie.
GEMEENTEN_PER_PROVINCIE = {
    "groningen-provincie": 10, "fryslan": 18, "drenthe": 12, "overijssel": 25, "flevoland": 6, "gelderland": 51,
    "utrecht-provincie": 26, "noord-holland": 44, "zuid-holland": 50, "zeeland": 13, "noord-brabant": 56,
    "limburg": 31,
}
KNOWN = [  # slug, name, jeugdregio, provincie
    ("harderwijk", "Harderwijk", "noord-veluwe", "gelderland"),
    ("sudwest-fryslan", "Súdwest-Fryslân", "jeugdregio-fryslan", "fryslan"),
    ("eijsden-margraten", "Eijsden-Margraten", "zuid-limburg", "limburg"),
    ("zeewolde", "Zeewolde", "noord-veluwe", "flevoland"),  # a jeugdregio across a provincial border
]


@pytest.fixture(scope="module")
def vocabulary():
    return read_vocabulary(CONTENT_DIR)


def test_every_dutch_municipality_with_one_provincie_and_one_jeugdregio(vocabulary):
    assert len(vocabulary.municipalities) == 342 == sum(GEMEENTEN_PER_PROVINCIE.values())
    assert len(vocabulary.provinces) == 12
    assert len(vocabulary.youth_regions) == 42
    assert len({y["code"] for y in vocabulary.youth_regions}) == 42
    per_province = collections.Counter(m["provincie"] for m in vocabulary.municipalities)
    assert per_province == GEMEENTEN_PER_PROVINCIE
    youth = {y["slug"] for y in vocabulary.youth_regions}
    for gemeente in vocabulary.municipalities:
        assert isinstance(gemeente["jeugdregio"], str) and gemeente["jeugdregio"] in youth, gemeente
        assert isinstance(gemeente["provincie"], str) and gemeente["provincie"] in GEMEENTEN_PER_PROVINCIE, gemeente
    # every jeugdregio has gemeenten
    assert {m["jeugdregio"] for m in vocabulary.municipalities} == youth


@pytest.mark.parametrize(("slug", "name", "jeugdregio", "provincie"), KNOWN)
def test_known_municipalities(vocabulary, slug, name, jeugdregio, provincie):
    gemeente = vocabulary.municipality(slug)
    assert (gemeente["name"], gemeente["jeugdregio"], gemeente["provincie"]) == (name, jeugdregio, provincie)


def test_earlier_region_slugs_are_kept(vocabulary):
    """URLs /regios/<slug> and content files use these; the CBS name is shown, the old one kept as alias."""
    slugs = {r["slug"] for r in vocabulary.provinces + vocabulary.youth_regions + vocabulary.municipalities}
    assert {"groningen-provincie", "utrecht-provincie", "fryslan", "jeugdregio-groningen", "jeugdregio-fryslan",
            "jeugdregio-drenthe", "flevoland-jeugdregio", "midden-ijssel-oost-veluwe", "amstelland-meerlanden",
            "noord-holland-noord", "hart-van-brabant", "noordoost-brabant", "ijmond", "utrecht-stad", "apeldoorn",
            "s-hertogenbosch", "land-van-cuijk", "midden-groningen", "waadhoeke", "alkmaar", "velsen"} <= slugs
    hart = vocabulary.youth_region("hart-van-brabant")
    assert hart["name"] == "Midden-Brabant (Hart van Brabant)" and "Hart van Brabant" in hart["aliases"]


def test_the_database_has_every_municipality(shared_site):
    with shared_site.session() as db:
        gemeenten = list(db.scalars(select(Region).where(Region.kind == RegionKind.MUNICIPALITY)))
        assert len(gemeenten) == 342
        for gemeente in gemeenten:
            assert gemeente.youth_region.kind == RegionKind.YOUTH_REGION, gemeente.slug
            assert gemeente.province.kind == RegionKind.PROVINCE, gemeente.slug
        harderwijk = next(g for g in gemeenten if g.slug == "harderwijk")
        assert (harderwijk.youth_region.slug, harderwijk.province.slug) == ("noord-veluwe", "gelderland")


@pytest.mark.parametrize(("typed", "expected"), [
    ("Harderwijk", "harderwijk"),
    ("sudwest fryslan", "sudwest-fryslan"),
    ("SÚDWEST-FRYSLÂN", "sudwest-fryslan"),
    ("Den Bosch", "s-hertogenbosch"),
    ("'s-Hertogenbosch", "s-hertogenbosch"),
    ("Den Haag", "s-gravenhage"),
    ("Cadier en Keer", "eijsden-margraten"),
    ("cadier-en-keer", "eijsden-margraten"),
    ("Joure", "de-fryske-marren"),
    ("  joure ", "de-fryske-marren"),
    ("gemeente Harderwijk", "harderwijk"),
    ("Sneek", "sudwest-fryslan"),
    ("Beek", "beek"),  # the gemeente Beek, not the woonplaatsen Beek in Berg en Dal and Montferland
    ("Hengelo (Gld)", "bronckhorst"),
    ("Hengelo", "hengelo"),
])
def test_woonplaats_lookup(vocabulary, typed, expected):
    assert vocabulary.place_index.resolve(typed).slug == expected


def test_woonplaats_lookup_ambiguous_or_unknown(vocabulary):
    index = vocabulary.place_index
    alphen = index.resolve("Alphen")
    assert alphen.slug is None and alphen.candidates == ("alphen-chaam", "west-maas-en-waal")
    assert "Alphen-Chaam, West Maas en Waal" in index.describe(alphen, "Alphen")
    bergen = index.resolve("Bergen")
    assert set(bergen.candidates) == {"bergen-nh", "bergen-l"}
    typo = index.resolve("Hardewijk")
    assert typo.slug is None and "Harderwijk" in typo.suggestions
    assert "Bedoelt u: Harderwijk" in index.describe(typo, "Hardewijk")
    nothing = index.resolve("Atlantis")
    assert nothing.slug is None and not nothing.candidates and not nothing.suggestions
    assert index.resolve("").slug is None


def test_woonplaatsen_file_points_at_known_gemeenten(vocabulary):
    gemeenten = {m["slug"] for m in vocabulary.municipalities}
    assert len(vocabulary.places) > 2000
    assert {slug for _place, slug in vocabulary.places} <= gemeenten
    assert ("Cadier en Keer", "eijsden-margraten") in vocabulary.places


# --------------------------------------------------------------------------------------------------------------------
# portal-load


def _set_gemeente(content: Path, relpath: str, value: str) -> None:
    path = content / relpath
    text = path.read_text(encoding="utf-8")
    new, count = re.subn(r"^gemeente: .*$", f"gemeente: {value}", text, count=1, flags=re.MULTILINE)
    assert count == 1
    path.write_text(new, encoding="utf-8")


def _line(path: Path, prefix: str) -> int:
    return next(n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if line.startswith(prefix))


def _counts(site) -> tuple[int, int]:
    with site.session() as db:
        return (db.scalar(select(func.count(Region.id))), db.scalar(select(func.count(PracticeExample.id))))


@pytest.mark.parametrize(("value", "hint"), [
    ("hardewijk", "bedoelt u 'harderwijk' (Harderwijk)"),
    ("joure", "bedoelt u 'de-fryske-marren' (De Fryske Marren)"),
    ("atlantis", ""),
])
def test_portal_load_refuses_unknown_gemeente(site, content_copy, value, hint):
    relpath = "voorbeelden/koesterklas-nunspeet.md"
    _set_gemeente(content_copy, relpath, value)
    before = _counts(site)
    with pytest.raises(ContentError) as info, site.session() as db:
        load_content(db, content_copy)
    error = info.value
    assert Path(error.path) == content_copy / relpath and error.field == "gemeente"
    assert error.line == _line(content_copy / relpath, "gemeente:")
    assert f"onbekende gemeente '{value}'" in str(error) and hint in str(error)
    assert _counts(site) == before


def _vocab_change(content: Path, change) -> None:
    path = content / "vocabulaire/regios.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _gemeente(data, slug):
    return next(g for g in data["gemeenten"] if g["slug"] == slug)


@pytest.mark.parametrize(("change", "field", "reason"), [
    (lambda d: _gemeente(d, "harderwijk").update(jeugdregio=["noord-veluwe", "food-valley"]), "jeugdregio",
     "precies één jeugdregio"),
    (lambda d: _gemeente(d, "harderwijk").update(provincie=["gelderland"]), "provincie", "precies één provincie"),
    (lambda d: _gemeente(d, "harderwijk").pop("jeugdregio"), "gemeenten", "mist 'jeugdregio'"),
    (lambda d: d["jeugdregios"].append({"slug": "nergensland", "name": "Nergensland", "provincie": "gelderland"}),
     "jeugdregios", "jeugdregio zonder gemeenten: nergensland"),
    (lambda d: _gemeente(d, "ermelo").update(aliases=["Harderwijk"]), "gemeenten", "hoort bij twee gemeenten"),
    (lambda d: _gemeente(d, "ermelo").update(aliases="Ermel"), "aliases", "lijst met namen"),
    (lambda d: d["gemeenten"].append(dict(_gemeente(d, "ermelo"))), "gemeenten", "twee keer"),
])
def test_vocabulary_file_is_checked(site, content_copy, change, field, reason):
    _vocab_change(content_copy, change)
    before = _counts(site)
    with pytest.raises(ContentError) as info, site.session() as db:
        load_content(db, content_copy)
    assert info.value.path.endswith("regios.yaml") and info.value.field == field, str(info.value)
    assert reason in str(info.value)
    assert _counts(site) == before


def test_woonplaatsen_file_is_checked(site, content_copy):
    path = content_copy / "vocabulaire/woonplaatsen.csv"
    path.write_text(path.read_text(encoding="utf-8") + "Atlantis,atlantis\n", encoding="utf-8")
    with pytest.raises(ContentError) as info, site.session() as db:
        load_content(db, content_copy)
    assert info.value.path.endswith("woonplaatsen.csv") and "onbekende gemeente 'atlantis'" in str(info.value)
    assert info.value.line == len(path.read_text(encoding="utf-8").splitlines())


def test_merging_municipalities_is_a_data_change(site, content_copy):
    """Two gemeenten become one: only regios.yaml and woonplaatsen.csv change; the old slug in a content file is
    refused with the new gemeente as suggestion; after the content follows, the old regions are gone."""
    relpath = "voorbeelden/koesterklas-nunspeet.md"

    def merge(data):
        data["gemeenten"] = [g for g in data["gemeenten"] if g["slug"] not in ("nunspeet", "elburg")]
        data["gemeenten"].append({"slug": "nunspeet-elburg", "name": "Nunspeet-Elburg",
                                  "aliases": ["Nunspeet", "Elburg"], "jeugdregio": "noord-veluwe",
                                  "provincie": "gelderland"})

    _vocab_change(content_copy, merge)
    places = content_copy / "vocabulaire/woonplaatsen.csv"
    places.write_text(places.read_text(encoding="utf-8").replace(",nunspeet\n", ",nunspeet-elburg\n")
                      .replace(",elburg\n", ",nunspeet-elburg\n"), encoding="utf-8")
    with pytest.raises(ContentError) as info, site.session() as db:
        load_content(db, content_copy)
    assert "bedoelt u 'nunspeet-elburg' (Nunspeet-Elburg)" in str(info.value)
    _set_gemeente(content_copy, relpath, "nunspeet-elburg")
    with site.session() as db:
        load_content(db, content_copy)
    with site.session() as db:
        slugs = set(db.scalars(select(Region.slug)))
        assert "nunspeet-elburg" in slugs and not {"nunspeet", "elburg"} & slugs
        example = db.scalar(select(PracticeExample).where(PracticeExample.slug == "koesterklas-nunspeet"))
        assert example.gemeente.slug == "nunspeet-elburg" and example.youth_region.slug == "noord-veluwe"


# --------------------------------------------------------------------------------------------------------------------
# the contribution form


def _contributor(site):
    add_user(site, "bijdrager@example.nl", "bijdrager")
    app = site.testapp()
    login(app, "bijdrager@example.nl")
    return app


def test_form_offers_every_municipality(site):
    app = _contributor(site)
    page = app.get("/bijdragen")
    field = page.html.find("input", id="f-gemeente")
    assert field is not None and field["type"] == "text"
    options = page.html.find("datalist", id=field["list"]).find_all("option")
    assert len(options) == 342
    assert {"Harderwijk", "Súdwest-Fryslân", "Eijsden-Margraten"} <= {o["value"] for o in options}


@pytest.mark.parametrize(("typed", "slug", "jeugdregio", "provincie", "shown"), [
    ("Harderwijk", "harderwijk", "noord-veluwe", "gelderland", "Harderwijk"),
    ("joure", "de-fryske-marren", "jeugdregio-fryslan", "fryslan", "De Fryske Marren"),
    ("Cadier en Keer", "eijsden-margraten", "zuid-limburg", "limburg", "Eijsden-Margraten"),
])
def test_form_accepts_gemeente_or_woonplaats(site, typed, slug, jeugdregio, provincie, shown):
    app = _contributor(site)
    form = contribution_form(app.get("/bijdragen"))
    fill_complete(form, title=f"Voorbeeld uit {typed}", gemeente=typed)
    saved = form.submit("opslaan")
    assert saved.status_int == 303, saved.text[:2000]
    again = contribution_form(app.get(f"/bijdragen/{item_id(saved)}"))
    assert again["gemeente"].value == shown  # the gemeente's name is shown again, not its slug
    again.submit("indienen", status=303)
    with site.session() as db:
        example = db.get(PracticeExample, item_id(saved))
        assert example.status == Status.SUBMITTED
        assert (example.gemeente.slug, example.youth_region.slug, example.province.slug) == (slug, jeugdregio,
                                                                                           provincie)


@pytest.mark.parametrize(("typed", "message"), [
    ("Hardewijk", "Geen gemeente of woonplaats gevonden met de naam 'Hardewijk'. Bedoelt u: Harderwijk"),
    ("Alphen", "'Alphen' ligt in meer dan één gemeente (Alphen-Chaam, West Maas en Waal)"),
    ("Atlantis", "Geen gemeente of woonplaats gevonden met de naam 'Atlantis'."),
])
def test_form_refuses_unknown_gemeente_with_close_matches(site, typed, message):
    app = _contributor(site)
    form = contribution_form(app.get("/bijdragen"))
    form["title"] = "Nog een concept"
    form["gemeente"] = typed
    page = form.submit("opslaan", status=400)
    error = page.html.find(id="error-f-gemeente")
    assert error is not None and message in error.get_text(" ", strip=True)
    assert page.html.find("input", id="f-gemeente")["value"] == typed  # what was typed stays
    with site.session() as db:
        assert db.scalar(select(func.count(PracticeExample.id)).where(PracticeExample.title == "Nog een concept")) == 0


# --------------------------------------------------------------------------------------------------------------------
# quiet region pages


def _regions_with_content(site) -> set[str]:
    with site.session() as db:
        published = select(PracticeExample).where(PracticeExample.status == Status.PUBLISHED).subquery()
        used = select(Region.slug).join(published, or_(published.c.province_id == Region.id,
                                                       published.c.youth_region_id == Region.id,
                                                       published.c.gemeente_id == Region.id))
        return set(db.scalars(used))


def _region_links(html: str) -> set[str]:
    soup = BeautifulSoup(html, "html.parser")
    return {a["href"].rsplit("/", 1)[-1] for a in soup.select("main a[href^='/regios/']")}


def test_region_lists_show_only_regions_with_content(shared_site, testapp):
    with_content = _regions_with_content(shared_site)
    assert "nunspeet" in with_content and "harderwijk" not in with_content
    assert _region_links(testapp.get("/regios").text) == with_content
    sitemap = testapp.get("/sitemap.xml").text
    in_sitemap = set(re.findall(r"/regios/([a-z0-9-]+)</loc>", sitemap))
    assert in_sitemap == with_content
    # a jeugdregio page lists only its gemeenten with content
    assert _region_links(testapp.get("/regios/noord-veluwe").text) - {"gelderland"} <= with_content


def test_region_without_content_answers_quietly(testapp):
    page = testapp.get("/regios/harderwijk", status=200)
    assert "Er zijn nog geen praktijkvoorbeelden uit Harderwijk." in page.text
    assert page.html.find("meta", attrs={"name": "robots", "content": "noindex"}) is not None
    onward = {a["href"] for a in page.html.select("ul.onward a")}
    assert {"/regios/noord-veluwe", "/regios/gelderland", "/voorbeelden", "/regios", "/bijdragen"} <= onward
    with_content = testapp.get("/regios/nunspeet", status=200)
    assert with_content.html.find("meta", attrs={"name": "robots"}) is None
    testapp.get("/regios/bestaat-niet", status=404)


@pytest.mark.parametrize("path", ["/regios", "/"])
def test_region_overviews_do_not_query_per_region(site, path):
    """342 gemeenten must not make /regios or the home page slower: a fixed handful of queries, none per region."""
    engine = site.registry["db_engine"]
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        site.testapp().get(path, status=200)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    touching_regions = [s for s in statements if "FROM regions" in s]
    assert 0 < len(touching_regions) <= 2 and len(statements) <= 30, statements
