"""Search through the whole app (WebTest): contract of /api/zoeken, robustness, facets, snippets, pages."""

from __future__ import annotations

import pytest

NASTY = [
    "",
    " ",
    '"',
    '"passend onderwijs',
    '""""',
    "AND OR (",
    "(((",
    ")",
    "*",
    "**",
    "-",
    "--",
    "- * ( ) OR AND NOT",
    "NOT",
    "thuiszitters OR",
    "OR thuiszitters",
    "title:koesterklas",
    "thema:trauma AND",
    "a" * 2000,
    "thuiszitters " * 200,
    "koesterklas\x00\x01\x02\x1b[31m",
    "\t\n\r",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "%s%s%n",
    "\u202etekst\u202c",
    "😀 zorg",
    "ǅ ß ﬁ İ",
    "jeugd* zorg*",
    "z*",
    "*zorg",
    "~fuzzy^3",
    "[brackets]{braces}",
    "\\",
    "/zoeken?q=1",
]


@pytest.mark.parametrize("q", NASTY)
@pytest.mark.parametrize("path", ["/zoeken", "/api/zoeken", "/api/suggesties"])
def test_any_query_answers_without_error(testapp, path, q):
    response = testapp.get(path, params={"q": q}, expect_errors=True)
    assert response.status_int in (200, 400), response.text[:500]
    assert "Traceback" not in response.text


@pytest.mark.parametrize(
    "query_string",
    [
        "q=zorg&page=abc",
        "q=zorg&page=-5",
        "q=zorg&page=999999999999",
        "q=zorg&sort=%3Cx%3E",
        "thema=%3Cscript%3E&regio=..%2F..&provincie=&schooltype=zz&type=x",
        "thema=" + ",".join(["a"] * 500),
        "q=%ff%fe%fd",
        "q=zorg&thema=trauma-en-hechting&thema=trauma-en-hechting",
        "page=2&page=3",
    ],
)
def test_bad_parameters_never_give_a_500(testapp, query_string):
    for path in ("/zoeken", "/api/zoeken", "/api/suggesties"):
        response = testapp.get(f"{path}?{query_string}", expect_errors=True)
        assert response.status_int in (200, 400), (path, response.text[:300])


def test_api_shape(testapp):
    data = testapp.get("/api/zoeken", params={"q": "thuiszitters"}).json
    assert {"query", "total", "results", "facets", "suggestion", "expanded"} <= set(data)
    assert data["query"] == "thuiszitters"
    assert data["total"] >= 1
    first = data["results"][0]
    assert set(first) >= {"slug", "type", "title", "summary", "url", "place", "province", "region", "themes",
                          "score", "highlights"}
    assert set(data["facets"]) == {"thema", "regio", "provincie", "schooltype", "type"}
    for entries in data["facets"].values():
        for entry in entries:
            assert set(entry) == {"value", "label", "count"}
            assert entry["count"] > 0  # a choice that would give nothing is not offered


def test_expansion_is_reported(testapp):
    data = testapp.get("/api/zoeken", params={"q": "OZA"}).json
    assert "onderwijszorgarrangement" in data["expanded"]
    page = testapp.get("/zoeken", params={"q": "OZA"})
    assert "Ook gezocht op" in page.text


def test_typo_offers_suggestion_and_corrected_results(testapp):
    data = testapp.get("/api/zoeken", params={"q": "koesterkals"}).json
    assert data["suggestion"] == "koesterklas"
    assert data["results"][0]["slug"] == "koesterklas-nunspeet"
    page = testapp.get("/zoeken", params={"q": "koesterkals"})
    assert "koesterklas" in page.text


def test_unknown_word_with_results_elsewhere_gets_bedoelde_u(testapp):
    page = testapp.get("/zoeken", params={"q": "gezinskals"})
    assert "gezinsklas" in page.text


def test_highlights_are_escaped_around_mark(testapp):
    data = testapp.get("/api/zoeken", params={"q": "koesterklas"}).json
    snippets = [h for r in data["results"] for h in r["highlights"]]
    assert any("<mark>" in s for s in snippets)
    for snippet in snippets:
        stripped = snippet.replace("<mark>", "").replace("</mark>", "")
        assert "<" not in stripped and ">" not in stripped


