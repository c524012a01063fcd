"""Links that work (issue 10): links between content files become page URLs, the loader refuses links to files
that do not exist, and no internal link on the site gives a 404 or a server error."""

from __future__ import annotations

import html
import re
from collections import deque
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest
from bs4 import BeautifulSoup

from portal.content.files import ContentError, read_content
from portal.rendering import content_link_url, render_markdown

ROOT = Path(__file__).resolve().parent.parent
CONTENT_DIR = ROOT / "content"
ARTICLE = "kennis/wat-is-een-onderwijszorgarrangement.md"


def hrefs(markup) -> list[str]:
    return [a["href"] for a in BeautifulSoup(str(markup), "html.parser").find_all("a", href=True)]


# --------------------------------------------------------------------------------------------------------------------
# rendering

@pytest.mark.parametrize(("markdown", "href"), [
    ("[x](../voorbeelden/koesterklas-nunspeet.md)", "/voorbeelden/koesterklas-nunspeet"),
    ("[x](../kennis/rol-van-de-zorgarrangeur.md#aanpak)", "/kennis/rol-van-de-zorgarrangeur#aanpak"),
    ("[x](../bronnen/behandelen-en-begeleiden.md)", "/bronnen/behandelen-en-begeleiden"),
    ("[x](voorbeelden/koesterklas-nunspeet.md)", "/voorbeelden/koesterklas-nunspeet"),
    ('[x](../kennis/a.md "titel")', "/kennis/a"),
    ("[x][ref]\n\n[ref]: ../voorbeelden/b.md", "/voorbeelden/b"),
    ("[x](koesterklas-nunspeet.md)", "koesterklas-nunspeet"),  # relative to the page of the same kind
    ("[x](https://example.nl/x.md)", "https://example.nl/x.md"),  # external: as written
    ("[x](/kennis)", "/kennis"),
    ("[x](../andere-map/x.md)", "../andere-map/x.md"),  # not a content file: left alone (the loader refuses it)
])
def test_content_links_become_page_urls(markdown, href):
    assert hrefs(render_markdown(markdown)) == [href]


def test_content_link_url_with_base_dir():
    assert content_link_url("x.md", "kennis") == "/kennis/x"
    assert content_link_url("./x.md#a", "voorbeelden") == "/voorbeelden/x#a"
    assert content_link_url("../bronnen/y.md", "kennis") == "/bronnen/y"
    assert content_link_url("../../bronnen/y.md", "kennis") is None
    assert content_link_url("x.md?q=1", "kennis") is None
    assert content_link_url("mailto:a@b.nl") is None


def test_source_page_links_to_its_examples_and_articles(testapp):
    page = testapp.get("/bronnen/samenwerking-onderwijs-en-zorgpartners")
    links = hrefs(page.text)
    assert not [h for h in links if h.endswith(".md")], links
    assert "/voorbeelden/wereldschool-de-vlinder-apeldoorn" in links
    assert "/kennis/uitdagingen-samenwerking-onderwijs-en-zorg" in links
    for href in links:
        if href.startswith(("/voorbeelden/", "/kennis/")):
            testapp.get(href, status=200)


def test_api_html_fields_carry_page_urls(site):
    """A link to another content file inside an example's section reaches the API as a page URL."""
    from sqlalchemy import select

    from portal.content.models import PracticeExample

    with site.session() as db:
        example = db.scalars(select(PracticeExample).where(PracticeExample.slug == "koesterklas-nunspeet")).one()
        example.approach += ("\n\nZie ook [de werkprincipes](../kennis/werkprincipes-onderwijszorgarrangement.md) "
                             "en [IZEO](../voorbeelden/izeo-cadier-en-keer.md#aanpak).")
    data = site.testapp().get("/api/voorbeelden/koesterklas-nunspeet").json
    links = hrefs(data["body_html"]) + [h for s in data["sections"] for h in hrefs(s["html"])]
    assert "/kennis/werkprincipes-onderwijszorgarrangement" in links
    assert "/voorbeelden/izeo-cadier-en-keer#aanpak" in links
    assert not [h for h in links if h.endswith(".md") or ".md#" in h], links


# --------------------------------------------------------------------------------------------------------------------
# the loader

def test_links_are_found_with_their_line(content_copy):
    path = content_copy / ARTICLE
    text = path.read_text(encoding="utf-8")
    path.write_text(text + "\nZie [de zorgarrangeur](rol-van-de-zorgarrangeur.md) en "
                    "[Koesterklas](../voorbeelden/koesterklas-nunspeet.md#aanpak).\n", encoding="utf-8")
    line = len((text + "\n").splitlines()) + 1
    _vocabulary, items = read_content(content_copy)
    item = next(i for i in items if i.relpath == ARTICLE)
    assert [(link.line, link.directory, link.slug) for link in item.links[-2:]] == [
        (line, "kennis", "rol-van-de-zorgarrangeur"), (line, "voorbeelden", "koesterklas-nunspeet")]
    # a link without a directory is written out, so it works wherever the text is rendered (API, previews)
    assert "](../kennis/rol-van-de-zorgarrangeur.md)" in item.body
    assert "/kennis/rol-van-de-zorgarrangeur" in hrefs(render_markdown(item.body))


