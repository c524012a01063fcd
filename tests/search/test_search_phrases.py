"""Thesaurus phrases prepared at index time give exactly what matching them on positions gives."""

from __future__ import annotations

import random
import shutil
from array import array
from pathlib import Path

import pytest
from whoosh import index as windex
from whoosh import query as wq

from portal.search import SearchService, masks
from portal.search.analysis import query_stems
from portal.search.documents import all_documents
from portal.search.index import CURRENT, PHRASES, read_phrases, write_manifest
from portal.search.masks import (
    MaskCache,
    MaskEvaluator,
    bitmask,
    decoded_postings,
    iter_bits,
    pair_hashes,
)
from portal.search.query import build, parse
from portal.search.ranking import K1, PLANE_MAX, QUANTUM, B, Ranker, level_planes, scoring_terms
from portal.search.schema import PAIRS_FIELD, PAIRS_OF, PHRASE_FIELDS, build_schema, with_derived_fields
from portal.search.thesaurus import Thesaurus

#: Texts where positions decide: compound parts next to each other, stop words in between, the phrase across
#: two fields of "all", reversed and interrupted phrases (no match).
TRICKY = [
    ("Jeugdhulp jeugdzorg in de wijk", "Passend en onderwijs voor ieder kind.", "Onderwijs passend gemaakt."),
    ("Samenwerkingsverband", "passend onderwijs in de regio", "Hulp aan de jeugd, hulp bij jeugd."),
    ("Intern begeleider", "De interne begeleider en het jeugd- en gezinsteam", "Speciaal, maar geen onderwijs."),
    ("Den Bosch", "Voortgezet speciaal onderwijs en zorg in natura", "Zorg in onderwijstijd; zorg natura."),
]

QUERIES = [
    "passend onderwijs", '"passend onderwijs"', "jeugdhulp", "jeugdzorg", "hulp aan jeugd", '"hulp aan jeugd"',
    "SWV", "OZA", "JGT", "den bosch", "intern begeleider", "ib", "vso", "so", "thuiszitter", "pgb",
    "passend*", "samenwerkingsverband passend onderwijs", '-"passend onderwijs" jeugdhulp', "wijkteam OR cjg",
]


@pytest.fixture(scope="module")
def services(shared_site, tmp_path_factory):
    """The same documents twice: as built (phrases prepared, frequent words warmed up) and a copy that prepares
    no phrases (as older indexes) and has nothing warmed up."""
    factory = shared_site.registry["dbsession_factory"]
    with shared_site.session() as session:
        docs = list(all_documents(session))
    template = next(d for d in docs if d["key"].startswith("voorbeeld:"))
    for n, (title, summary, body) in enumerate(TRICKY):
        docs.append({**template, "key": f"voorbeeld:proef-{n}", "slug": f"proef-{n}", "title": title,
                     "summary": summary, "body": body, "place": "", "themes": "", "meta": ""})
    root = tmp_path_factory.mktemp("phrases")
    prepared = SearchService(str(root / "prepared"), factory)
    generation = prepared.rebuild_from(iter(docs))
    assert read_phrases(generation.path), "a new index prepares the thesaurus phrases"
    plain_root = root / "plain"
    plain_root.mkdir()
    copy = plain_root / generation.name
    shutil.copytree(generation.path, copy, ignore=shutil.ignore_patterns(".in-use"))
    (copy / PHRASES).unlink()
    write_manifest(copy, windex.open_dir(str(copy), schema=build_schema()))
    (plain_root / CURRENT).write_text(generation.name + "\n", encoding="utf-8")
    plain = SearchService(str(plain_root), factory)
    plain.start(rebuild_if_needed=False)
    # The prepared side also has its frequent words prepared (all of them here: the corpus is small), which must
    # not change any result either.
    prepared.queries.WARM_TERMS_MIN_DOCS = 1
    words, postings = prepared.queries.warm_terms(postings=10**9, seconds=60)
    assert words > 100 and postings > 0
    yield prepared, plain
    prepared.close()
    plain.close()


def whoosh_phrase(searcher, query) -> int:
    """Whoosh's own phrase matching (span matchers over every document), live documents only."""
    found = 0
    for sub, offset in searcher.leaf_searchers():
        found |= bitmask(query.docs(sub)) << offset
    return found


def text_phrases(docs_texts, count: int = 150) -> list[tuple[str, ...]]:
    """Runs of 2-3 consecutive query stems from the indexed texts (phrases no thesaurus prepares)."""
    rng = random.Random(12)
    out = []
    for text in docs_texts:
        stems = query_stems(text)
        for _ in range(3):
            if len(stems) > 3:
                at = rng.randrange(len(stems) - 3)
                out.append(tuple(stems[at : at + rng.randint(2, 3)]))
    rng.shuffle(out)
    return out[:count]


