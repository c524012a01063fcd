"""Every public page: status, Dutch title, one h1, breadcrumbs, meta description, lang="nl"; reachability from the home
page; the filters, facet counts, sorting and paging of /voorbeelden; 404 and 400 handling.

Expectations are computed from the content files themselves, so the tests follow the content as it grows.
All tests here only read, so they share one site (the ``testapp`` fixture).
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from portal.content.files import read_content

CONTENT_DIR = Path(__file__).resolve().parents[1] / "content"
VOCABULARY, ITEMS = read_content(CONTENT_DIR)
EXAMPLES = {i.slug: i.meta for i in ITEMS if i.kind == "voorbeeld"}
ARTICLES = {i.slug: i.meta for i in ITEMS if i.kind == "kennis"}
SOURCES = {i.slug: i.meta for i in ITEMS if i.kind == "bron"}
THEMES = {t["slug"]: t for t in VOCABULARY.themes}
SCHOOL_TYPES = {t["slug"]: t for t in VOCABULARY.school_types}
PROVINCES = {r["slug"]: r for r in VOCABULARY.provinces}
YOUTH_REGIONS = {r["slug"]: r for r in VOCABULARY.youth_regions}
MUNICIPALITIES = {r["slug"]: r for r in VOCABULARY.municipalities}
SITE_NAME = "Kennisportaal Onderwijs & Jeugd"
PER_PAGE = 12


def expected(**filters: list[str]) -> set[str]:
    """The example slugs a filter combination must return: OR within a facet, AND across facets."""
    def matches(meta: dict, facet: str, values: list[str]) -> bool:
        if facet == "thema":
            return bool(set(values) & set(meta["themes"]))
        if facet == "schooltype":
            return bool(set(values) & set(meta["school_types"]))
        if facet == "provincie":
            return meta["provincie"] in values
        if facet == "regio":
            return meta.get("jeugdregio") in values or meta.get("gemeente") in values
        raise AssertionError(facet)
    return {slug for slug, meta in EXAMPLES.items()
            if all(matches(meta, facet, values) for facet, values in filters.items() if values)}


# --------------------------------------------------------------------------------------------------------------------
# page anatomy


def check_page(response, title: str | None = None, breadcrumbs: bool = True):
    """The common anatomy of every HTML page; returns the parsed document."""
    assert response.content_type == "text/html"
    assert response.charset.lower() == "utf-8"
    text = response.text
    assert text.startswith("<!DOCTYPE html>")
    assert '<html lang="nl">' in text
    html = response.html
    page_title = html.title.get_text()
    assert page_title.endswith(f" | {SITE_NAME}"), page_title
    if title is not None:
        assert page_title == f"{title} | {SITE_NAME}", page_title
    h1s = html.find_all("h1")
    assert len(h1s) == 1, [h.get_text() for h in h1s]
    assert h1s[0].get_text(strip=True)
    descriptions = html.find_all("meta", attrs={"name": "description"})
    assert len(descriptions) == 1
    description = descriptions[0]["content"].strip()
    assert 20 <= len(description) <= 300, description
    assert html.find("meta", attrs={"name": "viewport"}) is not None
    nav = html.find("nav", attrs={"aria-label": "Kruimelpad"})
    if breadcrumbs:
        assert nav is not None, "no breadcrumbs"
        crumbs = nav.find_all("li")
        assert len(crumbs) >= 2
        first = crumbs[0].find("a")
        assert first is not None and first.get_text() == "Home" and urlsplit(first["href"]).path == "/"
        last = crumbs[-1]
        assert last.find("a") is None and last.find(attrs={"aria-current": "page"}) is not None
        for crumb in crumbs[:-1]:
            assert crumb.find("a") is not None
    # own stylesheet, no JavaScript, nothing from a CDN
    sheets = [link["href"] for link in html.find_all("link", rel="stylesheet")]
    assert sheets and all(href.startswith("/static/") for href in sheets), sheets
    assert html.find("script") is None
    for tag in html.find_all(["img", "iframe", "link", "source"]):
        ref = tag.get("src") or tag.get("href") or ""
        assert not ref.startswith(("http:", "https:", "//")), ref
    # the main navigation, in Dutch
    main_nav = html.find("nav", attrs={"aria-label": "Hoofdmenu"})
    assert main_nav is not None and "Praktijkvoorbeelden" in main_nav.get_text()
    return html


def h1(html) -> str:
    return html.find("h1").get_text(" ", strip=True)


def crumb_labels(html) -> list[str]:
    return [li.get_text(strip=True) for li in html.find("nav", attrs={"aria-label": "Kruimelpad"}).find_all("li")]


def linked_paths(html, within=None) -> set[str]:
    """Same-site link paths (without query) in the document or one element of it."""
    root = within if within is not None else html
    paths = set()
    for a in root.find_all("a", href=True):
        parts = urlsplit(a["href"])
        if parts.scheme in ("", "http") and parts.netloc in ("", "localhost"):
            paths.add(parts.path)
    return paths


def main_links(html) -> set[str]:
    return linked_paths(html, html.find("main"))


def example_slugs(html) -> list[str]:
    """Slugs of the example cards in <main>, in page order."""
    return [a["href"].rsplit("/", 1)[-1] for a in html.find("main").select("article.card .card-title a")
            if a["href"].startswith("/voorbeelden/")]


# --------------------------------------------------------------------------------------------------------------------
# every route


def test_home(testapp):
    html = check_page(testapp.get("/", status=200), breadcrumbs=False)
    assert h1(html) == "Samen werken aan onderwijs en jeugdhulp"
    # what the portal is, with a search box
    assert f"{len(EXAMPLES)} praktijkvoorbeelden" in html.find("main").get_text()
    search = html.find("main").find("form", attrs={"role": "search"})
    assert search is not None and search.find("input", attrs={"name": "q"}) is not None
    assert search.find("label") is not None
    links = main_links(html)
    # entry by theme: every theme that has content
    used_themes = {t for meta in [*EXAMPLES.values(), *ARTICLES.values()] for t in meta["themes"]}
    assert {f"/themas/{t}" for t in used_themes} <= links
    # entry by region: every province with examples
    assert {f"/regios/{m['provincie']}" for m in EXAMPLES.values()} <= links
    # entry by school type: links to the filtered list
    hrefs = {a["href"] for a in html.find("main").find_all("a", href=True)}
    for school_type in {s for m in EXAMPLES.values() for s in m["school_types"]}:
        assert f"/voorbeelden?schooltype={school_type}" in hrefs
    # featured and recent examples
    for slug, meta in EXAMPLES.items():
        if meta["featured"]:
            assert f"/voorbeelden/{slug}" in links, slug
    recent = html.find(id="recent-title").find_parent("section")
    assert len(example_slugs_in(recent)) >= 3
    for slug, meta in ARTICLES.items():
        if meta["featured"]:
            assert f"/kennis/{slug}" in links, slug


def example_slugs_in(element) -> list[str]:
    return [a["href"].rsplit("/", 1)[-1] for a in element.select(".card-title a")]


@pytest.mark.parametrize(("path", "title", "heading"), [
    ("/voorbeelden", "Praktijkvoorbeelden", "Praktijkvoorbeelden"),
    ("/themas", "Thema's", "Thema's"),
    ("/regios", "Regio's", "Regio's"),
    ("/kennis", "Kennis", "Kennis"),
    ("/bronnen", "Bronnen", "Bronnen"),
    ("/over", "Over dit portaal", "Over het Kennisportaal Onderwijs & Jeugd"),
])
def test_list_pages(testapp, path, title, heading):
    html = check_page(testapp.get(path, status=200), title)
    assert h1(html) == heading
    assert crumb_labels(html)[-1] in (title, heading)


@pytest.mark.parametrize("slug", sorted(EXAMPLES))
def test_example_page(testapp, slug):
    meta = EXAMPLES[slug]
    html = check_page(testapp.get(f"/voorbeelden/{slug}", status=200), meta["title"])
    assert h1(html) == meta["title"]
    assert crumb_labels(html) == ["Home", "Praktijkvoorbeelden", meta["title"]]
    description = html.find("meta", attrs={"name": "description"})["content"]
    assert meta["summary"][:40] in description
    main = html.find("main")
    text = main.get_text(" ", strip=True)
    # the "In het kort" box comes before the text (first on a phone), so its headings come first
    headings = [h.get_text(strip=True) for h in main.select_one(".item-body").find_all("h2")]
    assert headings[:5] == ["Aanleiding", "Aanpak", "Resultaten", "Financiering", "Geleerde lessen"]
    assert meta["place"] in text
    links = main_links(html)
    assert {f"/themas/{t}" for t in meta["themes"]} <= links
    assert f"/regios/{meta['provincie']}" in links
    if meta.get("gemeente"):
        assert f"/regios/{meta['gemeente']}" in links
    if meta.get("jeugdregio"):
        assert f"/regios/{meta['jeugdregio']}" in links
    assert f"/bronnen/{meta['source']}" in links
    assert meta["source_chapter"] in text
    if meta["tips"]:
        tips = html.find(id="s-tips").find_parent("section").find_all("li")
        assert [li.get_text() for li in tips] == meta["tips"]
    for contact in meta["contacts"]:
        assert contact["name"] in text
        if contact.get("email"):  # issue 10: shown only with consent or as an organisation mailbox
            shown = contact["consent"] or contact["organisation_email"]
            assert (main.find("a", href=f"mailto:{contact['email']}") is not None) == shown
            assert (contact["email"] in text) == shown
    assert main.find("a", href=f"/voorbeelden/{meta['slug']}/contact") is not None
    for partner in meta["partners"]:
        assert partner in text
    for school_type in meta["school_types"]:
        assert main.find("a", href=f"/voorbeelden?schooltype={school_type}") is not None


@pytest.mark.parametrize("slug", sorted(THEMES))
def test_theme_page(testapp, slug):
    theme = THEMES[slug]
    html = check_page(testapp.get(f"/themas/{slug}", status=200), f"Thema: {theme['name']}")
    assert h1(html) == theme["name"]
    assert crumb_labels(html) == ["Home", "Thema's", theme["name"]]
    main = html.find("main")
    assert set(example_slugs(html)) == {s for s, m in EXAMPLES.items() if slug in m["themes"]}
    articles = {p.rsplit("/", 1)[-1] for p in main_links(html) if p.startswith("/kennis/")}
    assert articles == {s for s, m in ARTICLES.items() if slug in m["themes"]}
    if expected(thema=[slug]):
        assert main.find("a", href=f"/voorbeelden?thema={slug}") is not None


def test_theme_list_counts(testapp):
    html = check_page(testapp.get("/themas"), "Thema's")
    items = html.find("main").select("ul.theme-list > li")
    assert len(items) == len(THEMES)
    for li in items:
        slug = li.find("a")["href"].rsplit("/", 1)[-1]
        n_examples = sum(slug in m["themes"] for m in EXAMPLES.values())
        n_articles = sum(slug in m["themes"] for m in ARTICLES.values())
        meta = li.find(class_="card-meta").get_text()
        assert re.match(rf"^{n_examples} praktijkvoorbeeld(en)?, {n_articles} kennisartikel(en)?$", meta), meta
        assert THEMES[slug]["description"] in li.get_text()


REGION_PAGES = ([("provincie", s) for s in sorted(PROVINCES)] + [("jeugdregio", s) for s in sorted(YOUTH_REGIONS)]
                + [("gemeente", s) for s in sorted(MUNICIPALITIES)])


@pytest.mark.parametrize(("kind", "slug"), REGION_PAGES, ids=[s for _k, s in REGION_PAGES])
def test_region_page(testapp, kind, slug):
    region = {"provincie": PROVINCES, "jeugdregio": YOUTH_REGIONS, "gemeente": MUNICIPALITIES}[kind][slug]
    label = kind.capitalize()
    html = check_page(testapp.get(f"/regios/{slug}", status=200), f"{label} {region['name']}")
    assert h1(html) == region["name"]
    crumbs = crumb_labels(html)
    assert crumbs[:2] == ["Home", "Regio's"] and crumbs[-1] == region["name"]
    if kind == "gemeente":
        assert crumbs[2:4] == [PROVINCES[region["provincie"]]["name"], YOUTH_REGIONS[region["jeugdregio"]]["name"]]
        wanted = {s for s, m in EXAMPLES.items() if m.get("gemeente") == slug}
    elif kind == "jeugdregio":
        assert crumbs[2] == PROVINCES[region["provincie"]]["name"]
        wanted = {s for s, m in EXAMPLES.items() if m.get("jeugdregio") == slug}
        # a youth-care region lists its gemeenten that have examples (issue 11: lists stay quiet)
        below = {g for g, m in MUNICIPALITIES.items() if m["jeugdregio"] == slug}
        with_content = {m.get("gemeente") for m in EXAMPLES.values()}
        assert {f"/regios/{g}" for g in below} & main_links(html) == {f"/regios/{g}" for g in below & with_content}
    else:
        wanted = {s for s, m in EXAMPLES.items() if m["provincie"] == slug}
        # a province lists its youth-care regions that have examples
        below = {y for y, m in YOUTH_REGIONS.items() if m["provincie"] == slug}
        with_content = {m.get("jeugdregio") for m in EXAMPLES.values()}
        assert {f"/regios/{y}" for y in below} & main_links(html) == {f"/regios/{y}" for y in below & with_content}
    assert set(example_slugs(html)) == wanted
    assert f"Praktijkvoorbeelden ({len(wanted)})" in html.find("main").get_text()


def test_region_list_counts(testapp):
    html = check_page(testapp.get("/regios"), "Regio's")
    counts = {}
    for a in html.find("main").select(".region-tree a[href]"):
        count = a.find_next_sibling("span", class_="count")
        counts[a["href"].rsplit("/", 1)[-1]] = int(count.get_text().strip("()"))
    # only regions with examples are listed (issue 11); every region can still be chosen in the form
    used = {m.get(key) for m in EXAMPLES.values() for key in ("provincie", "jeugdregio", "gemeente")}
    assert set(counts) == used - {None}
    for slug in set(PROVINCES) & set(counts):
        assert counts[slug] == sum(m["provincie"] == slug for m in EXAMPLES.values()), slug
    for slug in set(YOUTH_REGIONS) & set(counts):
        assert counts[slug] == sum(m.get("jeugdregio") == slug for m in EXAMPLES.values()), slug
    for slug in set(MUNICIPALITIES) & set(counts):
        assert counts[slug] == sum(m.get("gemeente") == slug for m in EXAMPLES.values()), slug


@pytest.mark.parametrize("slug", sorted(ARTICLES))
def test_article_page(testapp, slug):
    meta = ARTICLES[slug]
    html = check_page(testapp.get(f"/kennis/{slug}", status=200), meta["title"])
    assert h1(html) == meta["title"]
    assert crumb_labels(html) == ["Home", "Kennis", meta["title"]]
    links = main_links(html)
    assert {f"/themas/{t}" for t in meta["themes"]} <= links
    assert f"/bronnen/{meta['source']}" in links
    assert {f"/voorbeelden/{r}" for r in meta["related"]} <= links
    assert html.find("main").find(class_="item-body").get_text(strip=True)


def test_article_list(testapp):
    html = check_page(testapp.get("/kennis"), "Kennis")
    titles = [a.get_text() for a in html.find("main").select(".card-title a")]
    assert sorted(titles) == sorted(m["title"] for m in ARTICLES.values())
    assert titles == sorted(titles, key=str.lower)


@pytest.mark.parametrize("slug", sorted(SOURCES))
def test_source_page(testapp, slug):
    meta = SOURCES[slug]
    html = check_page(testapp.get(f"/bronnen/{slug}", status=200), meta["title"])
    assert h1(html) == meta["title"]
    assert crumb_labels(html) == ["Home", "Bronnen", meta["title"]]
    text = html.find("main").get_text(" ", strip=True)
    assert meta["publisher"] in text
    assert (str(meta["year"]) if meta.get("year") else "niet vermeld") in text
    links = main_links(html)
    assert {s for s, m in EXAMPLES.items() if m["source"] == slug} == {
        p.rsplit("/", 1)[-1] for p in links if p.startswith("/voorbeelden/")}
    assert {s for s, m in ARTICLES.items() if m["source"] == slug} == {
        p.rsplit("/", 1)[-1] for p in links if p.startswith("/kennis/")}


def test_source_list(testapp):
    html = check_page(testapp.get("/bronnen"), "Bronnen")
    slugs = [a["href"].rsplit("/", 1)[-1] for a in html.find("main").select("ul.theme-list h2 a")]
    assert sorted(slugs) == sorted(SOURCES)
    # newest first, sources without a year last (the same on every database)
    years = [SOURCES[s].get("year") for s in slugs]
    dated = [y for y in years if y]
    assert years == dated + [None] * (len(years) - len(dated))
    assert dated == sorted(dated, reverse=True)


def test_about_lists_sources(testapp):
    html = check_page(testapp.get("/over"), "Over dit portaal")
    assert {f"/bronnen/{s}" for s in SOURCES} <= main_links(html)


# --------------------------------------------------------------------------------------------------------------------
# reachability and links


def crawl(app, depth: int) -> dict[str, tuple[int, int]]:
    """Follow same-site links from / (``depth`` clicks deep). Returns {link path or path?query: (clicks, status)}; the
    status is None for links at the last level (found, not fetched)."""
    found: dict[str, list] = {"/": [0, None]}
    frontier = ["/"]
    for clicks in range(1, depth + 1):
        next_frontier = []
        for url in frontier:
            if clicks == depth and known_item(url):  # item pages have their own tests; only check the slug
                found[url][1] = 200
                continue
            response = app.get(url, expect_errors=True)
            found[url][1] = response.status_int
            if response.status_int != 200 or response.content_type != "text/html":
                continue
            for a in response.html.find_all("a", href=True):
                parts = urlsplit(a["href"])
                if parts.scheme not in ("", "http") or parts.netloc not in ("", "localhost"):
                    continue
                if not parts.path.startswith("/") or parts.path.startswith("/static/"):
                    continue
                target = parts.path + (f"?{parts.query}" if parts.query else "")
                if target not in found:
                    found[target] = [clicks, None]
                    next_frontier.append(target)
        frontier = next_frontier
    return {url: (clicks, status) for url, (clicks, status) in found.items()}


ITEM_ROUTES = {"voorbeelden": set(EXAMPLES), "kennis": set(ARTICLES), "bronnen": set(SOURCES), "themas": set(THEMES),
               "regios": set(PROVINCES) | set(YOUTH_REGIONS) | set(MUNICIPALITIES)}


def known_item(url: str) -> bool:
    parts = urlsplit(url)
    match = re.fullmatch(r"/([a-z]+)/([a-z0-9-]+)", parts.path)
    return not parts.query and match is not None and match.group(2) in ITEM_ROUTES.get(match.group(1), ())


@pytest.fixture(scope="module")
def site_map(shared_site):
    """Three clicks deep: what is reachable in two clicks, and the status of every page up to two clicks deep."""
    return crawl(shared_site.testapp(), depth=3)


def test_everything_reachable_within_two_clicks(site_map):
    reachable = {urlsplit(url).path for url, (clicks, _status) in site_map.items() if clicks <= 2}
    assert {f"/voorbeelden/{s}" for s in EXAMPLES} <= reachable
    assert {f"/kennis/{s}" for s in ARTICLES} <= reachable
    assert {f"/bronnen/{s}" for s in SOURCES} <= reachable
    assert {"/voorbeelden", "/themas", "/regios", "/kennis", "/bronnen", "/over"} <= reachable


def test_no_broken_links_two_clicks_deep(site_map):
    fetched = {url: status for url, (_clicks, status) in site_map.items() if status is not None}
    assert len(fetched) > 100
    broken = {url: status for url, status in fetched.items() if status >= 400}
    assert not broken, broken


# --------------------------------------------------------------------------------------------------------------------
# /voorbeelden: filters, facet counts, sorting, paging


def listing(testapp, params) -> tuple[int, list[str], object]:
    """Total, all result slugs (following the pagination) and the first page's document for a filter combination."""
    response = testapp.get("/voorbeelden", params, status=200)
    html = response.html
    first = html
    lead = html.find("main").find("p", class_="lead").get_text()
    total = int(re.match(r"(\d+) voorbeeld", lead).group(1))
    slugs = example_slugs(html)
    seen = {response.request.path_qs}
    while (nxt := html.find("a", rel="next")) is not None:
        assert nxt["href"] not in seen
        seen.add(nxt["href"])
        html = testapp.get(nxt["href"], status=200).html
        slugs += example_slugs(html)
    assert len(slugs) == len(set(slugs)), "an example appears on two pages"
    assert len(slugs) == total
    return total, slugs, first


