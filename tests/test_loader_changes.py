"""portal-load reads only what changed: a changed or new file is parsed and validated completely, the unchanged ones
are not parsed (the report's ``read`` counts the files parsed), and everything that depends on other files (sources,
related examples, links, slugs) is still checked, with the same message a full load gives."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import test_loader
from sqlalchemy import create_engine, select
from test_dates import _unreferenced_file
from test_loader import ARTICLE, CONTENT_DIR, EXAMPLE, SOURCE, Database, edit, edit_body, replace_text

from portal.content import loader
from portal.content.files import META_TALK_RE, ContentError, read_content
from portal.content.loader import load_content
from portal.content.models import Article, PracticeExample, Status
from portal.scripts import init as init_script

#: The loader tests' fixture: a database copy with the real content loaded (content_copy is byte-identical to it).
db = test_loader.db


def _total(content: Path) -> int:
    return sum(len(list((content / d).glob("*.md"))) for d in ("bronnen", "voorbeelden", "kennis"))


def _example(db: Database, slug: str) -> tuple[str, str]:
    with db.session() as s:
        example = s.scalar(select(PracticeExample).where(PracticeExample.slug == slug))
        return example.title, example.status


def test_one_changed_file_is_the_only_one_read(db, content_copy):
    edit(content_copy / EXAMPLE, lambda m: m.update(title="Koesterklas, herzien"))
    report = db.load(content_copy)
    assert report.read == 1
    assert report.updated == [EXAMPLE] and not report.created and not report.withdrawn
    assert report.unchanged == _total(content_copy) - 1
    assert "1 bestand gelezen" in report.summary()
    assert _example(db, "koesterklas-nunspeet") == ("Koesterklas, herzien", Status.PUBLISHED)
    again = db.load(content_copy)
    assert again.read == 0 and again.unchanged == _total(content_copy)


def test_a_new_file_is_read_alone(db, content_copy):
    text = (content_copy / EXAMPLE).read_text(encoding="utf-8")
    new = content_copy / "voorbeelden" / "koesterklas-elders.md"
    new.write_text(text.replace("slug: koesterklas-nunspeet", "slug: koesterklas-elders", 1), encoding="utf-8")
    report = db.load(content_copy)
    assert (report.read, report.created, report.updated) == (1, ["voorbeelden/koesterklas-elders.md"], [])
    assert _example(db, "koesterklas-elders")[1] == Status.PUBLISHED


def test_a_new_article_may_relate_to_a_new_example(db, content_copy):
    text = (content_copy / EXAMPLE).read_text(encoding="utf-8")
    (content_copy / "voorbeelden" / "koesterklas-elders.md").write_text(
        text.replace("slug: koesterklas-nunspeet", "slug: koesterklas-elders", 1), encoding="utf-8")
    edit(content_copy / ARTICLE, lambda m: m.update(related=[*(m.get("related") or []), "koesterklas-elders"]))
    report = db.load(content_copy)
    assert report.read == 2
    with db.session() as s:
        article = s.scalar(select(Article).where(Article.origin_path == ARTICLE))
        assert "koesterklas-elders" in {e.slug for e in article.related_examples}


def test_a_removed_file_is_withdrawn_without_reading_and_comes_back(db, content_copy):
    path = _unreferenced_file(content_copy)
    relpath, saved = path.relative_to(content_copy).as_posix(), path.read_bytes()
    path.unlink()
    report = db.load(content_copy)
    assert (report.read, report.withdrawn) == (0, [relpath])
    assert db.load(content_copy).withdrawn == []  # nothing more to withdraw
    path.write_bytes(saved)
    back = db.load(content_copy)
    assert (back.read, back.updated) == (1, [relpath])


def test_an_offline_item_stays_offline_when_its_file_changes(db, content_copy):
    with db.session() as s:
        s.scalar(select(PracticeExample).where(PracticeExample.slug == "koesterklas-nunspeet")).status = Status.OFFLINE
    edit(content_copy / EXAMPLE, lambda m: m.update(title="Koesterklas, herzien"))
    assert db.load(content_copy).read == 1
    assert _example(db, "koesterklas-nunspeet") == ("Koesterklas, herzien", Status.OFFLINE)


def test_a_vocabulary_change_reads_every_file(db, content_copy):
    themes = content_copy / "vocabulaire" / "themas.yaml"
    themes.write_text(themes.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert db.load(content_copy).read == _total(content_copy)


# --------------------------------------------------------------------------------------------------------------------
# one changed, new or removed file that breaks a rule across files is refused, as a full load refuses it


def _link_to_missing_example(content: Path) -> None:
    edit_body(content / ARTICLE, lambda b: b + "\nZie ook [een voorbeeld](../voorbeelden/bestaat-niet.md).\n")


def _link_to_missing_theme(content: Path) -> None:
    edit_body(content / EXAMPLE, lambda b: b.replace("## Aanpak\n", "## Aanpak\n\nZie [dit](/themas/bestaat-niet).\n"))


def _slug_of_another_file(content: Path) -> None:
    edit(content / EXAMPLE, lambda m: m.update(slug=_other_example(content)))


def _new_file_with_a_taken_slug(content: Path) -> None:
    text = (content / EXAMPLE).read_text(encoding="utf-8")
    (content / "voorbeelden" / "koesterklas-kopie.md").write_text(text, encoding="utf-8")


def _related_to_missing_example(content: Path) -> None:
    edit(content / ARTICLE, lambda m: m.update(related=[*(m.get("related") or []), "bestaat-niet"]))


def _unknown_source(content: Path) -> None:
    edit(content / EXAMPLE, lambda m: m.update(source="bestaat-niet"))


def _unknown_theme(content: Path) -> None:
    edit(content / EXAMPLE, lambda m: m.update(themes=[*m["themes"], "bestaat-niet"]))


def _unknown_gemeente(content: Path) -> None:
    edit(content / EXAMPLE, lambda m: m.update(gemeente="bestaat-niet"))


def _removed_source_still_used(content: Path) -> None:
    (content / SOURCE).unlink()


def _other_example(content: Path) -> str:
    return next(p.stem for p in sorted((content / "voorbeelden").glob("*.md")) if p.name != Path(EXAMPLE).name)


CHANGES = [
    ("link-to-missing-example", _link_to_missing_example),
    ("link-to-missing-theme", _link_to_missing_theme),
    ("slug-of-another-file", _slug_of_another_file),
    ("new-file-with-a-taken-slug", _new_file_with_a_taken_slug),
    ("related-to-missing-example", _related_to_missing_example),
    ("unknown-source", _unknown_source),
    ("unknown-theme", _unknown_theme),
    ("unknown-gemeente", _unknown_gemeente),
    ("removed-source-still-used", _removed_source_still_used),
]


def assert_refused_like_a_full_load(db: Database, content: Path) -> ContentError:
    """The load stops with exactly the message (file, line, field, reason) a full read gives, and changes nothing."""
    with pytest.raises(ContentError) as full:
        read_content(content)
    before = db.snapshot()
    with pytest.raises(ContentError) as info, db.session() as s:
        load_content(s, content)
    assert str(info.value) == str(full.value)
    assert (info.value.path, info.value.line, info.value.field) == (full.value.path, full.value.line, full.value.field)
    assert db.snapshot() == before, "a refused load changed the database"
    return info.value


@pytest.mark.parametrize("change", [pytest.param(c, id=name) for name, c in CHANGES])
def test_a_change_that_breaks_another_rule_is_refused(db, content_copy, change: Callable[[Path], None]):
    change(content_copy)
    assert_refused_like_a_full_load(db, content_copy)


def test_removing_a_file_that_an_unchanged_file_links_to_is_refused(db, content_copy):
    target = _unreferenced_file(content_copy)
    link = f"[een voorbeeld](../{target.parent.name}/{target.name})"
    edit_body(content_copy / ARTICLE, lambda b: b + f"\nZie ook {link}.\n")
    assert db.load(content_copy).read == 1
    target.unlink()  # the article is unchanged now: only its link to the removed file can stop the load
    error = assert_refused_like_a_full_load(db, content_copy)
    assert error.path.endswith(ARTICLE) and error.field == "body"


def test_removing_an_example_related_in_an_escaped_spelling_is_refused(db, content_copy):
    """The article's bytes do not contain the slug (a YAML escape); the reference kept in the database finds it."""
    text = (content_copy / EXAMPLE).read_text(encoding="utf-8")
    target = content_copy / "voorbeelden" / "koesterklas-elders.md"
    target.write_text(text.replace("slug: koesterklas-nunspeet", "slug: koesterklas-elders", 1), encoding="utf-8")
    replace_text(content_copy / ARTICLE, "\nrelated: [", '\nrelated: ["koesterklas\\x2delders", ')
    assert "koesterklas-elders" not in (content_copy / ARTICLE).read_text(encoding="utf-8")
    assert db.load(content_copy).read == 2
    target.unlink()
    error = assert_refused_like_a_full_load(db, content_copy)
    assert error.path.endswith(ARTICLE) and error.field == "related"