@pytest.mark.parametrize(("link", "reason"), [
    ("../voorbeelden/bestaat-niet.md", "voorbeelden/bestaat-niet.md"),
    ("bestaat-niet.md#anker", "kennis/bestaat-niet.md"),
    ("../bronnen/bestaat-niet.md", "bronnen/bestaat-niet.md"),
    ("../README.md", "wijst niet naar een bestand in"),
    ("../vocabulaire/themas.md", "wijst niet naar een bestand in"),
    ("/themas/bestaat-niet", "thema die niet bestaat"),
    ("/regios/bestaat-niet", "regio die niet bestaat"),
    ("/voorbeelden/bestaat-niet", "voorbeelden/bestaat-niet.md"),
])
def test_link_to_missing_file_is_refused(content_copy, link, reason):
    path = content_copy / ARTICLE
    text = path.read_text(encoding="utf-8")
    path.write_text(text + f"\nZie [deze pagina]({link}).\n", encoding="utf-8")
    with pytest.raises(ContentError) as info:
        read_content(content_copy)
    error = info.value
    assert error.path == str(path) and error.field == "body"
    assert error.line == len((text + "\n").splitlines()) + 1
    message = str(error)
    assert f"{ARTICLE.split('/')[1]}:{error.line}" in message and link in message and reason in message, message


def test_links_in_code_and_external_links_are_not_checked(content_copy):
    path = content_copy / ARTICLE
    path.write_text(path.read_text(encoding="utf-8") + "\n```\n[x](../voorbeelden/bestaat-niet.md)\n```\n\n"
                    "[extern](https://example.nl/handleiding.md) en [thema](/themas/onderwijszorgarrangementen)\n",
                    encoding="utf-8")
    read_content(content_copy)


# --------------------------------------------------------------------------------------------------------------------
# the whole site

SKIP_PREFIXES = ("/uitloggen",)


def _internal(href: str, page: str) -> str | None:
    """The path (with query) an internal link points to, or None for external links and other schemes."""
    url, _fragment = urldefrag(urljoin("http://localhost" + page, href))
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.netloc != "localhost":
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def test_no_broken_internal_links(testapp):
    """Crawl everything reachable from / and the sitemap; every internal link answers 2xx or 3xx."""
    sitemap = testapp.get("/sitemap.xml")
    queue: deque[tuple[str, str]] = deque([("/", "(start)")])
    for loc in re.findall(r"<loc>\s*([^<]+?)\s*</loc>", sitemap.text):
        path = _internal(html.unescape(loc), "/")
        assert path is not None, loc
        queue.append((path, "/sitemap.xml"))
    seen: set[str] = set()
    broken: list[str] = []
    assets: dict[str, str] = {}
    pages = 0
    while queue:
        path, found_on = queue.popleft()
        if path in seen or path.startswith(SKIP_PREFIXES):
            continue
        seen.add(path)
        response = testapp.get(path, expect_errors=True)
        if response.status_int >= 400:
            broken.append(f"{path} ({response.status_int}) op {found_on}")
            continue
        if response.status_int in (301, 302, 303, 307, 308):
            target = _internal(response.headers["Location"], path)
            if target is not None:
                queue.append((target, path))
            continue
        if not response.content_type.startswith("text/html"):
            continue
        pages += 1
        doc = BeautifulSoup(response.text, "html.parser")
        for tag in doc.find_all(["a", "link", "script", "img", "source"]):
            href = tag.get("href") or tag.get("src")
            target = _internal(href, path) if href else None
            if target is None:
                continue
            if target.startswith("/static/"):
                assets.setdefault(target.split("?", 1)[0], path)
            elif tag.name == "a" or tag.get("rel") in (["alternate"], ["canonical"]):
                queue.append((target, path))
    for asset, found_on in assets.items():
        status = testapp.get(asset, expect_errors=True).status_int
        if status != 200:
            broken.append(f"{asset} ({status}) op {found_on}")
    assert not broken, "kapotte links:\n" + "\n".join(sorted(broken))
    assert pages > 60, pages  # the crawl did reach the content pages


# --------------------------------------------------------------------------------------------------------------------
# the layout's fixed addresses (portal.links): worked out once per script name, right under a proxy's prefix


def _layout_hrefs(page) -> list[str]:
    soup = BeautifulSoup(page.text, "html.parser")
    menu = soup.find("nav", attrs={"aria-label": "Hoofdmenu"})
    footer = soup.find("nav", attrs={"aria-label": "Over deze website"})
    sheets = [link["href"] for link in soup.find_all("link", rel="stylesheet")]
    search = soup.find("form", class_="header-search")
    return [*hrefs(menu), *hrefs(footer), *sheets, *([search["action"]] if search else [])]


def test_layout_links_follow_the_script_name(testapp):
    plain = _layout_hrefs(testapp.get("/over"))
    mounted = _layout_hrefs(testapp.get("/over", extra_environ={"SCRIPT_NAME": "/portaal"}))
    again = _layout_hrefs(testapp.get("/over"))
    assert "/voorbeelden" in plain and "/static/portal.css" in plain and "/zoeken" in plain
    assert mounted == ["/portaal" + href for href in plain]
    assert again == plain  # each script name has its own addresses
    for href in plain:
        assert testapp.get(href, status="*").status_int in (200, 303), href  # 303: contributing asks for a login