def page_total(testapp, params) -> int:
    """The number of results the list page announces for a filter combination."""
    lead = testapp.get("/voorbeelden", params, status=200).html.find("main").find("p", class_="lead").get_text()
    return int(re.match(r"(\d+) voorbeeld", lead).group(1))


def facets(html) -> dict[str, dict[str, tuple[int, bool]]]:
    """{facet: {value: (count, checked)}} from the filter form."""
    found: dict[str, dict[str, tuple[int, bool]]] = {}
    for box in html.find("aside", class_="facets").find_all("input", type="checkbox"):
        label = html.find("label", attrs={"for": box["id"]}).get_text()
        count = int(re.search(r"\((\d+)\)\s*$", label).group(1))
        found.setdefault(box["name"], {})[box["value"]] = (count, box.has_attr("checked"))
    return found


def test_list_without_filters(testapp):
    total, slugs, html = listing(testapp, {})
    assert total == len(EXAMPLES) and set(slugs) == set(EXAMPLES)
    found = facets(html)
    assert set(found) == {"thema", "regio", "provincie", "schooltype"}
    assert found["thema"] == {t: (n, False) for t, n in Counter(
        t for m in EXAMPLES.values() for t in m["themes"]).items()}
    assert found["schooltype"] == {t: (n, False) for t, n in Counter(
        t for m in EXAMPLES.values() for t in m["school_types"]).items()}
    assert found["provincie"] == {p: (n, False) for p, n in Counter(m["provincie"] for m in EXAMPLES.values()).items()}
    assert found["regio"] == {r: (n, False) for r, n in Counter(
        m["jeugdregio"] for m in EXAMPLES.values() if m.get("jeugdregio")).items()}