def test_phrases_match_as_whoosh_matches_them(services):
    """Prepared phrases (one term) and any other phrase (positions of the candidates) find exactly the documents
    Whoosh's phrase matcher finds."""
    prepared, plain = services
    found = 0
    with prepared.keeper.reading() as view, plain.keeper.reading() as plain_view:
        searcher = view.searcher
        evaluator = MaskEvaluator(searcher, MaskCache())
        positional = MaskEvaluator(plain_view.searcher, MaskCache())
        for phrase in sorted(Thesaurus.load().phrases()):
            for field in PHRASE_FIELDS:
                query = wq.Phrase(field, list(phrase))
                assert evaluator._prepared(query) is not None
                expected = whoosh_phrase(searcher, query)
                assert evaluator.evaluate(query) == expected, (field, phrase)
                assert positional.evaluate(query) == expected, (field, phrase)
                found += bool(expected)
        # Word pairs (schema.PairText): a new index has them in every segment; matching on positions only
        # must find the same.
        assert all(pair_hashes(sub.reader()) == 2 for sub, _offset in searcher.leaf_searchers())
        on_positions = MaskEvaluator(searcher, MaskCache(), use_pairs=False)
        texts = [" ".join(str(f.get(n) or "") for n in ("title", "summary", "body")) for f in searcher.documents()]
        for phrase in text_phrases(texts + [" ".join(t) for t in TRICKY]) + EDGE_PHRASES:
            for field in PHRASE_FIELDS:
                query = wq.Phrase(field, list(phrase))
                expected = whoosh_phrase(searcher, query)
                assert evaluator.evaluate(query) == expected == positional.evaluate(query), phrase
                assert on_positions.evaluate(query) == expected, phrase
                found += bool(expected)
    assert found >= 100, "the corpus exercises the phrases"


#: Phrases (as stems) around compounds (parts on one position), stop words, repeats and field boundaries.
EDGE_PHRASES = [("hulp", "jeugd"), ("jeugd", "gezinsteam"), ("jeugdhulp", "jeugdzorg"), ("hulp", "hulp"),
                ("interne", "begeleider"), ("intern", "begeleider"), ("zorg", "natura"), ("onderwijs", "passend"),
                ("passend", "gemaakt"), ("wijk", "passend"), ("kind", "onderwijs"), ("regio", "hulp", "jeugd"),
                ("speciaal", "onderwijs", "zorg"), ("onderwijstijd", "zorg", "natura")]


def _edge_docs(texts: list[str]) -> list[dict]:
    docs = [{"key": f"voorbeeld:t{n}", "title": t[0], "summary": t[1], "body": t[2]} for n, t in enumerate(TRICKY)]
    docs += [{"key": f"voorbeeld:d{n}", "title": text[:60], "summary": text[60:400], "body": text[400:3000]}
             for n, text in enumerate(texts)]
    return docs


def test_segments_without_pairs_match_on_positions(services, tmp_path):
    """An index written before pairs were indexed, edited since (a segment with pairs next to one without), and
    merged (one segment where only some documents have pairs): phrases are matched as Whoosh matches them."""
    prepared, _plain = services
    with prepared.keeper.reading() as view:
        texts = [" ".join(str(f.get(n) or "") for n in ("title", "summary", "body"))
                 for f in view.searcher.documents()]
    docs = _edge_docs(texts[:300])
    old_schema = build_schema()
    old_schema.remove(PAIRS_FIELD)
    ix = windex.create_in(str(tmp_path), old_schema)
    writer = ix.writer()
    for doc in docs[::2]:
        writer.add_document(**{k: v for k, v in with_derived_fields(doc).items() if k != PAIRS_FIELD})
    writer.commit()
    ix = windex.open_dir(str(tmp_path), schema=build_schema())
    writer = ix.writer()
    for doc in docs[1::2]:
        writer.add_document(**with_derived_fields(doc))
    writer.commit(merge=False)
    writer = ix.writer()
    writer.delete_by_term("key", docs[1]["key"])  # deletions keep a segment's pairs complete
    writer.commit(merge=False)
    phrases = text_phrases(texts[:300] + [" ".join(t) for t in TRICKY], count=120) + EDGE_PHRASES

    def check(expect_pairs: list[bool]) -> int:
        found = 0
        with ix.searcher() as searcher:
            assert [pair_hashes(sub.reader()) > 0 for sub, _offset in searcher.leaf_searchers()] == expect_pairs
            evaluator = MaskEvaluator(searcher, MaskCache())
            for phrase in phrases:
                for field in PHRASE_FIELDS:
                    query = wq.Phrase(field, list(phrase))
                    expected = whoosh_phrase(searcher, query)
                    assert evaluator.evaluate(query) == expected, (field, phrase)
                    found += bool(expected)
        return found

    assert check([False, True]) >= 50
    writer = ix.writer()
    writer.commit(optimize=True)
    assert check([False]) >= 50


