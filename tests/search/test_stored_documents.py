"""Decoded stored documents (portal.search.stored) and document frequencies per searcher: what Whoosh reads."""

from __future__ import annotations

import json

from whoosh import index as windex
from whoosh.fields import ID, STORED, TEXT, Schema

from portal.search.masks import segment_key
from portal.search.stored import StoredDocuments


def _index(path, segments: int = 2, per_segment: int = 5):
    schema = Schema(key=ID(stored=True, unique=True), body=TEXT(stored=True), data=STORED())
    ix = windex.create_in(str(path), schema)
    n = 0
    for _ in range(segments):
        with ix.writer() as writer:
            for _ in range(per_segment):
                writer.add_document(key=f"d{n}", body=f"tekst nummer {n} " * (n + 1),
                                    data=json.dumps({"place": f"Plaats {n}", "themes": [f"thema-{n}"]}))
                n += 1
    return ix


def test_same_fields_and_data_as_whoosh_over_segments(tmp_path):
    ix = _index(tmp_path)
    stored = StoredDocuments()
    with ix.searcher() as searcher:
        assert len(searcher.leaf_searchers()) == 2
        for docnum in range(searcher.doc_count_all()):
            fields, data = stored.get(searcher, docnum)
            assert fields == searcher.stored_fields(docnum)
            assert data == json.loads(searcher.stored_fields(docnum)["data"])
            again, _ = stored.get(searcher, docnum)
            assert again is fields  # decoded once


def test_budget_drops_the_least_recently_used(tmp_path):
    ix = _index(tmp_path, segments=1, per_segment=10)
    with ix.searcher() as searcher:
        one, _ = StoredDocuments().get(searcher, 9)
        size = sum(len(v) for v in one.values() if isinstance(v, str)) + 64
        stored = StoredDocuments(limit_chars=size * 2)
        first, _ = stored.get(searcher, 9)
        stored.get(searcher, 8)
        assert stored.get(searcher, 9)[0] is first  # still there, and now the most recently used
        stored.get(searcher, 7)  # over budget: 8 goes, 9 stays
        assert stored.get(searcher, 9)[0] is first
        assert stored._chars <= size * 2
        assert len(stored._entries) <= 2


def test_segments_no_longer_in_use_are_forgotten(tmp_path):
    ix = _index(tmp_path)
    stored = StoredDocuments()
    with ix.searcher() as searcher:
        for docnum in range(searcher.doc_count_all()):
            stored.get(searcher, docnum)
    ix.optimize()  # merged into one new segment
    with ix.searcher() as searcher:
        live = {segment_key(sub.reader()) for sub, _offset in searcher.leaf_searchers()}
        stored.forget_segments_except(live)
        assert not stored._entries and stored._chars == 0
        fields, _ = stored.get(searcher, 3)
        assert fields["key"] == searcher.stored_fields(3)["key"]


def test_doc_frequencies_are_the_searchers_and_start_over_with_a_new_searcher(tmp_path):
    from portal.search.searching import DocFrequencies

    ix = _index(tmp_path)
    memo = DocFrequencies()
    with ix.searcher() as searcher:
        doc_frequency = memo.of(searcher)
        for word in ("tekst", "nummer", "3", "ontbreekt"):
            assert doc_frequency("body", word) == searcher.doc_frequency("body", word)
        assert doc_frequency("body", "tekst") == 10
    with ix.writer() as writer:
        writer.add_document(key="extra", body="tekst", data="{}")
    with ix.searcher() as searcher:
        assert memo.of(searcher)("body", "tekst") == 11  # not the old searcher's count
