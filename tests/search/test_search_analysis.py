"""Dutch analysis: what counts as the same word for search."""

from __future__ import annotations

import pytest

from portal.search.analysis import Lexicon, build_lexicon, fold, index_terms, query_stems, stem
from portal.search.query import parse
from portal.search.thesaurus import Thesaurus


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    return build_lexicon(["samenwerking verband zorgarrangement ontwikkeling perspectief weerbaarheid training"])


def terms(text: str, lexicon: Lexicon) -> set[str]:
    return set(index_terms(text, lexicon))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("thuiszitters", "thuiszitter"),
        ("klasjes", "klas"),
        ("klassen", "klas"),
        ("kinderen", "kind"),
        ("scholen", "school"),
        ("hoogbegaafde", "hoogbegaafd"),
        ("samenwerkingsverbanden", "samenwerkingsverband"),
        ("gemeenten", "gemeente"),
    ],
)
def test_inflections_share_a_stem(a, b):
    assert stem(fold(a)) == stem(fold(b))


def test_accents_are_folded():
    assert fold("coördinator") == "coordinator"
    assert fold("Fryslân") == "fryslan"
    assert query_stems("Coördinator") == query_stems("coordinator")


def test_stop_words_are_not_searched():
    assert query_stems("de kinderen van de school") == [stem("kind"), stem("school")]


def test_compound_parts_are_indexed(lexicon):
    found = terms("onderwijszorgarrangement", lexicon)
    assert {stem("zorgarrangement"), stem("arrangement"), stem("onderwijs")} <= found
    assert stem("jeugdhulp") in terms("jeugdhulpverlener", lexicon)
    assert {stem("samenwerking"), stem("verband")} <= terms("samenwerkingsverband", lexicon)  # linking s


def test_hyphenated_and_closed_spellings_match(lexicon):
    hyphenated = terms("onderwijs-zorgarrangement", lexicon)
    assert stem("onderwijszorgarrangement") in hyphenated
    assert query_stems("onderwijs-zorgarrangement") == query_stems("onderwijszorgarrangement")


def test_short_fragments_are_not_compound_parts(lexicon):
    assert lexicon.parts("kinderen") == []  # not kind + eren
    assert lexicon.parts("onderwijs") == []  # "onder" is a stop word, never a part


@pytest.fixture(scope="module")
def thesaurus() -> Thesaurus:
    return Thesaurus.load()


def labels(thesaurus: Thesaurus, text: str) -> set[str]:
    return {a.label for _s, _e, alternatives in thesaurus.match(query_stems(text)) for a in alternatives}


def test_abbreviations_expand(thesaurus):
    assert "samenwerkingsverband" in labels(thesaurus, "SWV")
    assert "onderwijszorgarrangement" in labels(thesaurus, "OZA")
    assert "toelaatbaarheidsverklaring" in labels(thesaurus, "tlv")


def test_synonyms_expand_both_ways(thesaurus):
    assert "jeugdhulp" in labels(thesaurus, "jeugdzorg")
    assert "jeugdzorg" in labels(thesaurus, "jeugdhulp")
    assert "fryslân" in labels(thesaurus, "Friesland")
    assert "friesland" in labels(thesaurus, "Fryslân")


def test_multi_word_terms_expand(thesaurus):
    assert "'s-hertogenbosch" in labels(thesaurus, "Den Bosch")
    assert {"getting it right for every child", "kansencirkel"} <= labels(thesaurus, "Girfec")
    assert "girfec" in labels(thesaurus, "getting it right for every child")


def test_broader_terms_are_one_way(thesaurus):
    assert "bekostiging" in labels(thesaurus, "financiering")
    assert "financiering" not in labels(thesaurus, "trekkingsrecht")


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ('"passend onderwijs" -vso jeugd*', ["phrase", "word", "prefix"]),
        ('"passend onderwijs', ["word", "word"]),  # unbalanced quote: plain words
        ("AND OR (", []),
        ("*", []),
        ("(thuiszitters OR verzuim)", ["word", "word"]),
    ],
)
def test_query_syntax(text, kinds):
    assert [c.kind for c in parse(text).clauses] == kinds


def test_exclusion_and_or():
    parsed = parse("thuiszitters -zwolle OR kampen")
    assert [(c.text, c.negated, c.or_previous) for c in parsed.clauses] == [
        ("thuiszitters", False, False),
        ("zwolle", True, False),
        ("kampen", False, True),
    ]