FILTER_STATES = [
    {},
    {"thema": ["thuiszitters"]},
    {"provincie": ["gelderland"]},
    {"schooltype": ["so", "vso"]},
    {"thema": ["financiering"], "provincie": ["noord-holland", "noord-brabant"]},
    {"regio": ["midden-ijssel-oost-veluwe"], "schooltype": ["po"]},
]


@pytest.mark.parametrize("state", FILTER_STATES, ids=lambda s: urlencode(s, doseq=True) or "geen-filters")
def test_facet_counts_match_results(testapp, state):
    """Every offered choice has results, and its count is what you get when you tick it."""
    total, slugs, html = listing(testapp, state)
    assert set(slugs) == expected(**state) and total == len(expected(**state))
    found = facets(html)
    for facet, values in found.items():
        assert values, facet
        for value, (count, checked) in values.items():
            assert count > 0, (facet, value)
            assert checked == (value in state.get(facet, []))
            # ticking this one value (with the other facets as they are) gives exactly `count` results
            clicked = {**state, facet: [value]}
            assert count == len(expected(**clicked)), (facet, value)
            assert page_total(testapp, clicked) == count, (facet, value)
    # every chosen value stays visible (checked), so it can be unticked
    for facet, values in state.items():
        for value in values:
            if expected(**{**state, facet: [value]}):
                assert found[facet][value][1] is True


