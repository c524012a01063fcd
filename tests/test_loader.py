"""Loading content/ into the database: real content, idempotency, updates, withdrawals, every kind of bad file,
and the console scripts portal-init and portal-load.

A bad file must stop the load with a ContentError that names the file and the field, and the database must be
exactly as it was before (nothing loaded half). Loader tests work on their own database copies; only the tests that
look at pages build an app.
"""

from __future__ import annotations

import contextlib
import re
import textwrap
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import transaction
import yaml
from sqlalchemy import MetaData, create_engine, func, select
from sqlalchemy.exc import SAWarning
from sqlalchemy.orm import Session

from portal.content.files import ContentError, read_content
from portal.content.loader import load_content
from portal.content.models import (
    Article,
    PracticeExample,
    Region,
    RegionKind,
    SchoolType,
    Source,
    Status,
    Theme,
)
from portal.models import get_engine, get_session_factory, get_tm_session
from portal.scripts import init as init_script
from portal.scripts import load as load_script

CONTENT_DIR = Path(__file__).resolve().parents[1] / "content"
EXAMPLE = "voorbeelden/koesterklas-nunspeet.md"
ARTICLE = "kennis/wat-is-een-onderwijszorgarrangement.md"
SOURCE = "bronnen/behandelen-en-begeleiden.md"

N_EXAMPLES = len(list((CONTENT_DIR / "voorbeelden").glob("*.md")))
N_ARTICLES = len(list((CONTENT_DIR / "kennis").glob("*.md")))
N_SOURCES = len(list((CONTENT_DIR / "bronnen").glob("*.md")))


# --------------------------------------------------------------------------------------------------------------------
# helpers


class Database:
    """A database copy with the real content loaded, plus a unit of work like the console scripts use."""

    def __init__(self, url: str):
        self.url = url
        self.engine = get_engine({"sqlalchemy.url": url})
        self.tables = None

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        tm = transaction.TransactionManager(explicit=True)
        with tm:
            yield get_tm_session(get_session_factory(self.engine), tm)

    def load(self, content_dir: Path):
        with self.session() as dbsession:
            return load_content(dbsession, content_dir)

    def snapshot(self) -> dict[str, list[tuple]]:
        """Every row of every table, to prove a failed load changed nothing."""
        if self.tables is None:
            meta = MetaData()
            with warnings.catch_warnings():  # expression indexes are not reflected; the rows are all we compare
                warnings.simplefilter("ignore", SAWarning)
                meta.reflect(self.engine)
            self.tables = sorted(meta.tables.items())
        with self.engine.connect() as conn:
            return {name: sorted(tuple(map(repr, row)) for row in conn.execute(select(table)))
                    for name, table in self.tables}


@pytest.fixture
def db(database_factory) -> Iterator[Database]:
    url = database_factory.copy()
    database = Database(url)
    yield database
    database.engine.dispose()
    database_factory.drop(url)


@pytest.fixture(scope="module")
def shared_db(database_factory) -> Iterator[Database]:
    """One database for the bad-file tests: every one of them must leave it untouched (they check that)."""
    url = database_factory.copy()
    database = Database(url)
    database.initial = database.snapshot()
    yield database
    database.engine.dispose()
    database_factory.drop(url)


def split(path: Path) -> tuple[dict, str]:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\n")
    end = text.index("\n---\n", 4)
    return yaml.safe_load(text[4:end]), text[end + 5:]


def write(path: Path, meta: dict, body: str) -> None:
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=1000)
    path.write_text(f"---\n{front}---\n{body}", encoding="utf-8")


def edit(path: Path, change: Callable[[dict], object]) -> None:
    meta, body = split(path)
    change(meta)
    write(path, meta, body)


def edit_body(path: Path, change: Callable[[str], str]) -> None:
    meta, body = split(path)
    write(path, meta, change(body))


