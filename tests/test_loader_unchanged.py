"""portal-load skips parsing when nothing changed (raw bytes, vocabulary and the set of files), and only then."""

from __future__ import annotations

import pytest
from test_dates import _unreferenced_file

from portal.content.files import ContentError
from portal.content.loader import load_content


def _load(site, content_dir):
    with site.session() as s:
        return load_content(s, content_dir)


def _count(content_dir) -> int:
    return sum(1 for d in ("bronnen", "voorbeelden", "kennis") for _ in (content_dir / d).glob("*.md"))


def test_unchanged_tree_is_not_parsed(site, content_copy):
    first = _load(site, content_copy)  # the copy is byte-identical to what the site loaded
    assert not first.parsed
    assert first.unchanged == _count(content_copy)
    assert not first.created and not first.updated and not first.withdrawn


def test_a_changed_file_is_parsed_and_applied(site, content_copy):
    path = content_copy / "voorbeelden" / "koesterklas-nunspeet.md"
    path.write_text(path.read_text(encoding="utf-8").replace('title: "', 'title: "Aangepast - ', 1), encoding="utf-8")
    report = _load(site, content_copy)
    assert report.parsed
    assert report.updated == ["voorbeelden/koesterklas-nunspeet.md"]
    assert not _load(site, content_copy).parsed  # and the next run is quick again


def test_a_removed_file_is_noticed(site, content_copy):
    removed = _unreferenced_file(content_copy)
    removed.unlink()
    report = _load(site, content_copy)
    assert report.withdrawn == [removed.relative_to(content_copy).as_posix()]
    assert report.read == 0  # no other file names it: nothing to parse


def test_a_vocabulary_change_is_a_change(site, content_copy):
    themes = content_copy / "vocabulaire" / "themas.yaml"
    themes.write_text(themes.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert _load(site, content_copy).parsed


def test_a_bad_new_file_is_still_refused(site, content_copy):
    (content_copy / "voorbeelden" / "kapot.md").write_text("geen front matter\n", encoding="utf-8")
    with pytest.raises(ContentError):
        _load(site, content_copy)
    (content_copy / "voorbeelden" / "notitie.txt").write_text("x", encoding="utf-8")
    with pytest.raises(ContentError):
        _load(site, content_copy)
