"""Snippets: the word-by-word marker gives exactly what Whoosh's highlighter gave, over all the real content.

The reference below is the implementation that portal/search/snippets.py replaced (Whoosh's ``highlight.highlight``
over each excerpt, the index analyzer's whole token pipeline). Both are run on every stored summary and body of
the real content/ with the term sets real queries produce, and must agree character for character.
"""

from __future__ import annotations

import html
import random
from pathlib import Path

import pytest
import yaml
from whoosh import highlight
from whoosh.support.charset import accent_map

from portal.search import snippets as snippets_module
from portal.search.analysis import Lexicon, dutch_analyzer, fold, query_stems
from portal.search.query import build, parse
from portal.search.schema import HIGHLIGHT_FIELDS
from portal.search.snippets import _SPLIT_RE, _folded, _index_for, _TextMemo, excerpts, mark, snippets


class _WhooshMarkFormatter(highlight.Formatter):
    between = " … "

    def _text(self, text):
        return html.escape(text, quote=False)

    def format_token(self, text, token, replace=False):
        return f"<mark>{html.escape(highlight.get_text(text, token, replace), quote=False)}</mark>"


def whoosh_snippets(text: str, terms: set[str], analyzer, limit: int = 2) -> list[str]:
    """The snippets as Whoosh's highlighter made them (the code before the word-by-word marker), over the same
    windows (``excerpts``, unchanged)."""
    out: list[str] = []
    if limit <= 0:
        return out
    formatter = _WhooshMarkFormatter()
    for excerpt, cut_before, cut_after in excerpts(text, terms):
        marked = highlight.highlight(
            excerpt, terms, analyzer, highlight.WholeFragmenter(), formatter, top=1, mode="index"
        )
        if "<mark>" in marked:
            out.append(("… " if cut_before else "") + marked + (" …" if cut_after else ""))
            if len(out) >= limit:
                break
    return out


JUDGED = Path(__file__).with_name("judged_queries.yaml")
THESAURUS = Path(__file__).parents[2] / "portal" / "search" / "thesaurus.yaml"
#: Queries of other shapes: phrases, prefixes, negations, OR, hyphens, apostrophes, accents, stop words only.
EXTRA_QUERIES = [
    '"passend onderwijs"', "jeugd*", "school -jeugdhulp", "school OR gemeente", "onderwijs-zorg", "ib'er",
    "Fryslân", "coördinator", "kinderen klasjes scholen", "de het een", "ggz-team", "zorg- en adviesteam",
    "onderwijszorgarrangement", "zorgarrangement", "samenwerkingsverbanden", "thuiszittende leerlingen",
]


WORDS_PER_SET = 8


@pytest.fixture(scope="module")
def real(shared_site):
    """(stored texts, analyzer, term sets) of the shared site's index of the real content."""
    service = shared_site.registry["search_service"]
    engine = service.queries
    with service.keeper.reading() as view:
        searcher = view.searcher
        analyzer = searcher.schema["all"].analyzer
        texts = [stored[name] for stored in searcher.all_stored_fields() for name in HIGHLIGHT_FIELDS
                 if stored.get(name)]

        def known(term):
            return searcher.doc_frequency("all", term) > 0

        queries = [entry["query"] for entry in yaml.safe_load(JUDGED.read_text(encoding="utf-8"))]
        thesaurus = yaml.safe_load(THESAURUS.read_text(encoding="utf-8"))
        for group in thesaurus.get("equivalents", []):
            queries.extend(group)
        for key, broader in (thesaurus.get("broader") or {}).items():
            queries.extend([key, *broader])
        queries.extend(EXTRA_QUERIES)
        term_sets = []
        for q in dict.fromkeys(queries):
            built = build(parse(q), engine.thesaurus, view.lexicon, known).query
            if built is None:
                continue
            # As QueryEngine._hit_dict: the query's terms of the "all" and "title" fields.
            terms = {
                t.decode() if isinstance(t, bytes) else t for f, t in built.iter_all_terms() if f in ("all", "title")
            }
            if terms:
                term_sets.append(terms)
        # Every word of the content, in sets of a few (one by one, the same comparison took two minutes and
        # found no difference either), so each stem and stop word is tried as a match.
        words = sorted({stem for text in texts for stem in query_stems(text)})
        random.Random(7).shuffle(words)
        term_sets.extend(set(words[i : i + WORDS_PER_SET]) for i in range(0, len(words), WORDS_PER_SET))
        yield texts, analyzer, term_sets


