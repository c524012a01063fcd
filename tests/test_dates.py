"""Issue 10, dates and provenance: published / last changed / source year on detail pages, in the API and the
Atom feed; the calm notice for old sources; the loader keeps the first publication date on reloads and moves the
last-changed date only for a real content change."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET

import yaml
from bs4 import BeautifulSoup
from sqlalchemy import select

from portal.content.loader import load_content
from portal.content.models import Article, PracticeExample, Source, Status, utcnow

ATOM = "{http://www.w3.org/2005/Atom}"
NOTICE = "De situatie kan sindsdien veranderd zijn."
MONTHS = ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
          "november", "december"]


def example_with_source_year(site, old: bool) -> str:
    """Slug of a published example whose source is (not) older than five years."""
    with site.session() as s:
        for example in s.scalars(select(PracticeExample).where(PracticeExample.status == Status.PUBLISHED)
                                 .order_by(PracticeExample.slug)):
            year = example.source.year if example.source else None
            if year is not None and (utcnow().year - year > 5) == old:
                return example.slug
    raise AssertionError("no such example in content/")


def set_dates(site, model, slug: str, published: dt.datetime, updated: dt.datetime) -> None:
    with site.session() as s:
        item = s.scalar(select(model).where(model.slug == slug))
        item.published_at, item.updated_at = published, updated


def times(html: str) -> list[tuple[str, str]]:
    soup = BeautifulSoup(html, "html.parser")
    return [(t["datetime"], t.get_text(" ", strip=True)) for t in soup.select("main time")]


# --------------------------------------------------------------------------------------------------------------------
# pages


def test_example_page_shows_dutch_dates_in_time_elements(site):
    slug = example_with_source_year(site, old=True)
    set_dates(site, PracticeExample, slug, dt.datetime(2024, 3, 12, 10, 0), dt.datetime(2025, 1, 5, 23, 30))
    page = site.testapp().get(f"/voorbeelden/{slug}", status=200)
    found = times(page.text)
    assert ("2024-03-12", "12 maart 2024") in found
    # 23:30 UTC on 5 January is 6 January in the Netherlands
    assert ("2025-01-06", "6 januari 2025") in found
    text = BeautifulSoup(page.text, "html.parser").find("main").get_text(" ", strip=True)
    assert "Gepubliceerd op 12 maart 2024" in text and "Laatst gewijzigd op 6 januari 2025" in text
    assert re.search(r"Bron uit \d{4}", text)


def test_unchanged_item_shows_only_publication_date(testapp, shared_site):
    slug = example_with_source_year(shared_site, old=False)
    main = BeautifulSoup(testapp.get(f"/voorbeelden/{slug}").text, "html.parser").find("main")
    dates = main.select_one(".item-dates")
    assert dates is not None and "Gepubliceerd op" in dates.get_text()
    assert "Laatst gewijzigd" not in dates.get_text()
    iso, label = dates.find("time")["datetime"], dates.find("time").get_text()
    day = dt.date.fromisoformat(iso)
    assert label == f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def test_article_and_source_pages_show_dates(testapp, shared_site):
    with shared_site.session() as s:
        article = s.scalar(select(Article).where(Article.status == Status.PUBLISHED).order_by(Article.slug))
        source = s.scalar(select(Source).where(Source.year.is_not(None)).order_by(Source.slug))
        article_slug, article_year = article.slug, article.source.year
        source_slug = source.slug
    for path in (f"/kennis/{article_slug}", f"/bronnen/{source_slug}"):
        page = testapp.get(path, status=200)
        dates = BeautifulSoup(page.text, "html.parser").select_one("main .item-dates")
        assert dates is not None, path
        assert "Gepubliceerd op" in dates.get_text(), path
        assert dates.find("time") is not None
    if article_year:
        page = BeautifulSoup(testapp.get(f"/kennis/{article_slug}").text, "html.parser")
        assert f"Bron uit {article_year}" in page.select_one("main .item-dates").get_text()


def test_old_source_notice_present_for_old_and_absent_for_recent(testapp, shared_site):
    old = example_with_source_year(shared_site, old=True)
    recent = example_with_source_year(shared_site, old=False)
    old_page = BeautifulSoup(testapp.get(f"/voorbeelden/{old}").text, "html.parser")
    notice = old_page.select_one("main .source-age")
    assert notice is not None and NOTICE in notice.get_text()
    assert re.search(r"Deze beschrijving is gebaseerd op een bron uit \d{4}\.", " ".join(notice.get_text().split()))
    assert "notice" in notice["class"]  # the calm brand-coloured note, not the error colour
    recent_page = BeautifulSoup(testapp.get(f"/voorbeelden/{recent}").text, "html.parser")
    assert recent_page.select_one("main .source-age") is None
    assert NOTICE not in recent_page.get_text()


def test_notice_age_is_configurable(site_factory):
    site = site_factory(**{"portal.source_age_notice_years": "100"})
    old = example_with_source_year(site, old=True)
    assert NOTICE not in site.testapp().get(f"/voorbeelden/{old}").text
    strict = site_factory(**{"portal.source_age_notice_years": "0"})
    recent = example_with_source_year(strict, old=False)
    with strict.session() as s:
        year = s.scalar(select(PracticeExample).where(PracticeExample.slug == recent)).source.year
    page = strict.testapp().get(f"/voorbeelden/{recent}").text
    assert (NOTICE in page) == (utcnow().year > year)


def test_home_recent_shows_dates(testapp):
    home = BeautifulSoup(testapp.get("/").text, "html.parser")
    recent = home.find(id="recent-title").find_parent("section")
    cards = recent.select(".card")
    assert cards
    for card in cards:
        time = card.find("time")
        assert time is not None and "Toegevoegd op" in card.get_text()
        dt.date.fromisoformat(time["datetime"])


def test_list_sorted_newest_first(site):
    with site.session() as s:
        slugs = list(s.scalars(select(PracticeExample.slug).where(PracticeExample.status == Status.PUBLISHED)
                               .order_by(PracticeExample.slug)))
    newest, older = slugs[-1], slugs[0]
    set_dates(site, PracticeExample, newest, dt.datetime(2030, 1, 1), dt.datetime(2030, 1, 1))
    set_dates(site, PracticeExample, older, dt.datetime(2000, 1, 1), dt.datetime(2000, 1, 1))
    page = BeautifulSoup(site.testapp().get("/voorbeelden", {"sort": "nieuwste", "per_page": 100}).text,
                         "html.parser")
    assert "Nieuwste eerst" in page.get_text()
    titles = [a["href"].rsplit("/", 1)[-1] for a in page.select("main .card-title a")]
    assert titles[0] == newest


# --------------------------------------------------------------------------------------------------------------------
# API


def test_api_item_has_iso_dates_and_source_year(testapp, shared_site):
    slug = example_with_source_year(shared_site, old=True)
    data = testapp.get(f"/api/voorbeelden/{slug}", status=200).json
    for key in ("published", "updated", "source_year", "published_at"):
        assert key in data, key
    published = dt.datetime.fromisoformat(data["published"].replace("Z", "+00:00"))
    updated = dt.datetime.fromisoformat(data["updated"].replace("Z", "+00:00"))
    assert published.tzinfo is not None and updated >= published
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", data["published"])
    assert isinstance(data["source_year"], int) and utcnow().year - data["source_year"] > 5


def test_api_dates_follow_the_database(site):
    slug = example_with_source_year(site, old=False)
    set_dates(site, PracticeExample, slug, dt.datetime(2024, 3, 12, 10, 0), dt.datetime(2024, 4, 1, 8, 0))
    data = site.testapp().get(f"/api/voorbeelden/{slug}").json
    assert data["published"] == "2024-03-12T10:00:00Z"
    assert data["updated"] == "2024-04-01T08:00:00Z"


# --------------------------------------------------------------------------------------------------------------------
# feed


def test_feed_entries_carry_item_dates(site):
    slug = example_with_source_year(site, old=True)
    set_dates(site, PracticeExample, slug, dt.datetime(2024, 3, 12, 10, 0), dt.datetime(2024, 5, 1, 9, 0))
    response = site.testapp().get("/", status=200)
    feed_path = BeautifulSoup(response.text, "html.parser").find("link", type="application/atom+xml")["href"]
    body = site.testapp().get(feed_path, status=200).body
    root = ET.fromstring(body)  # noqa: S314 (our own feed, in a test)
    entries = root.findall(f"{ATOM}entry")
    assert entries
    by_url = {e.find(f"{ATOM}id").text: e for e in entries}
    entry = next(e for url, e in by_url.items() if url.endswith(f"/voorbeelden/{slug}"))
    assert entry.find(f"{ATOM}published").text == "2024-03-12T10:00:00Z"
    assert entry.find(f"{ATOM}updated").text == "2024-05-01T09:00:00Z"
    for e in entries:
        published = dt.datetime.fromisoformat(e.find(f"{ATOM}published").text.replace("Z", "+00:00"))
        updated = dt.datetime.fromisoformat(e.find(f"{ATOM}updated").text.replace("Z", "+00:00"))
        assert updated >= published
    feed_updated = root.find(f"{ATOM}updated").text
    assert feed_updated == max(e.find(f"{ATOM}updated").text for e in entries)


def test_feed_dates_are_not_request_time(testapp):
    body = testapp.get("/", status=200)
    feed_path = BeautifulSoup(body.text, "html.parser").find("link", type="application/atom+xml")["href"]
    first = testapp.get(feed_path).body
    second = testapp.get(feed_path).body
    assert first == second


# --------------------------------------------------------------------------------------------------------------------
# loader


def _dates(site) -> dict[tuple[str, str], tuple]:
    with site.session() as s:
        return {(model.__name__, item.slug): (item.published_at, item.updated_at)
                for model in (PracticeExample, Article, Source) for item in s.scalars(select(model))}


def _load(site, content_dir):
    with site.session() as s:
        return load_content(s, content_dir)


def _edit_meta(path, change) -> None:
    text = path.read_text(encoding="utf-8")
    _, front, body = text.split("---\n", 2)
    meta = yaml.safe_load(front)
    change(meta)
    path.write_text("---\n" + yaml.safe_dump(meta, allow_unicode=True, sort_keys=False) + "---\n" + body,
                    encoding="utf-8")


def test_reload_keeps_published_and_updated(site, content_copy):
    before = _dates(site)
    assert all(published is not None for published, _u in before.values())
    report = _load(site, content_copy)
    assert not report.created and not report.updated
    assert _dates(site) == before


def test_real_change_moves_updated_only(site, content_copy):
    before = _dates(site)
    path = content_copy / "voorbeelden" / "koesterklas-nunspeet.md"
    _edit_meta(path, lambda m: m.update(summary=m["summary"] + " Aangevuld."))
    _load(site, content_copy)
    after = _dates(site)
    key = ("PracticeExample", "koesterklas-nunspeet")
    assert after[key][0] == before[key][0]  # published stays
    assert after[key][1] > before[key][1]  # updated moves
    assert {k: v for k, v in after.items() if k != key} == {k: v for k, v in before.items() if k != key}


def test_vocabulary_change_is_not_a_content_change(site, content_copy):
    before = _dates(site)
    themes = content_copy / "vocabulaire" / "themas.yaml"
    themes.write_text(themes.read_text(encoding="utf-8")
                      + "- slug: nieuw-thema\n  name: Nieuw thema\n  description: Een extra thema.\n",
                      encoding="utf-8")
    report = _load(site, content_copy)
    assert report.updated  # every item is re-applied (its file hash includes the vocabulary) ...
    assert _dates(site) == before  # ... but none of them really changed


def _unreferenced_file(content_dir):
    """An item file that no other file names (by slug or link), so removing it leaves the content valid."""
    files = sorted(content_dir.glob("*/*.md"))
    texts = {f: f.read_text(encoding="utf-8") for f in files}
    for candidate in files:
        if candidate.parent.name == "bronnen":
            continue
        if not any(candidate.stem in text for f, text in texts.items() if f != candidate):
            return candidate
    raise AssertionError("every item file is referred to by another")


def test_withdraw_and_return_keeps_dates(site, content_copy):
    before = _dates(site)
    path = _unreferenced_file(content_copy)
    saved = path.read_bytes()
    path.unlink()
    assert _load(site, content_copy).withdrawn
    assert _dates(site) == before  # withdrawing is not a content change
    path.write_bytes(saved)
    _load(site, content_copy)
    assert _dates(site) == before


def test_new_item_gets_published_now(site, content_copy):
    source = content_copy / "voorbeelden" / "koesterklas-nunspeet.md"
    text = source.read_text(encoding="utf-8").replace("slug: koesterklas-nunspeet", "slug: koesterklas-kopie", 1)
    (content_copy / "voorbeelden" / "koesterklas-kopie.md").write_text(text, encoding="utf-8")
    start = utcnow().replace(microsecond=0)
    report = _load(site, content_copy)
    assert report.created == ["voorbeelden/koesterklas-kopie.md"]
    published, updated = _dates(site)[("PracticeExample", "koesterklas-kopie")]
    assert published >= start and updated == published