def test_segments_with_the_first_buckets_only_match_as_whoosh(services, tmp_path):
    """An index written with the first buckets only (before the second hash), edited since (a segment with both
    next to one with the first only), and merged (one segment where only some documents have the second
    buckets, so the first are used), and one merged from documents without pairs, with the first buckets only and
    with both (positions only): phrases are matched as Whoosh matches them, with and without the words' bitsets
    at hand."""
    prepared, _plain = services
    with prepared.keeper.reading() as view:
        texts = [" ".join(str(f.get(n) or "") for n in ("title", "summary", "body"))
                 for f in view.searcher.documents()]
    docs = _edge_docs(texts[:300])
    phrases = text_phrases(texts[:300] + [" ".join(t) for t in TRICKY], count=120) + EDGE_PHRASES

    def write(ix, part, schema_of_writer=None):
        writer = ix.writer()
        for doc in part:
            fields = with_derived_fields(doc)
            if PAIRS_FIELD not in schema_of_writer:
                fields.pop(PAIRS_FIELD)
            writer.add_document(**fields)
        writer.commit(merge=False)

    def check(ix, expect: list[int]) -> int:
        found = 0
        with ix.searcher() as searcher:
            assert [pair_hashes(sub.reader()) for sub, _offset in searcher.leaf_searchers()] == expect
            evaluator = MaskEvaluator(searcher, MaskCache())
            warmed = MaskEvaluator(searcher, MaskCache())
            for phrase in phrases:
                for word in phrase:
                    warmed.term(PAIRS_OF, word)
                for field in PHRASE_FIELDS:
                    query = wq.Phrase(field, list(phrase))
                    expected = whoosh_phrase(searcher, query)
                    assert evaluator.evaluate(query) == expected == warmed.evaluate(query), (field, phrase)
                    found += bool(expected)
        return found

    first_only = build_schema(pair_hashes=1)
    (tmp_path / "a").mkdir()
    ix = windex.create_in(str(tmp_path / "a"), first_only)
    write(ix, docs[::2], first_only)
    ix = windex.open_dir(str(tmp_path / "a"), schema=build_schema())
    write(ix, docs[1::2], build_schema())
    writer = ix.writer()
    writer.delete_by_term("key", docs[1]["key"])
    writer.commit(merge=False)
    assert check(ix, [1, 2]) >= 50
    ix.writer().commit(optimize=True)
    assert check(ix, [1]) >= 50

    no_pairs = build_schema()
    no_pairs.remove(PAIRS_FIELD)
    (tmp_path / "b").mkdir()
    ix = windex.create_in(str(tmp_path / "b"), no_pairs)
    write(ix, docs[::3], no_pairs)
    ix = windex.open_dir(str(tmp_path / "b"), schema=first_only)
    write(ix, docs[1::3], first_only)
    ix = windex.open_dir(str(tmp_path / "b"), schema=build_schema())
    write(ix, docs[2::3], build_schema())
    assert check(ix, [0, 1, 2]) >= 50
    ix.writer().commit(optimize=True)
    assert check(ix, [0]) >= 50


def hit_list(outcome):
    return [(h["slug"], h["score"], h["highlights"]) for h in outcome.hits]


@pytest.mark.parametrize("q", QUERIES)
def test_phrase_and_synonym_queries_find_the_same(services, q):
    prepared, plain = services
    a, b = prepared.search(q), plain.search(q)
    assert (a.total, hit_list(a), a.facets, a.expanded, a.loosened) == (
        b.total, hit_list(b), b.facets, b.expanded, b.loosened)


def test_an_index_without_prepared_phrases_still_matches_them(services):
    _prepared, plain = services
    with plain.keeper.reading() as view:
        assert not read_phrases(Path(view.generation.path))
        assert MaskEvaluator(view.searcher, MaskCache())._prepared(wq.Phrase("all", ["passend", "onderwijs"])) is None
    assert plain.search('"passend onderwijs"').total > 0


def test_frequent_word_warm_up_stays_within_its_budget(services):
    _prepared, plain = services
    plain.queries.WARM_TERMS_MIN_DOCS = 1
    words, postings = plain.queries.warm_terms(postings=500, seconds=60)
    assert words > 0 and 0 < postings <= 500
    assert plain.queries.warm_terms(postings=10**9, seconds=-1.0) == (0, 0)  # no CPU time left: nothing prepared


RANKED_QUERIES = ["passend onderwijs", '"passend onderwijs"', "jeugdhulp school", "thuiszitter", "zorg",
                  '"hulp aan jeugd"', '"onderwijs passend"', '"kinderen en ouders"', '"in de school"',
                  "onderwijs", '"zorg in onderwijstijd"', "intern begeleider", "kind ouders school", "wijkteam OR cjg",
                  "hulp -jeugd", "samen*"]