def test_filters_or_within_and_across(testapp):
    one = expected(thema=["thuiszitters"])
    two = expected(thema=["hoogbegaafdheid"])
    both = listing(testapp, {"thema": ["thuiszitters", "hoogbegaafdheid"]})[1]
    assert set(both) == one | two and len(both) > max(len(one), len(two))
    across = listing(testapp, {"thema": ["thuiszitters"], "provincie": ["noord-holland"]})[1]
    assert set(across) == one & expected(provincie=["noord-holland"])
    assert 0 < len(across) < len(one)


def test_filter_combination_without_results(testapp):
    state = {"thema": ["hoogbegaafdheid"], "provincie": ["limburg"]}
    assert not expected(**state)
    html = testapp.get("/voorbeelden", state, status=200).html
    assert "Geen voorbeelden gevonden" in html.find("main").get_text()
    for values in facets(html).values():
        assert all(count > 0 for count, _checked in values.values())
    # both chosen values stay visible and can be removed one at a time, though neither is offered as a facet now
    chips = {a.get_text(" ", strip=True): dict(parse_qsl(urlsplit(a["href"]).query))
             for a in html.find("ul", class_="active-filters").find_all("a")}
    assert len(chips) == 2
    assert any(label.startswith("Thema: Hoogbegaafd") and query == {"provincie": "limburg"}
               for label, query in chips.items()), chips
    assert any(label.startswith("Provincie: Limburg") and query == {"thema": "hoogbegaafdheid"}
               for label, query in chips.items()), chips
    # and submitting the filter form keeps them
    form = html.find("aside", class_="facets").find("form")
    kept = {(i["name"], i["value"]) for i in form.find_all("input")
            if i.get("type") == "hidden" or i.has_attr("checked")}
    assert {("thema", "hoogbegaafdheid"), ("provincie", "limburg")} <= kept