def test_term_sets_cover_the_content(real):
    texts, _analyzer, term_sets = real
    assert len(texts) > 100
    assert len(term_sets) > 500


def test_snippets_equal_whoosh_highlighter_on_all_real_content(real):
    texts, analyzer, term_sets = real
    differences = []
    compared = marked = 0
    for terms in term_sets:
        for text in texts:
            expected = whoosh_snippets(text, terms, analyzer)
            got = snippets(text, terms, analyzer)
            compared += 1
            marked += bool(expected)
            if got != expected:
                differences.append((sorted(terms), text[:60], expected, got))
    assert not differences[:5], f"{len(differences)} of {compared} differ"
    assert marked > 5_000  # the comparison saw many real snippets, not only empty lists


def test_limit_gives_the_first_snippets(real):
    texts, analyzer, term_sets = real
    for terms in term_sets[:50]:
        for text in texts:
            two = snippets(text, terms, analyzer, limit=2)
            assert snippets(text, terms, analyzer, limit=1) == two[:1]
            assert snippets(text, terms, analyzer, limit=0) == []


@pytest.mark.parametrize(
    ("excerpt", "terms", "expected"),
    [
        ("Jeugdhulp in de klas", {"jeugdhulp"}, "<mark>Jeugdhulp</mark> in de klas"),
        # A compound is marked for a part, a hyphenated word for its joined form and its pieces.
        ("Het onderwijszorgarrangement werkt", {"zorgarrangement"}, "Het <mark>onderwijszorgarrangement</mark> werkt"),
        ("onderwijs-zorg <b> & co", {"zorg"}, "<mark>onderwijs-zorg</mark> &lt;b&gt; &amp; co"),
        # Stop words are marked when a query asks for them (as Whoosh's highlighter with removestops=False).
        ("de school", {"de"}, "<mark>de</mark> school"),
        ("Kinderen en klasjes", {"kind", "klas"}, "<mark>Kinderen</mark> en <mark>klasjes</mark>"),
        ("Coördinator in Fryslân", {"fryslan"}, "Coördinator in <mark>Fryslân</mark>"),
        ("geen treffer hier", {"school"}, None),
    ],
)
def test_mark(real, excerpt, terms, expected):
    _texts, analyzer, _term_sets = real
    assert mark(excerpt, terms, analyzer) == expected


#: Texts where folding changes the length (İ, ß, ligatures), escaping matters, or words touch punctuation.
TRICKY_TEXTS = [
    "İstanbul en de jeugdhulp in Groningen, daarna weer jeugdhulp.",
    "Straße, ﬁnanciering en de jeugdhulp: “passend” onderwijs & <zorg> in één klas.",
    "Coördinator & ib'er — onderwijs-zorg <script>alert('jeugdhulp')</script> en ‘thuiszitters’.",
    "ΣΟΦΙΑ jeugdhulp ΣΟΦΙΑΣ; financiële hulp… en café-overleg.",
    ("Jeugdhulp " * 80) + "einde van de tekst met thuiszitters.",
    "   jeugdhulp\n\n\tin   de\r\nklas   ",
]


@pytest.mark.parametrize("text", TRICKY_TEXTS)
def test_snippets_equal_whoosh_highlighter_on_tricky_texts(real, text):
    _texts, analyzer, _term_sets = real
    found = []
    for terms in ({"jeugdhulp"}, {"thuiszitter", "financier"}, {"zorg", "onderwijszorg"}, {"script"}, {"cafe"},
                  {"istanbul"}, {"strass", "strasse"}, {"coordinator", "ib'er", "iber"}, {"sofia", "σοφια"}):
        expected = whoosh_snippets(text, terms, analyzer)
        assert snippets(text, terms, analyzer) == expected, terms
        found.extend(expected)
    assert any("<mark>" in s for s in found)