def test_every_meta_talk_phrase_names_the_source_or_the_portal():
    """files._meta_talk_reason skips the (slow) search for text without 'bron' or 'portal'."""
    branches, depth = [""], 0
    for char in META_TALK_RE.pattern:
        depth += (char == "(") - (char == ")")
        if char == "|" and depth == 0:
            branches.append("")
        else:
            branches[-1] += char
    assert len(branches) > 1
    assert all("bron" in branch or "portal" in branch for branch in branches), branches


def _examples(database: Database) -> list[tuple]:
    with database.session() as s:
        return sorted((e.slug, e.title, e.status, e.source.slug, e.gemeente.slug if e.gemeente else None,
                       tuple(t.slug for t in e.themes), tuple(t.text for t in e.tips),
                       tuple(c.name for c in e.contacts), e.origin_hash)
                      for e in s.scalars(select(PracticeExample)))


def test_a_first_load_written_in_batches_stores_the_same(db, tmp_path, monkeypatch):
    """A large load flushes every FLUSH_EVERY items so written ones leave memory; small batches change nothing."""
    monkeypatch.setattr(loader, "FLUSH_EVERY", 2)
    url = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    engine = create_engine(url)
    init_script.migrate(engine)
    engine.dispose()
    fresh = Database(url)
    try:
        assert fresh.load(CONTENT_DIR).read == _total(CONTENT_DIR)
        assert fresh.load(CONTENT_DIR).read == 0
        assert _examples(fresh) == _examples(db)
        with fresh.session() as s:
            related = {a.slug: sorted(e.slug for e in a.related_examples) for a in s.scalars(select(Article))}
        with db.session() as s:
            assert related == {a.slug: sorted(e.slug for e in a.related_examples) for a in s.scalars(select(Article))}
    finally:
        fresh.engine.dispose()
