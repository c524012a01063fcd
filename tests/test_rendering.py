"""Markdown rendering: python-markdown, then nh3. Whatever an editor or contributor writes, no script reaches a page."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from markupsafe import Markup
from sqlalchemy import select

from portal.content.models import Article, PracticeExample, Source
from portal.rendering import ALLOWED_TAGS, render_markdown


def soup(html: str) -> BeautifulSoup:
    return BeautifulSoup(str(html), "html.parser")


def assert_harmless(html: str) -> None:
    doc = soup(html)
    assert doc.find(["script", "style", "iframe", "object", "embed", "img", "svg", "form", "input", "div"]) is None
    for tag in doc.find_all(True):
        assert tag.name in ALLOWED_TAGS, tag.name
        for attribute in tag.attrs:
            assert not attribute.lower().startswith("on"), (tag.name, attribute)
            assert attribute.lower() not in ("style", "srcdoc", "formaction"), (tag.name, attribute)
        href = tag.get("href")
        if href is not None:
            assert href.split(":", 1)[0].lower().strip() in ("http", "https", "mailto") or ":" not in href, href
    lowered = str(html).lower()
    assert "javascript:" not in lowered and "vbscript:" not in lowered and "data:text" not in lowered


ATTACKS = [
    "<script>alert(1)</script>",
    "Tekst <script src=//evil.example/x.js></script> meer",
    "<img src=x onerror=alert(1)>",
    "<b onmouseover=alert(1)>vet</b>",
    '<a href="javascript:alert(1)">klik</a>',
    '<a href="JaVaScRiPt:alert(1)">klik</a>',
    '<a href="&#106;avascript:alert(1)">klik</a>',
    '<a href=" javascript:alert(1)">klik</a>',
    "[klik](javascript:alert(1))",
    "[klik](vbscript:msgbox(1))",
    "[klik](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![plaatje](javascript:alert(1))",
    '<iframe src="https://evil.example"></iframe>',
    '<div style="position:fixed;top:0">overlay</div>',
    "<style>body{display:none}</style>",
    '<svg onload="alert(1)"><circle/></svg>',
    '<form action="https://evil.example"><input name=wachtwoord></form>',
    "<object data=x></object><embed src=x>",
    '<p onclick="alert(1)" style="color:red">alinea</p>',
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<!--<script>alert(1)</script>-->",
    '<a href="https://example.nl" onclick="alert(1)" target="_blank">ok</a>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
]


@pytest.mark.parametrize("text", ATTACKS)
def test_sanitises(text):
    html = render_markdown(text)
    assert isinstance(html, Markup)
    assert_harmless(html)


def test_script_content_is_dropped_not_shown():
    assert "alert" not in str(render_markdown("Voor <script>alert(1)</script> na"))
    assert "Voor" in str(render_markdown("Voor <script>alert(1)</script> na"))


def test_safe_links_kept_with_rel():
    html = render_markdown("Zie [de site](https://www.nji.nl/), [mail](mailto:info@example.nl) en [pagina](/kennis).")
    links = {a["href"]: a for a in soup(html).find_all("a")}
    assert set(links) == {"https://www.nji.nl/", "mailto:info@example.nl", "/kennis"}
    assert "noopener" in links["https://www.nji.nl/"]["rel"]
    assert "noreferrer" in links["https://www.nji.nl/"]["rel"]


def test_javascript_link_text_stays():
    doc = soup(render_markdown("[klik hier](javascript:alert(1))"))
    assert "klik hier" in doc.get_text()
    for a in doc.find_all("a"):
        assert "href" not in a.attrs or not a["href"].lower().startswith("javascript")


def test_markdown_table():
    text = (
        "| Vorm | Wie betaalt | Bedrag |\n"
        "|------|-------------|-------:|\n"
        "| Populatiebekostiging | gemeente | € 10.000 |\n"
        "| Subsidie | **provincie** | € 5.000 |\n"
    )
    doc = soup(render_markdown(text))
    table = doc.find("table")
    assert table is not None
    assert [th.get_text() for th in table.find("thead").find_all("th")] == ["Vorm", "Wie betaalt", "Bedrag"]
    rows = table.find("tbody").find_all("tr")
    assert [[td.get_text() for td in row.find_all("td")] for row in rows] == [
        ["Populatiebekostiging", "gemeente", "€ 10.000"], ["Subsidie", "provincie", "€ 5.000"]]
    assert rows[1].find("strong").get_text() == "provincie"
    # the alignment style is dropped (no style attributes), the table itself stays
    assert all("style" not in cell.attrs for cell in table.find_all(["th", "td"]))


def test_table_with_html_inside_is_sanitised():
    html = render_markdown("| a | b |\n|---|---|\n| <script>x()</script> | [k](javascript:x()) |\n")
    assert soup(html).find("table") is not None
    assert_harmless(html)


def test_regular_markdown():
    html = render_markdown("## Kop\n\n### Subkop\n\n- een\n- twee\n\n1. eerst\n2. dan\n\n**vet** en *schuin* en `code`"
                           "\n\n> citaat")
    doc = soup(html)
    assert doc.find("h2").get_text() == "Kop" and doc.find("h3").get_text() == "Subkop"
    assert [li.get_text() for li in doc.find("ul").find_all("li")] == ["een", "twee"]
    assert [li.get_text() for li in doc.find("ol").find_all("li")] == ["eerst", "dan"]
    assert doc.find("strong") and doc.find("em") and doc.find("code") and doc.find("blockquote")


def test_no_h1_from_markdown():
    """The page has one h1 (its title); a '#' heading in a body must not add a second one."""
    doc = soup(render_markdown("# Grote kop\n\nTekst"))
    assert doc.find("h1") is None
    assert "Grote kop" in doc.get_text()


def test_empty_and_none():
    assert str(render_markdown("")) == ""
    assert str(render_markdown(None)) == ""


def test_entities_and_dutch_characters():
    html = render_markdown("Café & één 'quote' \"dubbel\" <geen tag> a < b")
    text = soup(html).get_text()
    assert "Café & één" in text and "a < b" in text


# --------------------------------------------------------------------------------------------------------------------
# through the pages and the API


EVIL = ("Inleiding <script>alert('x')</script>\n\n<img src=x onerror=alert(2)>\n\n[klik](javascript:alert(3))\n\n"
        "# Tweede h1?\n\n| a | b |\n|---|---|\n| 1 | 2 |\n")


def test_pages_and_api_sanitise_stored_content(site):
    with site.session() as s:
        example = s.scalar(select(PracticeExample).where(PracticeExample.slug == "koesterklas-nunspeet"))
        example.approach = EVIL
        example.title = "Koesterklas <script>alert(4)</script>"
        example.summary = 'Samenvatting "><script>alert(5)</script>'
        article = s.scalar(select(Article).where(Article.slug == "wat-is-een-onderwijszorgarrangement"))
        article.body = EVIL
        source = s.scalar(select(Source).where(Source.slug == "behandelen-en-begeleiden"))
        source.body = EVIL
    app = site.testapp()
    for path in ("/voorbeelden/koesterklas-nunspeet", "/kennis/wat-is-een-onderwijszorgarrangement",
                 "/bronnen/behandelen-en-begeleiden", "/voorbeelden", "/themas/trauma-en-hechting"):
        response = app.get(path, status=200)
        doc = response.html
        assert doc.find("script") is None, path
        assert doc.find("img") is None, path
        assert len(doc.find_all("h1")) == 1, path
        assert "javascript:" not in response.text.lower(), path
        for tag in doc.find_all(True):
            assert not any(a.lower().startswith("on") for a in tag.attrs), (path, tag)
    page = app.get("/voorbeelden/koesterklas-nunspeet").html
    assert page.find("h1").get_text() == "Koesterklas <script>alert(4)</script>"  # shown as text, escaped
    assert page.find("main").find("table") is not None
    data = app.get("/api/voorbeelden/koesterklas-nunspeet").json
    assert_harmless(data["body_html"])
    assert soup(data["body_html"]).find("table") is not None
    assert "<script>alert('x')</script>" in data["body_markdown"]  # the Markdown is returned as written
    approach = next(s for s in data["sections"] if s["heading"] == "Aanpak")
    assert_harmless(approach["html"])


def test_real_content_renders_clean(testapp):
    """Every loaded body renders to allowed tags only (the content follows the 'no raw HTML' rule)."""
    slugs = [i["slug"] for i in testapp.get("/api/voorbeelden", {"per_page": 100}).json["items"]]
    for slug in slugs:
        data = testapp.get(f"/api/voorbeelden/{slug}").json
        assert_harmless(data["body_html"])


def test_page_window_is_bounded():
    from portal.views.helpers import page_window

    assert page_window(1, 1) == [1]
    assert page_window(1, 3) == [1, 2, 3]
    assert page_window(1, 836) == [1, 2, 3, None, 836]
    assert page_window(400, 836) == [1, None, 398, 399, 400, 401, 402, None, 836]
    assert page_window(836, 836) == [1, None, 834, 835, 836]
    assert page_window(4, 10) == [1, 2, 3, 4, 5, 6, None, 10]
    assert all(len(page_window(n, 10_000)) <= 9 for n in (1, 2, 5000, 9999, 10_000))