def test_folded_texts_are_remembered_up_to_a_limit():
    memo = _TextMemo(limit=100)
    texts = [f"Coördinator {n} in Fryslân" for n in range(20)]
    for text in texts * 2:
        assert memo.get(text, text, lambda text=text: _folded(text)) == fold(text)
    assert sum(map(len, memo._values)) <= 100


def test_a_lexicon_that_learns_words_changes_what_is_marked():
    lexicon = Lexicon()
    analyzer = dutch_analyzer(lexicon)
    excerpt = "Een onderwijszorgarrangement in Zwolle"
    assert mark(excerpt, {"zorgarrangement"}, analyzer) is None  # not a known compound yet
    lexicon.add_text("onderwijs zorg arrangement")
    assert mark(excerpt, {"zorgarrangement"}, analyzer) == "Een <mark>onderwijszorgarrangement</mark> in Zwolle"
    # Another analyzer (a new index) gets its own words: the same excerpt, its own answer.
    assert mark(excerpt, {"zorgarrangement"}, dutch_analyzer(Lexicon())) is None


def test_fold_equals_a_translation_of_every_character_on_the_real_content(real):
    texts, _analyzer, _term_sets = real
    every_accent = "".join(chr(key) for key in accent_map if key > 127)
    samples = [*texts, *TRICKY_TEXTS, every_accent, f"Aa {every_accent} zz {every_accent.upper()}", "", "plain ascii"]
    for text in samples:
        assert fold(text) == text.lower().translate(accent_map)
    assert any(not text.isascii() for text in texts)


def test_remembered_snippets_follow_the_lexicon_and_stay_within_their_budget():
    lexicon = Lexicon()
    analyzer = dutch_analyzer(lexicon)
    text = "Een onderwijszorgarrangement in Zwolle, met jeugdhulp op school."
    assert snippets(text, {"zorgarrangement"}, analyzer) == []  # not a known compound yet
    lexicon.add_text("onderwijs zorg arrangement")
    assert snippets(text, {"zorgarrangement"}, analyzer) == ["Een <mark>onderwijszorgarrangement</mark> in Zwolle, "
                                                             "met jeugdhulp op school."]
    first = snippets(text, {"jeugdhulp"}, analyzer)
    first.append("changed by a caller")
    assert snippets(text, {"jeugdhulp"}, analyzer) == [text.replace("jeugdhulp", "<mark>jeugdhulp</mark>")]
    memo = _TextMemo(limit=len(text) * 3)
    owner = _index_for(analyzer)
    for n in range(10):
        terms = frozenset({f"woord{n}"})
        assert memo.get((text, terms, 2), text, lambda: (), owner=owner) == ()
    assert memo._chars <= len(text) * 3
    assert len(memo._values) <= 3


def test_word_terms_are_the_token_streams_terms_for_every_word_of_the_real_content(real):
    """The word index learns a word's terms from DutchAnalyzer.word_terms (the per-word memo, no token stream): the
    same terms as the analyzer's tokens give, for every distinct word of every stored text."""
    texts, analyzer, _term_sets = real
    seen = {w for text in texts for w in _SPLIT_RE.split(text)[1::2]}
    assert len(seen) > 3_000
    for word in sorted(seen):
        by_tokens = {t.text for t in analyzer(word, mode="index", removestops=False)}
        assert set(analyzer.word_terms(word)) == by_tokens, word


def test_the_warm_up_teaches_the_snippets_the_frequent_words(site_factory):
    site = site_factory()
    service = site.registry["search_service"]
    with service.keeper.reading() as view:
        analyzer = view.searcher.schema["all"].analyzer
        frequent = service.queries._frequent_words(view.searcher, 50)
    snippets_module._word_index = None  # as in a process that has shown no snippet yet
    service.queries.warm_terms()
    index = _index_for(analyzer)
    assert set(frequent) <= index.known
    assert any(index.words_with.get(term) for word in frequent for term in analyzer.word_terms(word))
