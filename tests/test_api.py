"""The JSON API: /api/voorbeelden (list, filters, paging) and /api/voorbeelden/{slug} (the full item).

The list shape is a contract (issue 3): {"total", "items": [{slug, title, summary, url, place, province, region,
school_types, themes, source}]}, with "page" and "per_page" allowed as extra top-level keys.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from portal.content.files import read_content
from portal.content.models import Contact, PracticeExample, Status

CONTENT_DIR = Path(__file__).resolve().parents[1] / "content"
VOCABULARY, ITEMS = read_content(CONTENT_DIR)
EXAMPLES = {i.slug: i for i in ITEMS if i.kind == "voorbeeld"}
SOURCES = {i.slug: i.meta for i in ITEMS if i.kind == "bron"}
REGION_NAMES = {r["slug"]: r["name"] for r in
                VOCABULARY.provinces + VOCABULARY.youth_regions + VOCABULARY.municipalities}

ITEM_KEYS = {"slug", "title", "summary", "url", "place", "province", "region", "school_types", "themes", "source"}
TOP_KEYS = {"total", "items"}
OPTIONAL_TOP_KEYS = {"page", "per_page"}


def expected(**filters: list[str]) -> set[str]:
    def matches(meta: dict, facet: str, values: list[str]) -> bool:
        return {
            "thema": lambda: bool(set(values) & set(meta["themes"])),
            "schooltype": lambda: bool(set(values) & set(meta["school_types"])),
            "provincie": lambda: meta["provincie"] in values,
            "regio": lambda: meta.get("jeugdregio") in values or meta.get("gemeente") in values,
        }[facet]()
    return {slug for slug, item in EXAMPLES.items()
            if all(matches(item.meta, facet, values) for facet, values in filters.items() if values)}


def check_list(data: dict) -> None:
    assert TOP_KEYS <= set(data) <= TOP_KEYS | OPTIONAL_TOP_KEYS, set(data)
    assert isinstance(data["total"], int) and isinstance(data["items"], list)
    for item in data["items"]:
        assert set(item) == ITEM_KEYS, set(item) ^ ITEM_KEYS
        for key in ("slug", "title", "summary", "url", "place"):
            assert isinstance(item[key], str) and item[key], key
        for key in ("province", "region", "source"):
            assert item[key] is None or isinstance(item[key], str)
        assert isinstance(item["school_types"], list) and all(isinstance(s, str) for s in item["school_types"])
        assert isinstance(item["themes"], list) and item["themes"] and all(isinstance(t, str) for t in item["themes"])


def check_json_error(response, status: int) -> dict:
    assert response.status_int == status
    assert response.content_type == "application/json"
    error = response.json["error"]
    assert error["status"] == status
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["title"], str) and error["title"]
    return error


def all_items(app, params: dict) -> tuple[int, list[dict]]:
    data = app.get("/api/voorbeelden", {**params, "per_page": 100}, status=200).json
    check_list(data)
    assert len(data["items"]) == data["total"]
    return data["total"], data["items"]


# --------------------------------------------------------------------------------------------------------------------
# list


def test_list_shape_and_content(testapp):
    response = testapp.get("/api/voorbeelden", status=200)
    assert response.content_type == "application/json"
    data = response.json
    check_list(data)
    assert data["total"] == len(EXAMPLES) == 25
    assert len(data["items"]) == min(20, len(EXAMPLES))
    assert data.get("page", 1) == 1

    _total, items = all_items(testapp, {})
    assert {i["slug"] for i in items} == set(EXAMPLES)
    for item in items:
        meta = EXAMPLES[item["slug"]].meta
        assert item["title"] == meta["title"]
        assert item["summary"] == meta["summary"]
        assert item["place"] == meta["place"]
        assert item["province"] == REGION_NAMES[meta["provincie"]]
        assert item["region"] == (REGION_NAMES[meta["jeugdregio"]] if meta.get("jeugdregio") else None)
        assert sorted(item["school_types"]) == sorted(meta["school_types"])
        assert sorted(item["themes"]) == sorted(meta["themes"])
        assert item["source"] == SOURCES[meta["source"]]["title"]
        url = urlsplit(item["url"])
        assert url.scheme in ("http", "https") and url.netloc  # absolute
        assert url.path == f"/voorbeelden/{item['slug']}"


def test_item_urls_work(testapp):
    _total, items = all_items(testapp, {"provincie": "gelderland"})
    for item in items:
        testapp.get(urlsplit(item["url"]).path, status=200)


@pytest.mark.parametrize("params", [
    {"thema": ["thuiszitters"]},
    {"thema": ["thuiszitters", "hoogbegaafdheid"]},
    {"thema": ["thuiszitters"], "provincie": ["noord-holland"]},
    {"regio": ["twente"]},
    {"regio": ["apeldoorn"]},
    {"regio": ["twente", "ijsselland"], "schooltype": ["po"]},
    {"provincie": ["gelderland", "overijssel"]},
    {"schooltype": ["so"]},
    {"schooltype": ["so", "vso"], "thema": ["financiering"]},
    {"thema": ["hoogbegaafdheid"], "provincie": ["limburg"]},
], ids=lambda p: "&".join(f"{k}={','.join(v)}" for k, v in p.items()))
def test_filters_like_the_page(testapp, params):
    total, items = all_items(testapp, params)
    assert {i["slug"] for i in items} == expected(**params)
    assert total == len(expected(**params))
    # the page shows the same number
    page = testapp.get("/voorbeelden", params).html
    assert page.find("main").find("p", class_="lead").get_text().startswith(f"{total} ")


def test_paging(testapp):
    seen = []
    for page in (1, 2, 3):
        data = testapp.get("/api/voorbeelden", {"per_page": 10, "page": page}, status=200).json
        check_list(data)
        assert data["total"] == len(EXAMPLES)
        assert data.get("page", page) == page and data.get("per_page", 10) == 10
        assert len(data["items"]) == (10 if page < 3 else len(EXAMPLES) - 20)
        seen += [i["slug"] for i in data["items"]]
    assert sorted(seen) == sorted(EXAMPLES)  # no overlap, nothing missing
    past = testapp.get("/api/voorbeelden", {"per_page": 10, "page": 4}, expect_errors=True)
    if past.status_int == 200:
        assert past.json["items"] == [] and past.json["total"] == len(EXAMPLES)
    else:
        check_json_error(past, past.status_int)


def test_paging_is_stable_with_sort(testapp):
    for sort in ("titel", "plaats", "nieuwste"):
        full = [i["slug"] for i in all_items(testapp, {"sort": sort})[1]]
        pages = []
        for page in (1, 2, 3, 4, 5):
            pages += [i["slug"] for i in testapp.get(
                "/api/voorbeelden", {"sort": sort, "per_page": 6, "page": page}).json["items"]]
        assert pages == full, sort


def test_per_page_limits(testapp):
    assert len(testapp.get("/api/voorbeelden", {"per_page": 100}).json["items"]) == len(EXAMPLES)
    assert len(testapp.get("/api/voorbeelden", {"per_page": 1}).json["items"]) == 1
    error = check_json_error(testapp.get("/api/voorbeelden", {"per_page": 101}, expect_errors=True), 400)
    assert "per_page" in error["message"] and "100" in error["message"]
    assert error["title"] == "Ongeldige aanvraag"


@pytest.mark.parametrize("params", [
    {"per_page": "0"}, {"per_page": "-5"}, {"per_page": "abc"}, {"per_page": "1000000"}, {"per_page": "1e2"},
    {"page": "0"}, {"page": "abc"}, {"page": "x" * 5000}, {"page": "9" * 50},
    {"thema": "onbekend"}, {"thema": "x" * 10_000}, {"provincie": "twente"}, {"regio": "gelderland"},
    {"schooltype": "havo"}, {"sort": "xyz"}, {"thema": "thuiszitters\x00"}, {"provincie": "\x1b[2J"},
], ids=lambda p: repr(p)[:40])
def test_bad_parameters_are_json_400(testapp, params):
    response = testapp.get("/api/voorbeelden", params, expect_errors=True)
    error = check_json_error(response, 400)
    assert error["title"] == "Ongeldige aanvraag"
    assert len(response.text) < 2000  # a long value is not echoed back in full
    # Dutch, not a Python or framework message
    assert any(word in error["message"] for word in ("moet", "Onbekende", "kies")), error["message"]


@pytest.mark.parametrize("query", ["thema=%ff", "%fe=1", "page=%c0%af"])
def test_undecodable_query_is_json_400(testapp, query):
    check_json_error(testapp.get(f"/api/voorbeelden?{query}", expect_errors=True), 400)


def test_ignored_parameters(testapp):
    data = testapp.get("/api/voorbeelden", {"foo": "bar", "thema": ""}, status=200).json
    check_list(data)
    assert data["total"] == len(EXAMPLES)


# --------------------------------------------------------------------------------------------------------------------
# one example


@pytest.mark.parametrize("slug", sorted(EXAMPLES))
def test_full_item(testapp, slug):
    item = EXAMPLES[slug]
    meta = item.meta
    response = testapp.get(f"/api/voorbeelden/{slug}", status=200)
    assert response.content_type == "application/json"
    data = response.json
    assert set(data) >= ITEM_KEYS
    assert data["slug"] == slug and data["title"] == meta["title"]
    # body as Markdown and as (sanitised) HTML
    markdown = data["body_markdown"]
    html = data["body_html"]
    positions = [markdown.index(f"## {h}") for h in ("Aanleiding", "Aanpak", "Resultaten", "Financiering",
                                                      "Geleerde lessen")]
    assert positions == sorted(positions)
    for heading in ("Aanleiding", "Aanpak", "Resultaten", "Financiering", "Geleerde lessen"):
        assert f"<h2>{heading}</h2>" in html
        assert item.sections[heading].split("\n")[0][:30] in markdown
    assert "<script" not in html
    # tips and contacts, exactly as in the file
    assert data["tips"] == meta["tips"]
    assert data["contacts"] == [
        {"name": c["name"], "role": c.get("role") or None, "organisation": c.get("organisation") or None,
         # issue 10: the address only with consent or as an organisation mailbox
         "email": (c.get("email") if c["consent"] or c["organisation_email"] else None) or None}
        for c in meta["contacts"]]
    assert data["target_group"] == meta["target_group"]
    assert data["partners"] == meta["partners"]
    assert data["financing"] == meta["financing"]
    assert data["start_year"] == meta.get("start_year")
    assert data["status"] == meta.get("status")
    assert data["source_chapter"] == meta["source_chapter"]
    assert urlsplit(data["source_url"]).path == f"/bronnen/{meta['source']}"
    assert data["gemeente"] == (REGION_NAMES[meta["gemeente"]] if meta.get("gemeente") else None)


def test_emails_only_where_published(testapp):
    with_email = {s for s, i in EXAMPLES.items()
                  if any(c.get("email") and (c["consent"] or c["organisation_email"]) for c in i.meta["contacts"])}
    assert with_email  # the organisation mailbox of Gemeente Waadhoeke
    for slug in EXAMPLES:
        contacts = testapp.get(f"/api/voorbeelden/{slug}").json["contacts"]
        assert any(c["email"] for c in contacts) == (slug in with_email)


@pytest.mark.parametrize("slug", ["bestaat-niet", "KOESTERKLAS-NUNSPEET", "a" * 500, "%00", "%ff",
                                  "behandelen-en-begeleiden", "wat-is-een-onderwijszorgarrangement"])
def test_unknown_slug_is_json_404(testapp, slug):
    response = testapp.get(f"/api/voorbeelden/{slug}", expect_errors=True)
    assert response.status_int in (400, 404)
    error = check_json_error(response, response.status_int)
    if response.status_int == 404:
        assert "bestaat niet" in error["message"]


def test_unknown_api_path_is_json_404(testapp):
    check_json_error(testapp.get("/api/bestaat-niet", expect_errors=True), 404)


def test_api_rejects_other_methods_as_json(testapp):
    for path in ("/api/voorbeelden", "/api/voorbeelden/koesterklas-nunspeet"):
        response = testapp.post(path, expect_errors=True)
        assert 400 <= response.status_int < 500
        assert response.content_type == "application/json"


# --------------------------------------------------------------------------------------------------------------------
# unpublished items never appear


def test_unpublished_items_never_appear(site):
    hidden = {"koesterklas-nunspeet": Status.DRAFT, "de-link-almelo": Status.SUBMITTED,
              "sjso-amsterdam": Status.RETURNED, "emmaschool-zorgteam-apeldoorn": Status.REJECTED,
              "gezinsklas-hoogezand": Status.WITHDRAWN}
    with site.session() as s:
        for slug, status in hidden.items():
            s.scalar(select(PracticeExample).where(PracticeExample.slug == slug)).status = status
    app = site.testapp()
    visible = set(EXAMPLES) - set(hidden)
    _total, items = all_items(app, {})
    assert {i["slug"] for i in items} == visible
    assert app.get("/api/voorbeelden").json["total"] == len(visible)
    for slug in hidden:
        check_json_error(app.get(f"/api/voorbeelden/{slug}", expect_errors=True), 404)
        app.get(f"/voorbeelden/{slug}", status=404)
    # not through any filter either (Nunspeet is the only example in Noord-Veluwe)
    assert app.get("/api/voorbeelden", {"regio": "noord-veluwe"}).json["total"] == 0
    assert app.get("/api/voorbeelden", {"regio": "nunspeet"}).json["total"] == 0
    for params in ({"thema": "trauma-en-hechting"}, {"provincie": "gelderland"}, {"schooltype": "so"},
                   {"sort": "nieuwste"}):
        _total, items = all_items(app, params)
        assert not {i["slug"] for i in items} & set(hidden), params
    # and not on any page or in any facet count
    listing = app.get("/voorbeelden", {"provincie": "gelderland"}).html
    assert listing.find("input", attrs={"name": "regio", "value": "noord-veluwe"}) is None
    for path in ("/", "/voorbeelden", "/voorbeelden?page=2", "/themas/trauma-en-hechting", "/regios/gelderland",
                 "/regios/noord-veluwe", "/regios/nunspeet", "/bronnen/behandelen-en-begeleiden",
                 "/kennis/wat-is-een-onderwijszorgarrangement"):
        text = app.get(path, status=200).text
        for slug in hidden:
            assert f"/voorbeelden/{slug}" not in text, (path, slug)


def test_private_contacts_never_leave(site):
    with site.session() as s:
        example = s.scalar(select(PracticeExample).where(PracticeExample.slug == "koesterklas-nunspeet"))
        example.contacts.append(Contact(position=9, name="Geheime Persoon", email="geheim@example.nl", public=False))
    app = site.testapp()
    data = app.get("/api/voorbeelden/koesterklas-nunspeet").json
    assert "Geheime Persoon" not in str(data) and "geheim@example.nl" not in str(data)
    page = app.get("/voorbeelden/koesterklas-nunspeet").text
    assert "Geheime Persoon" not in page and "geheim@example.nl" not in page
