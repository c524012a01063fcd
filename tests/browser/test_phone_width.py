"""No page scrolls sideways on a phone (WCAG 1.4.10 Reflow): every page in the sitemap (each example, article,
source, theme and region, and the overviews) plus the search, statement and form pages and the signed-in working
pages, at 320 and at 390 px, in Chromium.

A failure names the page, the width, how wide the page is and the element that sticks out furthest.
"""

from __future__ import annotations

import re
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

import pytest
from conftest import CONTENT_DIR
from workflow.helpers import PASSWORD, add_user

from browser.helpers import horizontal_overflow, log_in
from portal.accounts.models import User
from portal.workflow import services as wf

pytestmark = pytest.mark.browser

WIDTHS = (320, 390)
#: Pages loading at the same time (the server renders one while Chromium lays out another).
TABS = 3
EXTRA_PAGES = ("/zoeken?q=thuiszitters", "/zoeken?q=qqxyzqq", "/zoeken", "/privacy", "/colofon",
               "/toegankelijkheid", "/inloggen", "/account/aanvragen", "/voorbeeld-aanmelden",
               "/voorbeelden/bestaat-niet")


def sitemap_paths(base_url: str) -> list[str]:
    with urllib.request.urlopen(base_url + "/sitemap.xml", timeout=10) as response:  # noqa: S310
        tree = ET.fromstring(response.read())  # noqa: S314 (our own sitemap)
    locs = [el.text for el in tree.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")]
    paths = []
    for loc in locs:
        assert loc.startswith(base_url), f"sitemap URL {loc} is not on {base_url}"
        paths.append(urllib.parse.urlsplit(loc).path or "/")
    return paths


def test_sitemap_lists_every_detail_page(live_server):
    """The overflow test below covers every content item: the sitemap lists each file in content/."""
    paths = sitemap_paths(live_server.url)
    for folder in ("voorbeelden", "kennis", "bronnen"):
        expected = {f"/{folder}/{p.stem}" for p in (CONTENT_DIR / folder).glob("*.md")}
        assert expected <= set(paths), f"not in the sitemap: {sorted(expected - set(paths))}"
    assert any(re.fullmatch(r"/themas/[^/]+", p) for p in paths)
    assert sum(1 for p in paths if re.fullmatch(r"/regios/[^/]+", p)) > 10


def test_no_page_scrolls_sideways(page, live_server):
    paths = sitemap_paths(live_server.url)
    page.goto("/voorbeelden")
    facet = page.locator("main input[type=checkbox]").first
    paths.append(f"/voorbeelden?{facet.get_attribute('name')}={facet.get_attribute('value')}")
    paths += EXTRA_PAGES
    failures = []
    for tab, path in load_in_tabs(page.context, live_server.url, paths):
        for width in WIDTHS:
            tab.set_viewport_size({"width": width, "height": 800})
            overflow = horizontal_overflow(tab)
            if overflow:
                failures.append(f"{path} at {width} px: page is {overflow['scrollWidth']} px wide; "
                                f"widest element: {overflow['widest']}")
    if failures:
        pytest.fail(f"{len(failures)} page/width combination(s) scroll sideways (of {len(paths)} pages):\n"
                    + "\n".join(failures), pytrace=False)


SIGNED_IN_PAGES = ("/bijdragen", "/mijn-bijdragen", "/redactie", "/beheer/gebruikers", "/account/wachtwoord")


def submitted_example(site) -> int:
    """A contributor's example, submitted to the editors (through the workflow services)."""
    owner_id = add_user(site, "breedte-bijdrager@example.nl", "bijdrager", name="Bo Bijdrager")
    with site.session() as session:
        owner = session.get(User, owner_id)
        data = {"title": "Een voorbeeld met een heel lang woord: samenwerkingsverbandcoördinatorenoverleg",
                "summary": "Een school en het wijkteam werken samen.", "place": "Zwolle", "provincie": "overijssel",
                "themes": ["thuiszitters"], "target_group": "Leerlingen", "background": "Achtergrond.",
                "approach": "| a | b | c |\n|---|---|---|\n| " + " | ".join(["een lange cel met veel tekst"] * 3)
                            + " |", "results": "Resultaten.", "financing": "Gemeente",
                "financing_text": "Gemeente betaalt.", "lessons": "Begin klein.", "source_note": "Eigen bijdrage."}
        state, _created = wf.create_contribution(session, owner, data, token="breedte")
        wf.transition(session, state, owner, "submit", state.version)
        return state.example.id


def test_signed_in_pages_fit(page, live_server):
    """The working pages too: the contribution form, the queue, a review with its history and user management
    (a beheerder may see them all)."""
    item = submitted_example(live_server.site)
    add_user(live_server.site, "breedte-beheer@example.nl", "beheerder", name="Bas Beheer")
    log_in(page, "breedte-beheer@example.nl", PASSWORD)
    paths = [*SIGNED_IN_PAGES, f"/redactie/voorbeelden/{item}", f"/redactie/voorbeelden/{item}/geschiedenis"]
    failures = []
    for tab, path in load_in_tabs(page.context, live_server.url, paths):
        assert tab.locator("h1").count() == 1, f"{path}: not the page itself ({tab.url})"
        for width in WIDTHS:
            tab.set_viewport_size({"width": width, "height": 800})
            overflow = horizontal_overflow(tab)
            if overflow:
                failures.append(f"{path} at {width} px: page is {overflow['scrollWidth']} px wide; "
                                f"widest element: {overflow['widest']}")
    if failures:
        pytest.fail("\n".join(failures), pytrace=False)


def load_in_tabs(context, base_url: str, paths: list[str], tabs: int = TABS):
    """Yield (tab, path) for each path once its page has loaded, with a few tabs loading at the same time.

    Navigation is started from inside each tab (not awaited), so the server renders one page while the browser lays
    out another. Each page is loaded at the narrowest width; the caller may resize the tab before the next load.
    """
    queue = list(dict.fromkeys(paths))  # each page once: a tab must never "navigate" to the URL it already shows
    loading: dict = {}

    def start(tab) -> None:
        tab.set_viewport_size({"width": WIDTHS[0], "height": 800})
        path = queue.pop(0)
        loading[tab] = path
        tab.evaluate("url => setTimeout(() => location.assign(url), 0)", base_url + path)

    opened = [context.new_page() for _ in range(min(tabs, len(queue)))]
    for tab in opened:
        start(tab)
    while loading:
        for tab in list(loading):
            path = loading.pop(tab)
            tab.wait_for_url(base_url + path, wait_until="load")
            status = tab.evaluate("() => performance.getEntriesByType('navigation')[0].responseStatus")
            assert status in (200, 404), f"{path}: HTTP {status}"
            yield tab, path
            if queue:
                start(tab)
    for tab in opened:
        tab.close()
