"""Issue 10, phone view and search page: what can be seen in the HTML, CSS and JSON (WebTest).

Widths themselves are measured in a real browser (bench/a11y.md); here we check the means: tables scroll in their own
box, grid columns may shrink, "In het kort" comes first, results come before the filters, facet counts add up to the
results listed, no internal identifiers in snippets, one search box on the home page, no example twice, favicon,
Open Graph and a print stylesheet.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from portal.content.files import read_content

ROOT = Path(__file__).resolve().parents[1]
_VOCABULARY, ITEMS = read_content(ROOT / "content")
SLUGS = {i.slug for i in ITEMS if "-" in i.slug}
CSS = (ROOT / "portal" / "static" / "portal.css").read_text(encoding="utf-8")
SEARCH_CSS = (ROOT / "portal" / "static" / "search.css").read_text(encoding="utf-8")


def squeeze(css: str) -> str:
    return re.sub(r"\s+", " ", css)


# 1. tables and long words ------------------------------------------------------------------------------------------

def test_markdown_tables_scroll_in_their_own_box():
    css = squeeze(CSS)
    assert ".item table:not(.data-table) { display: block; overflow-x: auto; max-width: 100%; }" in css
    # a wide table must not widen the grid column (a 1fr column has min-width:auto)
    assert ".with-sidebar.sidebar-right { grid-template-columns: minmax(0, 1fr) 18rem; }" in css
    # ...but only on wide screens: on a phone the single column stays (a real browser found a 0 px text column)
    wide = css.index("@media (min-width: 50.01rem) { /* on phones")
    assert wide < css.index(".with-sidebar.sidebar-right { grid-template-columns: minmax(0, 1fr) 18rem; }")
    assert ".with-sidebar > *, .two-col > *, .search-layout > * { min-width: 0; }" in css
    assert "overflow-wrap: anywhere" in css


def test_a_page_with_a_table_gets_the_scrolling_rule(testapp):
    page = testapp.get("/bronnen/behandelen-en-begeleiden")
    table = page.html.find("table")
    assert table is not None and "data-table" not in (table.get("class") or [])
    assert table.find_parent("article", class_="item") is not None
    assert table.get("tabindex") == "0"  # a scrolling box keyboard users can reach (axe: scrollable-region-focusable)


# 2. "In het kort" first ---------------------------------------------------------------------------------------------

def test_example_facts_come_before_the_text(testapp):
    page = testapp.get("/voorbeelden/koesterklas-nunspeet")
    grid = page.html.select_one(".with-sidebar.sidebar-right")
    children = [c for c in grid.find_all(recursive=False)]
    assert children[0].name == "aside" and "facts" in children[0]["class"]
    assert "item-body" in children[1]["class"]
    css = squeeze(CSS)
    assert ".with-sidebar.sidebar-right > .facts:first-child { grid-column: 2; grid-row: 1; }" in css
    assert ".with-sidebar.sidebar-right > .facts:first-child + .item-body { grid-column: 1; grid-row: 1; }" in css


# 3. search page order ---------------------------------------------------------------------------------------------

def test_results_come_before_the_filters(testapp):
    page = testapp.get("/zoeken", params={"q": "thuiszitters"})
    layout = page.html.select_one(".search-layout")
    assert "has-facets" in layout["class"]
    children = layout.find_all(recursive=False)
    assert [c.name for c in children] == ["section", "aside"]
    assert "search-results" in children[0]["class"]
    assert page.html.select_one(".to-filters a")["href"] == "#filters-title"
    assert page.html.find(id="filters-title") is not None
    # the filter form still works: ticking a box and submitting
    form = page.forms["zoekformulier"]
    form["type"] = ["voorbeeld"]
    assert "Gekozen filters" in form.submit().text


def test_no_results_text_is_in_the_main_column(testapp):
    page = testapp.get("/zoeken", params={"q": "qqqxxyyzz"})
    layout = page.html.select_one(".search-layout")
    assert "has-facets" not in layout["class"]  # one full-width column
    assert layout.find("aside") is None
    assert layout.select_one(".search-results .empty-result") is not None
    with_filter = testapp.get("/zoeken", params={"q": "koesterklas", "provincie": "limburg"})
    children = with_filter.html.select_one(".search-layout").find_all(recursive=False)
    assert children[0].select_one(".empty-result") is not None and children[1].name == "aside"
    assert ".search-layout.has-facets { grid-template-columns: minmax(0, 1fr) minmax(12rem, 16rem); }" in squeeze(
        SEARCH_CSS)


# 4. facet counts add up -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("q", ["koesterklas", "thuiszitters", "zorg", ""])
def test_type_counts_add_up_to_the_results_listed(testapp, q):
    data = testapp.get("/api/zoeken", params={"q": q}).json
    counts = {e["value"]: e["count"] for e in data["facets"]["type"]}
    assert "tip" not in counts
    assert sum(counts.values()) == data["total"]
    assert all(r["type"] != "tip" for r in data["results"])
    page = testapp.get("/zoeken", params={"q": q})
    labels = [lab.get_text(" ", strip=True) for lab in page.html.select("label[for^=f-type-]")]
    assert not any(lab.startswith("Tip") for lab in labels)


def test_tips_are_offered_once_a_type_is_chosen(testapp):
    chosen = testapp.get("/api/zoeken", params={"q": "koesterklas", "type": "voorbeeld"}).json
    counts = {e["value"]: e["count"] for e in chosen["facets"]["type"]}
    assert counts.get("tip", 0) > 0
    tips = testapp.get("/api/zoeken", params={"q": "koesterklas", "type": "tip"}).json
    assert tips["total"] == counts["tip"]
    assert {r["type"] for r in tips["results"]} == {"tip"}


# 5. no internal identifiers in snippets ----------------------------------------------------------------------------

@pytest.mark.parametrize("q", ["koesterklas", "nunspeet", "behandelen begeleiden", "apeldoorn", "emmen"])
def test_snippets_show_no_slugs(testapp, q):
    data = testapp.get("/api/zoeken", params={"q": q}).json
    text = " ".join(h.replace("<mark>", "").replace("</mark>", "") for r in data["results"] for h in r["highlights"])
    assert data["results"]
    assert not [slug for slug in SLUGS if slug in text]


# 6. home page, favicon, Open Graph, print -------------------------------------------------------------------------

def test_home_has_one_search_box(testapp):
    home = testapp.get("/")
    forms = home.html.find_all("form", attrs={"role": "search"})
    assert len(forms) == 1
    assert home.html.find("label", attrs={"for": "home-q"}) is not None
    # other pages keep the search box in the header
    assert testapp.get("/over").html.find(id="header-q") is not None


def test_home_shows_no_example_twice(testapp):
    home = testapp.get("/")
    hrefs = [a["href"] for a in home.html.select(".card-grid .card-title a") if a["href"].startswith("/voorbeelden/")]
    assert hrefs and len(hrefs) == len(set(hrefs))


def test_favicon(testapp):
    link = testapp.get("/").html.find("link", rel="icon")
    assert link["type"] == "image/svg+xml"
    icon = testapp.get(link["href"])
    assert icon.status_int == 200 and icon.body.lstrip().startswith(b"<svg")


@pytest.mark.parametrize("path, og_type", [("/", "website"), ("/voorbeelden/koesterklas-nunspeet", "article"),
                                           ("/zoeken", "website")])
def test_open_graph(testapp, path, og_type):
    html = testapp.get(path).html
    og = {m["property"]: m["content"] for m in html.find_all("meta", property=re.compile("^og:"))}
    assert og["og:type"] == og_type
    assert og["og:url"] == "http://localhost" + path
    assert og["og:title"] and og["og:title"] in html.title.get_text()
    assert og["og:description"] == html.find("meta", attrs={"name": "description"})["content"]
    assert og["og:locale"] == "nl_NL"


def test_open_graph_url_ignores_the_host_header(shared_site):
    app = shared_site.testapp(HTTP_HOST="evil.example")
    html = app.get("/voorbeelden/koesterklas-nunspeet").html
    assert html.find("meta", property="og:url")["content"] == "http://localhost/voorbeelden/koesterklas-nunspeet"


def test_print_stylesheet(testapp):
    link = testapp.get("/voorbeelden/koesterklas-nunspeet").html.find("link", attrs={"media": "print"})
    css = squeeze(testapp.get(link["href"]).text)
    for selector in (".site-header", ".site-footer", ".breadcrumbs", ".header-search", ".related"):
        assert selector in css.split("display: none")[0]
    assert "font-size: 11.5pt" in css