def test_repeated_value_counts_once(testapp):
    assert listing(testapp, {"thema": ["thuiszitters", "thuiszitters"]})[0] == len(expected(thema=["thuiszitters"]))


def test_regio_filter_accepts_gemeente(testapp):
    assert set(listing(testapp, {"regio": ["apeldoorn"]})[1]) == expected(regio=["apeldoorn"])
    assert len(expected(regio=["apeldoorn"])) == 3


def test_region_pages_link_to_matching_filter(testapp):
    html = testapp.get("/voorbeelden", {"provincie": "overijssel"}).html
    assert {s for s, m in EXAMPLES.items() if m["provincie"] == "overijssel"} == set(example_slugs(html))


def test_sort_by_title(testapp):
    slugs = listing(testapp, {"sort": "titel"})[1]
    assert slugs == listing(testapp, {})[1]  # the default
    titles = [EXAMPLES[s]["title"] for s in slugs]
    assert titles == sorted(titles, key=lambda t: (t.lower(), t))


def test_sort_by_place(testapp):
    places = [EXAMPLES[s]["place"].lower() for s in listing(testapp, {"sort": "plaats"})[1]]
    assert places == sorted(places)


def test_sort_newest(testapp, shared_site):
    from sqlalchemy import select

    from portal.content.models import PracticeExample, Status

    slugs = listing(testapp, {"sort": "nieuwste"})[1]
    with shared_site.session() as s:
        rows = s.execute(select(PracticeExample.slug, PracticeExample.published_at, PracticeExample.start_year)
                         .where(PracticeExample.status == Status.PUBLISHED)).all()
    info = {slug: (published, year) for slug, published, year in rows}
    published = [info[s][0] for s in slugs]
    assert published == sorted(published, reverse=True)
    assert set(slugs) == set(EXAMPLES)