def test_query_is_escaped_in_page(testapp):
    page = testapp.get("/zoeken", params={"q": "<script>alert(1)</script>"})
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;" in page.text


def facet_counts(data, name):
    return {e["value"]: e["count"] for e in data["facets"][name]}


def test_facets_or_within_and_across(testapp):
    everything = testapp.get("/api/zoeken", params={"type": "voorbeeld"}).json
    themes = facet_counts(everything, "thema")
    a, b = "jeugdhulp-in-de-school", "financiering"
    only_a = testapp.get("/api/zoeken", params={"type": "voorbeeld", "thema": a}).json
    only_b = testapp.get("/api/zoeken", params={"type": "voorbeeld", "thema": b}).json
    both = testapp.get("/api/zoeken", params=[("type", "voorbeeld"), ("thema", a), ("thema", b)]).json
    slugs = lambda d: {r["slug"] for r in d["results"]}  # noqa: E731
    assert only_a["total"] == themes[a] and only_b["total"] == themes[b]
    # OR within a facet: the union
    assert both["total"] == len(slugs(only_a) | slugs(only_b)) > max(themes[a], themes[b])
    # the facet's own counts do not shrink when one of its values is chosen
    assert facet_counts(only_a, "thema") == themes
    # AND across facets
    prov = testapp.get("/api/zoeken", params={"type": "voorbeeld", "thema": a, "provincie": "gelderland"}).json
    assert 0 < prov["total"] < only_a["total"]
    assert all(r["province"] == "Gelderland" for r in prov["results"])
    assert facet_counts(only_a, "provincie")["gelderland"] == prov["total"]


def test_region_page_parameter_accepts_a_gemeente(testapp):
    data = testapp.get("/api/zoeken", params={"regio": "nunspeet"}).json
    assert [r["slug"] for r in data["results"]] == ["koesterklas-nunspeet"]
    youth = testapp.get("/api/zoeken", params={"regio": "noord-veluwe"}).json
    assert "koesterklas-nunspeet" in {r["slug"] for r in youth["results"]}


def test_empty_result_is_not_a_dead_end(testapp):
    page = testapp.get("/zoeken", params={"q": "koesterklas", "provincie": "limburg"})
    assert "0 resultaten" in page.text
    assert "Zonder filter provincie" in page.text
    nothing = testapp.get("/zoeken", params={"q": "qqqxxyyzz"})
    assert "meeste inhoud" in nothing.text  # popular themes


def test_facet_form_works_without_javascript(testapp):
    page = testapp.get("/zoeken", params={"q": "zorg"})
    form = page.forms["zoekformulier"]
    assert page.html.find("label", attrs={"for": "zoek-q"}) is not None
    form["thema"] = ["financiering"]  # tick one checkbox among the thema checkboxes
    result = form.submit()
    assert "Gekozen filters" in result.text


def test_sort_newest_and_paging(testapp):
    first = testapp.get("/api/zoeken", params={"q": "onderwijs", "sort": "nieuwste"}).json
    assert first["total"] > 10
    second = testapp.get("/api/zoeken", params={"q": "onderwijs", "sort": "nieuwste", "page": 2}).json
    assert not {r["slug"] + r["type"] for r in first["results"]} & {r["slug"] + r["type"] for r in second["results"]}


def test_autocomplete(testapp):
    items = testapp.get("/api/suggesties", params={"q": "koes"}).json
    assert any(i["label"].startswith("Koesterklas") and i["url"] == "/voorbeelden/koesterklas-nunspeet" for i in items)
    places = testapp.get("/api/suggesties", params={"q": "zwol"}).json
    assert any(i["type"] == "plaats" for i in places)
    assert testapp.get("/api/suggesties", params={"q": ""}).json == []


def test_related_examples_on_example_page(testapp):
    page = testapp.get("/voorbeelden/koesterklas-nunspeet")
    assert "Vergelijkbare voorbeelden" in page.text


def test_related_prefers_other_regions(shared_site):
    service = shared_site.registry["search_service"]
    related = service.related("team-ambulant-gentiaan-college", limit=5)
    assert 0 < len(related) <= 5
    assert "team-ambulant-gentiaan-college" not in {r["slug"] for r in related}
    assert related[0]["slug"] not in {"emmaschool-zorgteam-apeldoorn", "wereldschool-de-vlinder-apeldoorn"}
    assert service.related("bestaat-niet") == []