def replace_text(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def count(dbsession: Session, model, **where) -> int:
    query = select(func.count()).select_from(model)
    for key, value in where.items():
        query = query.where(getattr(model, key) == value)
    return dbsession.scalar(query)


# --------------------------------------------------------------------------------------------------------------------
# the real content


def test_content_has_everything_the_issue_asks_for():
    vocabulary, items = read_content(CONTENT_DIR)
    kinds = [i.kind for i in items]
    assert kinds.count("voorbeeld") == 25
    assert kinds.count("bron") == 5
    assert kinds.count("kennis") == N_ARTICLES >= 15
    assert {i.slug for i in items if i.kind == "bron"} == {
        "behandelen-en-begeleiden", "verrassend-passend-samenwerking-onderwijs-jeugd",
        "samenwerking-onderwijs-en-zorgpartners", "notitie-onderwijs-zorgarrangementen",
        "verrassend-passend-financiele-kant"}
    for item in items:
        if item.kind == "voorbeeld":
            assert set(item.meta["themes"]) <= vocabulary.theme_slugs
            assert set(item.meta["school_types"]) <= vocabulary.school_type_slugs
            assert item.meta["provincie"] in vocabulary.province_slugs
            if item.meta.get("gemeente"):
                assert vocabulary.municipality(item.meta["gemeente"]) is not None
            assert list(item.sections) == ["Aanleiding", "Aanpak", "Resultaten", "Financiering", "Geleerde lessen"]
    # every theme has a description (shown on /themas)
    assert all(t.get("description") for t in vocabulary.themes)


def test_loaded_database_matches_content(db):
    with db.session() as s:
        assert count(s, PracticeExample, status=Status.PUBLISHED) == N_EXAMPLES == 25
        assert count(s, Article, status=Status.PUBLISHED) == N_ARTICLES
        assert count(s, Source, status=Status.PUBLISHED) == N_SOURCES == 5
        theme_slugs = set(s.scalars(select(Theme.slug)))
        school_types = set(s.scalars(select(SchoolType.slug)))
        assert {"po", "sbo", "so", "vo", "vso", "pro", "mbo"} <= school_types
        for example in s.scalars(select(PracticeExample)):
            assert example.themes, example.slug
            assert {t.slug for t in example.themes} <= theme_slugs
            assert example.province is not None and example.province.kind == RegionKind.PROVINCE, example.slug
            if example.gemeente is not None:
                assert example.gemeente.kind == RegionKind.MUNICIPALITY
                assert example.youth_region == example.gemeente.youth_region
                assert example.province == example.gemeente.province
            assert example.source is not None and example.source_chapter
            assert all(getattr(example, field) for field, _h in PracticeExample.SECTIONS), example.slug
            assert example.origin_path == f"voorbeelden/{example.slug}.md"
            assert example.published_at is not None
        koesterklas = s.scalar(select(PracticeExample).where(PracticeExample.slug == "koesterklas-nunspeet"))
        assert koesterklas.gemeente.slug == "nunspeet"
        assert koesterklas.youth_region.slug == "noord-veluwe"
        assert koesterklas.province.slug == "gelderland"
        assert [t.slug for t in koesterklas.school_types] == ["so"]
        assert koesterklas.tips and koesterklas.contacts
        assert koesterklas.contacts[0].name == "Susanne Bruning"
        gemeenten = s.scalars(select(Region).where(Region.kind == RegionKind.MUNICIPALITY))
        for gemeente in gemeenten:
            assert gemeente.youth_region.kind == RegionKind.YOUTH_REGION
            assert gemeente.province.kind == RegionKind.PROVINCE
        for article in s.scalars(select(Article)):
            assert article.themes and article.source is not None and article.body, article.slug


def test_second_load_changes_nothing(db, content_copy):
    before = db.snapshot()
    report = db.load(content_copy)
    assert (report.created, report.updated, report.withdrawn) == ([], [], [])
    assert report.unchanged == N_EXAMPLES + N_ARTICLES + N_SOURCES
    assert "0 nieuw, 0 bijgewerkt" in report.summary()
    assert db.snapshot() == before


def test_first_load_into_empty_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    engine = create_engine(url)
    init_script.migrate(engine)
    engine.dispose()
    database = Database(url)
    try:
        report = database.load(CONTENT_DIR)
        assert len(report.created) == N_EXAMPLES + N_ARTICLES + N_SOURCES
        assert report.updated == [] and report.withdrawn == [] and report.unchanged == 0
        again = database.load(CONTENT_DIR)
        assert again.created == [] and again.updated == []
    finally:
        database.engine.dispose()


def test_changed_file_updates_only_that_item(db, content_copy):
    path = content_copy / EXAMPLE
    edit(path, lambda m: m.update(title="Koesterklas (bijgewerkt)", themes=["trauma-en-hechting"],
                                  tips=["Eén nieuwe tip."], start_year=2016))
    edit_body(path, lambda b: b.replace("## Resultaten\n", "## Resultaten\n\nNieuwe resultaten vooraf.\n", 1))
    report = db.load(content_copy)
    assert report.updated == [EXAMPLE]
    assert report.created == [] and report.withdrawn == []
    with db.session() as s:
        example = s.scalar(select(PracticeExample).where(PracticeExample.slug == "koesterklas-nunspeet"))
        assert example.title == "Koesterklas (bijgewerkt)"
        assert [t.slug for t in example.themes] == ["trauma-en-hechting"]
        assert [t.text for t in example.tips] == ["Eén nieuwe tip."]
        assert example.start_year == 2016
        assert example.results.startswith("Nieuwe resultaten vooraf.")
        assert example.status == Status.PUBLISHED
    assert db.load(content_copy).updated == []


def test_changed_article_and_source_update(db, content_copy):
    edit(content_copy / ARTICLE, lambda m: m.update(related=["koesterklas-nunspeet"]))
    edit(content_copy / SOURCE, lambda m: m.update(publisher="Een andere uitgever"))
    report = db.load(content_copy)
    assert sorted(report.updated) == sorted([ARTICLE, SOURCE])
    with db.session() as s:
        article = s.scalar(select(Article).where(Article.slug == "wat-is-een-onderwijszorgarrangement"))
        assert [e.slug for e in article.related_examples] == ["koesterklas-nunspeet"]
        assert s.scalar(select(Source.publisher).where(Source.slug == "behandelen-en-begeleiden")) == \
            "Een andere uitgever"


def test_vocabulary_change_is_loaded(db, content_copy):
    path = content_copy / "vocabulaire/themas.yaml"
    themes = yaml.safe_load(path.read_text(encoding="utf-8"))
    themes[0]["name"] = "Thuiszitters (nieuwe naam)"
    path.write_text(yaml.safe_dump(themes, allow_unicode=True), encoding="utf-8")
    db.load(content_copy)
    with db.session() as s:
        assert s.scalar(select(Theme.name).where(Theme.slug == themes[0]["slug"])) == "Thuiszitters (nieuwe naam)"


def test_theme_removed_everywhere(db, content_copy):
    """A theme that leaves the vocabulary and every file goes, even when a withdrawn example still had it."""
    gone = "hoogbegaafdheid"
    users = [p for p in (content_copy / "voorbeelden").glob("*.md") if gone in split(p)[0]["themes"]]
    users += [p for p in (content_copy / "kennis").glob("*.md") if gone in split(p)[0]["themes"]]
    assert users
    withdrawn = users[0]
    withdrawn.unlink()
    for path in (content_copy / "kennis").glob("*.md"):
        edit(path, lambda m: m.update(related=[r for r in m.get("related") or [] if r != withdrawn.stem]))
    for path in users[1:]:
        edit(path, lambda m: m.update(themes=[t for t in m["themes"] if t != gone] or ["regie-en-samenwerking"]))
    _vocab("themas.yaml", lambda d: d.__setitem__(slice(None), [t for t in d if t["slug"] != gone]))(content_copy)
    report = db.load(content_copy)
    assert report.withdrawn == [withdrawn.relative_to(content_copy).as_posix()]
    with db.session() as s:
        assert s.scalar(select(Theme).where(Theme.slug == gone)) is None
        for example in s.scalars(select(PracticeExample)):
            assert gone not in {t.slug for t in example.themes}
    assert db.load(content_copy).updated == []


def test_windows_line_endings_load_the_same(db, content_copy):
    path = content_copy / EXAMPLE
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    with db.session() as s:
        before = s.scalar(select(PracticeExample).where(PracticeExample.slug == "koesterklas-nunspeet")).approach
    assert db.load(content_copy).updated == [EXAMPLE]
    with db.session() as s:
        example = s.scalar(select(PracticeExample).where(PracticeExample.slug == "koesterklas-nunspeet"))
        assert example.approach == before and "\r" not in example.approach


def test_new_file_is_created(db, content_copy):
    meta, body = split(content_copy / EXAMPLE)
    meta.update(slug="koesterklas-kopie", title="Koesterklas, de kopie")
    write(content_copy / "voorbeelden/koesterklas-kopie.md", meta, body)
    report = db.load(content_copy)
    assert report.created == ["voorbeelden/koesterklas-kopie.md"]
    with db.session() as s:
        assert count(s, PracticeExample, status=Status.PUBLISHED) == N_EXAMPLES + 1


def test_removed_file_is_unpublished_and_comes_back(site, content_copy):
    app = site.testapp()
    app.get("/voorbeelden/koesterklas-nunspeet", status=200)
    app.get("/kennis/rol-van-de-zorgarrangeur", status=200)
    (content_copy / EXAMPLE).unlink()
    (content_copy / "kennis/rol-van-de-zorgarrangeur.md").unlink()
    # articles that still point at the removed example must be changed too, or the load stops
    for path in (content_copy / "kennis").glob("*.md"):
        edit(path, lambda m: m.update(related=[r for r in m.get("related") or [] if r != "koesterklas-nunspeet"]))
    with site.session() as s:
        report = load_content(s, content_copy)
    assert sorted(report.withdrawn) == sorted([EXAMPLE, "kennis/rol-van-de-zorgarrangeur.md"])
    with site.session() as s:
        example = s.scalar(select(PracticeExample).where(PracticeExample.slug == "koesterklas-nunspeet"))
        assert example.status == Status.WITHDRAWN  # kept for history, not deleted
    app.get("/voorbeelden/koesterklas-nunspeet", status=404)
    app.get("/kennis/rol-van-de-zorgarrangeur", status=404)
    app.get("/api/voorbeelden/koesterklas-nunspeet", status=404)
    listing = app.get("/api/voorbeelden", {"per_page": 100}).json
    assert listing["total"] == N_EXAMPLES - 1
    assert "koesterklas-nunspeet" not in {i["slug"] for i in listing["items"]}
    for path in ("/voorbeelden", "/themas/trauma-en-hechting", "/regios/gelderland", "/regios/nunspeet",
                 "/bronnen/behandelen-en-begeleiden", "/"):
        assert "/voorbeelden/koesterklas-nunspeet" not in app.get(path).text, path
    assert "/kennis/rol-van-de-zorgarrangeur" not in app.get("/kennis").text
    # loading again without the file: nothing more to withdraw
    with site.session() as s:
        assert load_content(s, content_copy).withdrawn == []
    # the file comes back: published again
    (content_copy / EXAMPLE).write_bytes((CONTENT_DIR / EXAMPLE).read_bytes())
    with site.session() as s:
        report = load_content(s, content_copy)
    assert EXAMPLE in report.updated
    app.get("/voorbeelden/koesterklas-nunspeet", status=200)


def test_file_may_not_take_over_web_contribution(db, content_copy):
    with db.session() as s:
        example = s.scalar(select(PracticeExample).where(PracticeExample.slug == "koesterklas-nunspeet"))
        example.origin_path = ""  # as if made through the website
    before = db.snapshot()
    with pytest.raises(ContentError) as info:
        db.load(content_copy)
    assert info.value.field == "slug" and info.value.path.endswith(EXAMPLE)
    assert db.snapshot() == before


# --------------------------------------------------------------------------------------------------------------------
# bad files: each stops the load, names file and field, and loads nothing


def _set(field, value):
    return lambda m: m.__setitem__(field, value)


def _drop(field):
    return lambda m: m.pop(field)


def _rename(content: Path, relpath: str, new_name: str) -> None:
    path = content / relpath
    path.rename(path.with_name(new_name))


BAD_FRONT_MATTER = [
    # (id, file, change, field, reason fragment)
    ("missing-title", EXAMPLE, _drop("title"), "title", "verplicht"),
    ("empty-summary", EXAMPLE, _set("summary", ""), "summary", "verplicht"),
    ("missing-place", EXAMPLE, _drop("place"), "place", "verplicht"),
    ("missing-target-group", EXAMPLE, _drop("target_group"), "target_group", "verplicht"),
    ("missing-financing", EXAMPLE, _drop("financing"), "financing", "verplicht"),
    ("missing-source", EXAMPLE, _drop("source"), "source", "verplicht"),
    ("missing-source-chapter", EXAMPLE, _drop("source_chapter"), "source_chapter", "verplicht"),
    ("missing-themes", EXAMPLE, _drop("themes"), "themes", "minstens 1"),
    ("missing-slug", EXAMPLE, _drop("slug"), "slug", "verplicht"),
    ("article-missing-kind", ARTICLE, _drop("kind"), "kind", "ongeldige waarde"),
    ("article-missing-source-chapter", ARTICLE, _drop("source_chapter"), "source_chapter", "verplicht"),
    ("source-missing-publisher", SOURCE, _drop("publisher"), "publisher", "verplicht"),
    ("source-missing-summary", SOURCE, _drop("summary"), "summary", "verplicht"),
    ("unknown-field", EXAMPLE, _set("auteur", "iemand"), "auteur", "onbekend veld"),
    ("article-unknown-field", ARTICLE, _set("place", "Zwolle"), "place", "onbekend veld"),
    ("source-unknown-field", SOURCE, _set("themes", ["thuiszitters"]), "themes", "onbekend veld"),
    ("unknown-theme", EXAMPLE, _set("themes", ["trauma-en-hechting", "bestaat-niet"]), "themes", "bestaat-niet"),
    ("article-unknown-theme", ARTICLE, _set("themes", ["bestaat-niet"]), "themes", "bestaat-niet"),
    ("duplicate-theme", EXAMPLE, _set("themes", ["trauma-en-hechting", "trauma-en-hechting"]), "themes", "dubbele"),
    ("too-many-themes", EXAMPLE, _set("themes", [t for t in (
        "thuiszitters", "schoolweigering-en-angst", "trauma-en-hechting", "hoogbegaafdheid", "financiering",
        "ouderbetrokkenheid", "onderwijszorgarrangementen", "zorg-in-onderwijstijd", "regie-en-samenwerking")]),
     "themes", "maximaal 8"),
    ("themes-not-a-list", EXAMPLE, _set("themes", "trauma-en-hechting"), "themes", "lijst"),
    ("unknown-school-type", EXAMPLE, _set("school_types", ["havo"]), "school_types", "havo"),
    ("unknown-gemeente", EXAMPLE, _set("gemeente", "atlantis"), "gemeente", "atlantis"),
    ("gemeente-vs-provincie", EXAMPLE, _set("provincie", "limburg"), "provincie", "limburg"),
    ("gemeente-vs-jeugdregio", EXAMPLE, _set("jeugdregio", "twente"), "jeugdregio", "twente"),
    ("no-gemeente-no-provincie", EXAMPLE, _drop("gemeente"), "provincie", "verplicht"),
    ("unknown-provincie", EXAMPLE, lambda m: (m.pop("gemeente"), m.update(provincie="atlantis")), "provincie",
     "atlantis"),
    ("unknown-jeugdregio", EXAMPLE, lambda m: (m.pop("gemeente"), m.update(jeugdregio="nergens")), "jeugdregio",
     "nergens"),
    ("invalid-slug-uppercase", EXAMPLE, _set("slug", "Koesterklas-Nunspeet"), "slug", "kleine letters"),
    ("invalid-slug-double-hyphen", EXAMPLE, _set("slug", "koesterklas--nunspeet"), "slug", "kleine letters"),
    ("slug-not-filename", EXAMPLE, _set("slug", "koesterklas-elders"), "slug", "bestandsnaam"),
    ("article-slug-not-filename", ARTICLE, _set("slug", "iets-anders"), "slug", "bestandsnaam"),
    ("slug-not-text", EXAMPLE, _set("slug", 12), "slug", ""),
    ("unknown-source", EXAMPLE, _set("source", "onbekende-bron"), "source", "onbekende-bron"),
    ("article-unknown-source", ARTICLE, _set("source", "onbekende-bron"), "source", "onbekende-bron"),
    ("tips-entry-mapping", EXAMPLE, _set("tips", ["Een tip.", {"Let op": "dit is een mapping"}]), "tips",
     "aanhalingstekens"),
    ("tips-entry-empty", EXAMPLE, _set("tips", ["Een tip.", ""]), "tips", "item 2"),
    ("partners-not-a-list", EXAMPLE, _set("partners", {"a": 1}), "partners", "lijst"),
    ("provincie-not-text", EXAMPLE, lambda m: (m.pop("gemeente"), m.update(provincie=["gelderland"])), "provincie",
     "slug"),
    ("gemeente-not-text", EXAMPLE, _set("gemeente", {"naam": "Nunspeet"}), "gemeente", "slug"),
    ("contact-role-not-text", EXAMPLE, _set("contacts", [{"name": "Jan", "role": ["a", "b"]}]), "contacts", "role"),
    ("bad-email", EXAMPLE, _set("contacts", [{"name": "Jan Jansen", "email": "jan-at-school"}]), "contacts",
     "e-mailadres"),
    ("contact-without-name", EXAMPLE, _set("contacts", [{"role": "directeur"}]), "contacts", "naam"),
    ("contact-unknown-field", EXAMPLE, _set("contacts", [{"name": "Jan", "telefoon": "06"}]), "contacts",
     "telefoon"),
    ("contacts-not-a-list", EXAMPLE, _set("contacts", "Jan Jansen"), "contacts", "lijst"),
    ("year-text", EXAMPLE, _set("start_year", "twintig"), "start_year", "jaartal"),
    ("year-too-old", EXAMPLE, _set("start_year", 1850), "start_year", "jaartal"),
    ("year-bool", EXAMPLE, _set("start_year", True), "start_year", "jaartal"),
    ("source-year-text", SOURCE, _set("year", "ca. 2019"), "year", "jaartal"),
    ("source-bad-url", SOURCE, _set("url", "javascript:alert(1)"), "url", "http"),
    ("bad-status", EXAMPLE, _set("status", "bezig"), "status", "bezig"),
    ("featured-not-bool", EXAMPLE, _set("featured", "ja"), "featured", "true of false"),
    ("summary-too-long", EXAMPLE, _set("summary", "woord " * 200), "summary", "te lang"),
    ("title-not-text", EXAMPLE, _set("title", ["a", "b"]), "title", "tekst"),
    ("unknown-related", ARTICLE, _set("related", ["koesterklas-nunspeet", "bestaat-niet"]), "related",
     "bestaat-niet"),
    ("bad-article-kind", ARTICLE, _set("kind", "roman"), "kind", "roman"),
]


@pytest.mark.parametrize(("relpath", "change", "field", "reason"),
                         [pytest.param(*case[1:], id=case[0]) for case in BAD_FRONT_MATTER])
def test_bad_front_matter(shared_db, content_copy, relpath, change, field, reason):
    edit(content_copy / relpath, change)
    assert_rejected(shared_db, content_copy, relpath, field, reason)


def _invalid_yaml(content: Path) -> None:
    replace_text(content / EXAMPLE, "place: Nunspeet\n", "place: [Nunspeet\n")


def _tab_yaml(content: Path) -> None:
    replace_text(content / EXAMPLE, "place: Nunspeet\n", "place:\tNunspeet: x\n")


def _no_opening_dashes(content: Path) -> None:
    path = content / EXAMPLE
    path.write_text(path.read_text(encoding="utf-8").removeprefix("---\n"), encoding="utf-8")


def _no_closing_dashes(content: Path) -> None:
    path = content / EXAMPLE
    text = path.read_text(encoding="utf-8")
    end = text.index("\n---\n", 4)
    path.write_text(text[:end] + "\n" + text[end + 5:], encoding="utf-8")


def _front_matter_not_mapping(content: Path) -> None:
    path = content / EXAMPLE
    _meta, body = split(path)
    path.write_text("---\n- alleen\n- een lijst\n---\n" + body, encoding="utf-8")


def _non_utf8(content: Path) -> None:
    path = content / EXAMPLE
    path.write_bytes(path.read_bytes().replace("vóór".encode(), "vóór".encode("latin-1"), 1))


def _missing_heading(content: Path) -> None:
    edit_body(content / EXAMPLE, lambda b: re.sub(r"^## Resultaten$", "### Resultaten", b, flags=re.M))


def _wrong_heading_order(content: Path) -> None:
    edit_body(content / EXAMPLE, lambda b: b.replace("## Aanpak", "## TIJDELIJK").replace(
        "## Resultaten", "## Aanpak").replace("## TIJDELIJK", "## Resultaten"))


def _extra_heading(content: Path) -> None:
    edit_body(content / EXAMPLE, lambda b: b + "\n## Contact\n\nBel ons.\n")


def _empty_section(content: Path) -> None:
    edit_body(content / EXAMPLE, lambda b: re.sub(r"(## Financiering\n)(.*?)(## Geleerde lessen)", r"\1\n\3", b,
                                                  flags=re.S))


def _text_before_first_heading(content: Path) -> None:
    edit_body(content / EXAMPLE, lambda b: "Inleidende tekst.\n\n" + b)


def _empty_article_body(content: Path) -> None:
    meta, _body = split(content / ARTICLE)
    write(content / ARTICLE, meta, "\n")


def _invalid_slug_filename(content: Path) -> None:
    edit(content / EXAMPLE, _set("slug", "koesterklas_nunspeet"))
    _rename(content, EXAMPLE, "koesterklas_nunspeet.md")


def _stray_file(content: Path) -> None:
    (content / "voorbeelden/notities.txt").write_text("kladje", encoding="utf-8")


def _duplicate_key(content: Path) -> None:
    replace_text(content / EXAMPLE, "source: behandelen-en-begeleiden\n",
                 "source: behandelen-en-begeleiden\nsource: notitie-onderwijs-zorgarrangementen\n")


def _removed_source(content: Path) -> None:
    (content / SOURCE).unlink()


def _removed_example_still_related(content: Path) -> None:
    (content / EXAMPLE).unlink()


def _link_to_missing_example(content: Path) -> None:
    edit_body(content / ARTICLE, lambda b: b + "\nZie ook [een voorbeeld](../voorbeelden/bestaat-niet.md).\n")


def _link_to_removed_article(content: Path) -> None:
    (content / "kennis/werkprincipes-onderwijszorgarrangement.md").unlink()
    link = "[de werkprincipes](../kennis/werkprincipes-onderwijszorgarrangement.md)"
    edit_body(content / EXAMPLE, lambda b: b.replace("## Aanpak\n", f"## Aanpak\n\nLees {link}.\n", 1))


def _link_outside_content(content: Path) -> None:
    edit_body(content / ARTICLE, lambda b: b + "\nZie [de uitleg](../../README.md).\n")


BAD_FILES = [
    # (id, change, file, field or None, reason fragment, line or None)
    ("invalid-yaml", _invalid_yaml, EXAMPLE, None, "YAML", "line"),
    ("tab-in-yaml", _tab_yaml, EXAMPLE, None, "YAML", "line"),
    ("no-opening-dashes", _no_opening_dashes, EXAMPLE, None, "---", 1),
    ("no-closing-dashes", _no_closing_dashes, EXAMPLE, None, "---", None),
    ("front-matter-not-a-mapping", _front_matter_not_mapping, EXAMPLE, None, "sleutels", None),
    ("non-utf8", _non_utf8, EXAMPLE, None, "UTF-8", None),
    ("missing-heading", _missing_heading, EXAMPLE, "body", "Resultaten", None),
    ("wrong-heading-order", _wrong_heading_order, EXAMPLE, "body", "volgorde", None),
    ("extra-heading", _extra_heading, EXAMPLE, "body", "Contact", None),
    ("empty-section", _empty_section, EXAMPLE, "body", "Financiering", None),
    ("text-before-first-heading", _text_before_first_heading, EXAMPLE, "body", "Aanleiding", None),
    ("empty-article-body", _empty_article_body, ARTICLE, "body", "ontbreekt", None),
    ("invalid-slug-in-filename", _invalid_slug_filename, "voorbeelden/koesterklas_nunspeet.md", "slug",
     "kleine letters", None),
    ("stray-file", _stray_file, "voorbeelden/notities.txt", None, ".md", None),
    ("duplicate-key", _duplicate_key, EXAMPLE, "source", "twee keer", "line"),
    ("removed-source-still-used", _removed_source, None, "source", "behandelen-en-begeleiden", None),
    ("removed-example-still-related", _removed_example_still_related, None, "related", "koesterklas-nunspeet", None),
    ("link-to-missing-file", _link_to_missing_example, ARTICLE, "body", "../voorbeelden/bestaat-niet.md", "line"),
    ("link-to-removed-article", _link_to_removed_article, EXAMPLE, "body", "niet bestaat", "line"),
    ("link-outside-content", _link_outside_content, ARTICLE, "body", "../../README.md", "line"),
]


@pytest.mark.parametrize(("change", "relpath", "field", "reason", "line"),
                         [pytest.param(*case[1:], id=case[0]) for case in BAD_FILES])
def test_bad_file(shared_db, content_copy, change, relpath, field, reason, line):
    change(content_copy)
    error = assert_rejected(shared_db, content_copy, relpath, field, reason)
    if line == "line":
        assert error.line is not None and f":{error.line}" in str(error)
    elif line is not None:
        assert error.line == line


def test_invalid_yaml_points_at_the_right_line(content_copy):
    _invalid_yaml(content_copy)
    lines = (content_copy / EXAMPLE).read_text(encoding="utf-8").splitlines()
    place_line = lines.index("place: [Nunspeet") + 1
    with pytest.raises(ContentError) as info:
        read_content(content_copy)
    # PyYAML reports where it noticed the problem: at or shortly after the opening bracket
    assert place_line <= info.value.line <= place_line + 2


def test_field_errors_point_at_the_field_line(content_copy):
    edit(content_copy / EXAMPLE, _set("themes", ["bestaat-niet"]))
    lines = (content_copy / EXAMPLE).read_text(encoding="utf-8").splitlines()
    with pytest.raises(ContentError) as info:
        read_content(content_copy)
    assert lines[info.value.line - 1].startswith("themes:")
    assert str(info.value).startswith(f"{content_copy / EXAMPLE}:{info.value.line}: veld 'themes': ")


def _vocab(relname: str, change: Callable[[object], object]) -> Callable[[Path], None]:
    def apply(content: Path) -> None:
        path = content / "vocabulaire" / relname
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        change(data)
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return apply


def _broken_vocab_yaml(content: Path) -> None:
    path = content / "vocabulaire/themas.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "\n- slug: [kapot\n", encoding="utf-8")


def _missing_vocab_file(content: Path) -> None:
    (content / "vocabulaire/schooltypes.yaml").unlink()


def _themes_not_a_list(content: Path) -> None:
    (content / "vocabulaire/themas.yaml").write_text("thuiszitters: Thuiszitters\n", encoding="utf-8")


def _regions_as_list(content: Path) -> None:
    (content / "vocabulaire/regios.yaml").write_text("- nunspeet\n- apeldoorn\n", encoding="utf-8")


BAD_VOCABULARY = [
    ("invalid-yaml", _broken_vocab_yaml, "themas.yaml", None, "YAML"),
    ("missing-file", _missing_vocab_file, "schooltypes.yaml", None, "ontbreekt"),
    ("not-a-list", _themes_not_a_list, "themas.yaml", "themas", "lijst"),
    ("theme-without-name", _vocab("themas.yaml", lambda d: d[0].pop("name")), "themas.yaml", "themas", "name"),
    ("theme-bad-slug", _vocab("themas.yaml", lambda d: d[0].update(slug="Thuis Zitters")), "themas.yaml", "themas",
     "ongeldige slug"),
    ("duplicate-theme", _vocab("themas.yaml", lambda d: d.append(dict(d[0]))), "themas.yaml", "themas",
     "twee keer"),
    ("gemeente-unknown-jeugdregio", _vocab("regios.yaml", lambda d: d["gemeenten"][0].update(jeugdregio="nergens")),
     "regios.yaml", "jeugdregio", "nergens"),
    ("jeugdregio-unknown-provincie", _vocab("regios.yaml", lambda d: d["jeugdregios"][0].update(provincie="nergens")),
     "regios.yaml", "provincie", "nergens"),
    ("gemeente-without-provincie", _vocab("regios.yaml", lambda d: d["gemeenten"][0].pop("provincie")),
     "regios.yaml", "gemeenten", "provincie"),
    ("region-slug-twice", _vocab("regios.yaml", lambda d: d["gemeenten"].append(
        {**d["gemeenten"][0], "slug": d["provincies"][0]["slug"]})), "regios.yaml", None, "meer dan één regio"),
    ("regions-without-provinces", _vocab("regios.yaml", lambda d: d.pop("provincies")), "regios.yaml", "provincies",
     "lijst"),
    ("regions-not-a-mapping", _regions_as_list, "regios.yaml", None, "provincies"),
]


@pytest.mark.parametrize(("change", "relname", "field", "reason"),
                         [pytest.param(*case[1:], id=case[0]) for case in BAD_VOCABULARY])
def test_bad_vocabulary(shared_db, content_copy, change, relname, field, reason):
    change(content_copy)
    assert_rejected(shared_db, content_copy, f"vocabulaire/{relname}", field, reason)


def test_theme_removed_from_vocabulary_but_still_used(shared_db, content_copy):
    _vocab("themas.yaml", lambda d: d.__setitem__(slice(None), [t for t in d if t["slug"] != "trauma-en-hechting"]))(
        content_copy)
    error = assert_rejected(shared_db, content_copy, None, "themes", "trauma-en-hechting")
    assert error.path.endswith(".md")


def test_missing_content_directory(shared_db, tmp_path):
    with pytest.raises(ContentError) as info, shared_db.session() as s:
        load_content(s, tmp_path / "bestaat-niet")
    assert "bestaat niet" in str(info.value) and "bestaat-niet" in str(info.value)
    assert shared_db.snapshot() == shared_db.initial


def test_bad_file_after_good_changes_loads_nothing(shared_db, content_copy):
    """Valid changes in files read before the bad one must not be written either."""
    edit(content_copy / "bronnen/behandelen-en-begeleiden.md", _set("publisher", "Gewijzigd"))
    edit(content_copy / "voorbeelden/de-link-almelo.md", _set("title", "Gewijzigd"))
    (content_copy / "kennis/rol-van-de-zorgarrangeur.md").unlink()
    edit(content_copy / "voorbeelden/zwolle-van-dagbesteding-naar-onderwijs.md", _set("themes", ["onzin"]))
    assert_rejected(shared_db, content_copy, "voorbeelden/zwolle-van-dagbesteding-naar-onderwijs.md", "themes",
                    "onzin")


# meta-talk about "de bron" / "de portal" is editor's language, not public text

META_TALK = "redactionele opmerking"


@pytest.mark.parametrize(("relpath", "field", "value", "phrase"), [
    (EXAMPLE, "financing", "De bron vermeldt niet hoe de klas wordt betaald.", "De bron vermeldt"),
    (EXAMPLE, "summary", "Dit voorbeeld staat in de portal bij de gemeente Nunspeet.", "in de portal"),
    (EXAMPLE, "tips", ["Een tip.", "Bedragen noemt de bron niet."], "noemt de bron"),
    (EXAMPLE, "partners", ["een school (naam niet genoemd in de bron)"], "genoemd in de bron"),
    (ARTICLE, "summary", "Wat deze portal verstaat onder een onderwijszorgarrangement.", "deze portal"),
    (SOURCE, "year_note", "De bron noemt geen jaartal.", "De bron noemt"),
])
def test_meta_talk_in_field_is_refused(shared_db, content_copy, relpath, field, value, phrase):
    edit(content_copy / relpath, _set(field, value))
    error = assert_rejected(shared_db, content_copy, relpath, field, META_TALK)
    assert repr(phrase) in str(error) and error.line is not None


@pytest.mark.parametrize(("relpath", "before", "sentence"), [
    (EXAMPLE, "## Financiering\n", "De bron noemt geen bedragen."),
    (EXAMPLE, "## Resultaten\n", "Harde cijfers geeft de\nbron niet."),  # over a line break
    (ARTICLE, "\n", "Dit artikel staat ook in de portal bij de thema's."),
    (SOURCE, "\n", "## Opmerkingen bij de bron\n\nGeen."),
])
def test_meta_talk_in_body_is_refused_with_its_line(shared_db, content_copy, relpath, before, sentence):
    path = content_copy / relpath
    edit_body(path, lambda b: b.replace(before, f"{before}\n{sentence}\n\n", 1))
    error = assert_rejected(shared_db, content_copy, relpath, "body", META_TALK)
    lines = path.read_text(encoding="utf-8").split("\n")
    assert lines[error.line - 1] == sentence.split("\n")[0], (error.line, lines[error.line - 1])
    assert f"{relpath.rsplit('/', 1)[-1]}:{error.line}" in str(error)


def test_reader_facing_wording_is_accepted(shared_db, content_copy):
    """Saying what is (not) known, or naming the publication, is fine."""
    edit(content_copy / EXAMPLE, _set("financing", "Over de financiering zijn geen gegevens bekend."))
    edit_body(content_copy / SOURCE, lambda b: b + "\n## Over deze publicatie\n\nDe publicatie noemt geen jaartal.\n")
    read_content(content_copy)


def test_real_content_has_no_meta_talk():
    from portal.content.files import META_TALK_RE
    _vocabulary, items = read_content(CONTENT_DIR)
    for item in items:
        texts = [item.body] + [v for k, v in item.meta.items() if isinstance(v, str) and k not in ("slug", "source")]
        texts += [t for k in ("tips", "partners") for t in item.meta.get(k) or []]
        for text in texts:
            assert not META_TALK_RE.search(" ".join(text.split())), (item.path, text)


def assert_rejected(database: Database, content: Path, relpath: str | None, field: str | None,
                    reason: str) -> ContentError:
    """The load fails with a ContentError about ``relpath``/``field`` and the database is exactly as before."""
    before = database.snapshot()
    assert before == database.initial, "an earlier test changed the shared database"
    with pytest.raises(ContentError) as info, database.session() as dbsession:
        load_content(dbsession, content)
    error = info.value
    message = str(error)
    if relpath is not None:
        assert Path(error.path) == content / relpath, message
        assert relpath.rsplit("/", 1)[-1] in message
    assert error.field == field, message
    if field:
        assert f"veld '{field}'" in message
    assert reason in message, message
    assert database.snapshot() == before, "a failed load changed the database"
    return error


# --------------------------------------------------------------------------------------------------------------------
# console scripts


@pytest.fixture
def ini_file(tmp_path) -> Path:
    path = tmp_path / "test.ini"
    path.write_text(textwrap.dedent(f"""\
        [app:main]
        use = egg:portal
        sqlalchemy.url = sqlite:///{tmp_path / 'var' / 'portal.sqlite'}
        portal.content_dir = {CONTENT_DIR}
        """), encoding="utf-8")
    return path


def test_portal_init_and_load(ini_file, tmp_path, capsys, content_copy):
    assert init_script.main([str(ini_file)]) == 0
    assert "bijgewerkt" in capsys.readouterr().out
    assert (tmp_path / "var" / "portal.sqlite").is_file()
    assert init_script.main([str(ini_file)]) == 0  # idempotent
    capsys.readouterr()

    assert load_script.main([str(ini_file)]) == 0
    out = capsys.readouterr().out
    assert f"{N_EXAMPLES + N_ARTICLES + N_SOURCES} nieuw, 0 bijgewerkt, 0 ongewijzigd, 0 ingetrokken" in out

    assert load_script.main([str(ini_file), str(content_copy)]) == 0
    out = capsys.readouterr().out
    assert f"0 nieuw, 0 bijgewerkt, {N_EXAMPLES + N_ARTICLES + N_SOURCES} ongewijzigd" in out
    assert str(content_copy) in out

    engine = create_engine(f"sqlite:///{tmp_path / 'var' / 'portal.sqlite'}")
    with engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(PracticeExample)
                              .where(PracticeExample.status == Status.PUBLISHED)).scalar()
    assert before == N_EXAMPLES

    (content_copy / "voorbeelden/de-link-almelo.md").unlink()
    edit(content_copy / EXAMPLE, _set("gemeente", "atlantis"))
    assert load_script.main([str(ini_file), str(content_copy)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("fout: niets geladen.")
    assert "koesterklas-nunspeet.md" in captured.err and "'gemeente'" in captured.err
    assert "atlantis" in captured.err
    with engine.connect() as conn:  # nothing withdrawn, nothing changed
        assert conn.execute(select(func.count()).select_from(PracticeExample)
                            .where(PracticeExample.status == Status.PUBLISHED)).scalar() == N_EXAMPLES
    engine.dispose()


def test_portal_load_nonexistent_content_path(ini_file, tmp_path, capsys):
    assert init_script.main([str(ini_file)]) == 0
    capsys.readouterr()
    assert load_script.main([str(ini_file), str(tmp_path / "nergens")]) == 1
    err = capsys.readouterr().err
    assert "fout: niets geladen." in err and "nergens" in err and "bestaat niet" in err


def test_portal_load_unmigrated_database(ini_file, capsys):
    assert load_script.main([str(ini_file)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("fout:") and "portal-init" in err


@pytest.mark.parametrize("script", [init_script, load_script], ids=["portal-init", "portal-load"])
def test_scripts_missing_ini_file(script, tmp_path, capsys):
    assert script.main([str(tmp_path / "geen.ini")]) == 2
    err = capsys.readouterr().err
    assert "fout:" in err and "geen.ini" in err and "bestaat niet" in err


@pytest.mark.parametrize("script", [init_script, load_script], ids=["portal-init", "portal-load"])
def test_scripts_without_arguments(script, capsys):
    with pytest.raises(SystemExit) as info:
        script.main([])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "fout:" in err and "config_uri" in err
    assert "the following arguments" not in err and "usage:" not in err  # Dutch, not argparse's English


def test_load_script_too_many_arguments(ini_file, capsys):
    with pytest.raises(SystemExit) as info:
        load_script.main([str(ini_file), "a", "b"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "fout:" in err and "unrecognized" not in err