def test_sort_and_filters_survive_paging(testapp):
    html = testapp.get("/voorbeelden", {"sort": "plaats", "thema": "regie-en-samenwerking"}).html
    state_total = len(expected(thema=["regie-en-samenwerking"]))
    assert state_total > PER_PAGE  # otherwise this test proves nothing
    nxt = html.find("a", rel="next")["href"]
    query = dict(parse_qsl(urlsplit(nxt).query))
    assert query == {"thema": "regie-en-samenwerking", "sort": "plaats", "page": "2"}
    # the sort form keeps the current choice
    assert html.find("select", id="sort").find("option", selected=True)["value"] == "plaats"


def test_paging(testapp):
    pages = -(-len(EXAMPLES) // PER_PAGE)
    seen = []
    for number in range(1, pages + 1):
        response = testapp.get("/voorbeelden", {"page": number}, status=200)
        html = check_page(response)
        slugs = example_slugs(html)
        assert len(slugs) == (PER_PAGE if number < pages else len(EXAMPLES) - PER_PAGE * (pages - 1))
        seen += slugs
        current = html.find("nav", class_="pagination").find(attrs={"aria-current": "page"})
        assert current.get_text() == str(number)
        assert (html.find("a", rel="prev") is None) == (number == 1)
        assert (html.find("a", rel="next") is None) == (number == pages)
        if number > 1:
            assert f"(pagina {number})" in html.title.get_text()
    assert sorted(seen) == sorted(EXAMPLES)
    assert testapp.get("/voorbeelden", {"page": pages + 1}, expect_errors=True).status_int in (400, 404)


def test_single_page_has_no_pagination(testapp):
    html = testapp.get("/voorbeelden", {"provincie": "limburg"}).html
    assert html.find("nav", class_="pagination") is None


def test_clear_filters_link(testapp):
    html = testapp.get("/voorbeelden", {"thema": "thuiszitters"}).html
    main = html.find("main")
    assert main.find("a", string="alle filters wissen")["href"] == "/voorbeelden"
    active = main.find("ul", class_="active-filters")
    assert active is not None
    remove = active.find("a")
    assert urlsplit(remove["href"]).query == ""


# --------------------------------------------------------------------------------------------------------------------
# 404 and nonsense input


def check_error_page(response, status: int):
    assert response.status_int == status
    html = check_page(response, breadcrumbs=False)
    text = html.find("main").get_text(" ", strip=True)
    assert f"Foutcode {status}" in text
    assert "Traceback" not in response.text
    return html


@pytest.mark.parametrize("path", [
    "/voorbeelden/bestaat-niet", "/themas/bestaat-niet", "/regios/bestaat-niet", "/kennis/bestaat-niet",
    "/bronnen/bestaat-niet", "/bestaat-niet", "/voorbeelden/koesterklas-nunspeet/extra",
    "/voorbeelden/KOESTERKLAS-NUNSPEET", "/voorbeelden/" + "a" * 5000, "/voorbeelden/%00", "/regios/%00",
    "/kennis/%ff%fe", "/themas/%C3%A9%E2%80%8B", "/bronnen/..%2F..%2Fetc%2Fpasswd",
    # a slug of another kind is not found under the wrong route
    "/kennis/koesterklas-nunspeet", "/voorbeelden/behandelen-en-begeleiden",
])
def test_unknown_slug_is_dutch_404(testapp, path):
    response = testapp.get(path, expect_errors=True)
    assert response.status_int in (400, 404), response.status
    html = check_error_page(response, response.status_int)
    if response.status_int == 404:
        assert h1(html) == "Pagina niet gevonden"
        assert response.html.title.get_text().startswith("Pagina niet gevonden")


def test_404_message_is_specific(testapp):
    html = check_error_page(testapp.get("/voorbeelden/bestaat-niet", status=404), 404)
    assert "praktijkvoorbeeld bestaat niet" in html.find("main").get_text()


LONG = "x" * 10_000
NONSENSE = [
    {"page": "abc"}, {"page": "0"}, {"page": "-1"}, {"page": "99999"}, {"page": "1e3"}, {"page": "1.5"},
    {"page": "९"}, {"page": LONG}, {"page": ""},
    {"sort": "xyz"}, {"sort": LONG}, {"sort": "titel\x00"},
    {"thema": "onbekend"}, {"thema": LONG}, {"thema": "thuiszitters\x00"}, {"thema": "\x1b[31m"},
    {"regio": "gelderland"},  # a province is not a regio value
    {"provincie": "apeldoorn"}, {"schooltype": "havo"}, {"schooltype": "PO"},
    {"thema": ""}, {"onbekend": "x"}, {"per_page": "1000"}, {"q": LONG},
    {"thema": "' OR 1=1 --"}, {"provincie": "<script>alert(1)</script>"},
]


@pytest.mark.parametrize("params", NONSENSE, ids=lambda p: repr(p)[:40])
def test_nonsense_parameters_on_list(testapp, params):
    response = testapp.get("/voorbeelden", params, expect_errors=True)
    assert response.status_int in (200, 400), response.status
    if response.status_int == 400:
        html = check_error_page(response, 400)
        assert h1(html) == "Ongeldige aanvraag"
        assert "<script>alert(1)</script>" not in response.text
        assert "\x00" not in response.text and "\x1b" not in response.text
        assert len(response.text) < 20_000  # the error does not echo a 10,000 character value
    else:
        check_page(response)


@pytest.mark.parametrize("params", [
    {"page": "abc"}, {"thema": "\x00"}, {"sort": "xyz"}, {"x": LONG},
], ids=repr)
@pytest.mark.parametrize("path", ["/", "/themas", "/themas/thuiszitters", "/regios", "/regios/gelderland", "/kennis",
                                  "/kennis/rol-van-de-zorgarrangeur", "/bronnen", "/bronnen/behandelen-en-begeleiden",
                                  "/over", "/voorbeelden/koesterklas-nunspeet"])
def test_parameters_ignored_on_other_pages(testapp, path, params):
    check_page(testapp.get(path, params, status=200), breadcrumbs=path != "/")


@pytest.mark.parametrize("query", ["thema=%ff", "page=%ff%fe", "sort=%00", "%ff=1", "thema", "&&&", "thema=a&" * 500])
def test_raw_query_strings(testapp, query):
    response = testapp.get(f"/voorbeelden?{query}", expect_errors=True)
    assert response.status_int in (200, 400), (query, response.status)


def test_invalid_utf8_in_path(testapp):
    response = testapp.get("/voorbeelden/%ff", expect_errors=True)
    assert response.status_int in (400, 404)
    check_error_page(response, response.status_int)


def test_other_methods_never_500(testapp):
    for path in ("/voorbeelden", "/voorbeelden/koesterklas-nunspeet", "/"):
        assert testapp.post(path, expect_errors=True).status_int < 500
        assert testapp.delete(path, expect_errors=True).status_int < 500


def test_head_request(testapp):
    response = testapp.head("/voorbeelden", status=200)
    assert response.body == b""


def test_all_filter_combinations_of_two_values_agree_with_content(testapp):
    """A broader sweep with the API (cheap): every pair of facet values, OR within and AND across."""
    values = [("thema", t) for t in sorted(THEMES)[:6]] + [("provincie", p) for p in sorted(PROVINCES)[:4]] + [
        ("schooltype", s) for s in sorted(SCHOOL_TYPES)[:3]]
    for (f1, v1), (f2, v2) in itertools.combinations(values, 2):
        state: dict[str, list[str]] = {}
        state.setdefault(f1, []).append(v1)
        state.setdefault(f2, []).append(v2)
        data = testapp.get("/api/voorbeelden", {**state, "per_page": 100}).json
        assert {i["slug"] for i in data["items"]} == expected(**state), state
        assert data["total"] == len(expected(**state))


# --------------------------------------------------------------------------------------------------------------------
# information pages (privacy, colofon, toegankelijkheid), the footer and the storage line on every form

INFO_PAGES = [
    ("/privacy", "Privacyverklaring"),
    ("/colofon", "Colofon"),
    ("/toegankelijkheid", "Toegankelijkheidsverklaring"),
]


@pytest.mark.parametrize(("path", "title"), INFO_PAGES)
def test_information_pages(testapp, path, title):
    html = check_page(testapp.get(path, status=200), title)
    assert h1(html) == title
    assert crumb_labels(html) == ["Home", title]
    levels = [int(h.name[1]) for h in html.find("main").find_all(["h1", "h2", "h3", "h4"])]
    assert all(b - a <= 1 for a, b in itertools.pairwise([1, *levels])), levels
    # the editors' address: the test settings have a localhost sender, so a clearly marked placeholder is shown
    text = html.find("main").get_text(" ", strip=True)
    assert "redactie@kennisportaal.example.nl" in text and "voorbeeldadres" in text
    assert "mailto:redactie@kennisportaal.example.nl" in {a["href"] for a in html.find("main").find_all("a")}


def test_privacy_page_covers_what_is_kept(testapp):
    text = testapp.get("/privacy").html.find("main").get_text(" ", strip=True)
    for words in ("hash", "2 uur", "één dag", "Alleen de redactie", "toestemming", "geen trackingcookies",
                  "inzage", "correctie", "verwijdering"):
        assert words in text, words


def test_accessibility_statement(testapp):
    html = testapp.get("/toegankelijkheid").html
    text = html.find("main").get_text(" ", strip=True)
    assert "WCAG 2.1" in text and "voldoet gedeeltelijk" in text and "axe-core" in text
    assert html.find("time", attrs={"datetime": "2026-11-29"}).get_text() == "29 november 2026"


def test_colofon_links_to_sources(testapp):
    assert "/bronnen" in main_links(testapp.get("/colofon").html)


@pytest.mark.parametrize("path", ["/", f"/voorbeelden/{sorted(EXAMPLES)[0]}", "/privacy", "/inloggen"])
def test_footer_links_to_information_pages(testapp, path):
    footer = testapp.get(path).html.find("footer")
    assert {"/privacy", "/colofon", "/toegankelijkheid", "/over"} <= linked_paths(footer)


def privacy_line(html):
    """The one storage line of a form page: one paragraph that links to /privacy."""
    notes = html.find("main").find_all("p", class_="privacy-note")
    assert len(notes) == 1, notes
    assert "/privacy" in linked_paths(notes[0])
    assert notes[0].get_text(" ", strip=True).startswith("Wat we bewaren:")
    return notes[0].get_text(" ", strip=True)


@pytest.mark.parametrize(("path", "words"), [
    ("/inloggen", ["hash", "2 uur"]),
    ("/account/aanvragen", ["naam", "e-mailadres", "organisatie", "hash", "beheerders"]),
    ("/voorbeeld-aanmelden", ["naam", "e-mailadres", "organisatie", "afgehandeld", "alleen de redactie"]),
    ("/wachtwoord-vergeten", ["hash", "één dag"]),
])
def test_public_forms_have_storage_line(testapp, path, words):
    text = privacy_line(testapp.get(path).html)
    for word in words:
        assert word in text, (path, word)


def test_account_forms_have_storage_line(site):
    from workflow.helpers import add_user, login

    add_user(site, "bijdrager@example.nl", "bijdrager")
    app = site.testapp()
    login(app, "bijdrager@example.nl")
    assert "hash" in privacy_line(app.get("/account/wachtwoord").html)
    text = privacy_line(app.get("/bijdragen").html)
    assert "alleen u en de redactie" in text and "toestemming" in text