def _segmented(texts: list[str], path: Path):
    """An index of three segments (one of them with a deleted document) from ``texts``."""
    ix = windex.create_in(str(path), build_schema())
    docs = _edge_docs(texts)
    for part in (docs[0::3], docs[1::3], docs[2::3]):
        writer = ix.writer()
        for doc in part:
            writer.add_document(**with_derived_fields(doc))
        writer.commit(merge=False)
    writer = ix.writer()
    writer.delete_by_term("key", docs[4]["key"])
    writer.commit(merge=False)
    return ix


def test_few_results_are_ranked_as_with_planes(services, tmp_path):
    """Ranking few results from their own impacts (Ranker._top_few) gives exactly what the bit planes give: the
    same documents, order and scores, for whole result sets and for small parts of them, in an index of one
    segment and in one of several."""
    prepared, _plain = services
    with prepared.keeper.reading() as view:
        texts = [" ".join(str(f.get(n) or "") for n in ("title", "summary", "body"))
                 for f in view.searcher.documents()]
        lexicon = view.lexicon
    ix = _segmented(texts[:400], tmp_path)
    rng = random.Random(5)
    compared = 0
    for searcher_of in (lambda: prepared.keeper.reading(), lambda: _Plain(ix.searcher())):
        with searcher_of() as view:
            searcher = view.searcher
            assert searcher.doc_count() > 100
            evaluator = MaskEvaluator(searcher, MaskCache())
            everything = evaluator.everything()
            for text in RANKED_QUERIES:
                built = build(parse(text), prepared.queries.thesaurus, lexicon,
                              lambda t, s=searcher: s.doc_frequency("all", t) > 0)
                mask = evaluator.evaluate(built.query) & everything
                bits = list(iter_bits(mask))
                subsets = [mask] + [sum(1 << d for d in rng.sample(bits, min(len(bits), k))) for k in (1, 3, 12, 40)]
                terms = scoring_terms(built.query)
                averages = {f: searcher.avg_field_length(f, 1.0) for f, _t, _b in terms}
                for subset in subsets:
                    for count in (1, 10, 25):
                        planes = Ranker(MaskCache())
                        planes.FEW = 0
                        expected = planes.top(searcher, built.query, subset, count)
                        assert Ranker(MaskCache())._top_few(searcher, terms, averages, subset, count) == expected
                        skipping = Ranker(MaskCache())  # weights read by skipping to each result (weights_of)
                        skipping.SKIP = 0
                        masks._DECODED.clear()
                        masks._read_weights.clear()
                        assert skipping._top_few(searcher, terms, averages, subset, count) == expected
                        # ... and with the weights a phrase's matching has just read (phrase_docs) at hand
                        MaskEvaluator(searcher, MaskCache()).evaluate(built.query)
                        masks._DECODED.clear()
                        assert skipping._top_few(searcher, terms, averages, subset, count) == expected
                        compared += bool(expected)
    assert compared > 200


class _Plain:
    """A bare Whoosh searcher in the shape of an IndexView (``with ... as view: view.searcher``)."""

    def __init__(self, searcher):
        self.searcher = searcher

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.searcher.close()


def test_impacts_and_levels_are_those_of_the_formula(services):
    """The impacts and plane levels computed with C loops (map) are bit for bit those of the BM25 formula written
    out per posting."""
    prepared, _plain = services
    ranker = Ranker(MaskCache())
    checked = 0
    with prepared.keeper.reading() as view:
        searcher = view.searcher
        for sub, _offset in searcher.leaf_searchers():
            reader = sub.reader()
            for fieldname in ("title", "all"):
                avg = searcher.avg_field_length(fieldname, 1.0)
                words = [t.decode("utf-8") for t in reader.lexicon(fieldname)][::7][:200]
                for word in words:
                    docs, impacts = ranker._impacts(searcher, reader, fieldname, word, avg)
                    ids, tfs = decoded_postings(reader, fieldname, word)
                    idf, rounded = round(searcher.idf(fieldname, word), 2), round(avg or 1.0, 0) or 1.0
                    lengths = ranker._lengths(reader, fieldname)
                    norm, per_length = K1 * (1 - B), K1 * B / rounded
                    expected = array("f", [idf * tf * (K1 + 1) / (tf + norm + per_length * lengths[doc])
                                           for doc, tf in zip(ids, tfs, strict=True)])
                    assert (docs, impacts) == (ids, expected), word
                    for boost in (3.0, 0.8, 2.4):
                        levels = [max(0, min(PLANE_MAX, int(x * boost / QUANTUM + 0.5))) for x in expected]
                        planes = level_planes(docs, impacts, boost)
                        assert [sum((planes[b] >> d & 1) << b for b in range(len(planes))) for d in docs] == levels
                    checked += 1
    assert checked > 100
