"""Spelling suggestions from memory (portal.search.spelling) are Whoosh's corrector's, much cheaper."""

from __future__ import annotations

import random

import pytest

from portal.search import SearchService
from portal.search.documents import all_documents
from portal.search.masks import term_text
from portal.search.spelling import SPELL_FIELD, SpellingWords, edit_distance


def _table_distance(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (ca != cb))
    return row[-1]


def test_edit_distance_is_levenshtein():
    rng = random.Random(3)
    alphabet = "abcdeé-"
    pairs = [("", ""), ("", "abc"), ("abc", ""), ("kitten", "sitting"), ("jeugdhulp", "jeugdzorg"),
             ("ab", "ba"), ("a" * 70, "a" * 68 + "bb")]
    for _ in range(3000):
        pairs.append(("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))),
                      "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))))
    for a, b in pairs:
        assert edit_distance(a, b) == _table_distance(a, b), (a, b)


def _typos(words: list[str], rng: random.Random, count: int) -> list[str]:
    """Words with one or two random edits after the first letter (as people mistype), and some that are far off."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    out = []
    for _ in range(count):
        word = list(rng.choice(words))
        for _ in range(rng.choice((1, 1, 2, 3))):
            at = rng.randint(1, max(1, len(word)))
            kind = rng.choice(("insert", "delete", "replace", "swap"))
            if kind == "insert":
                word.insert(at, rng.choice(letters))
            elif kind == "delete" and len(word) > 2 and at < len(word):
                del word[at]
            elif kind == "replace" and at < len(word):
                word[at] = rng.choice(letters)
            elif kind == "swap" and at + 1 < len(word):
                word[at], word[at + 1] = word[at + 1], word[at]
        out.append("".join(word))
    return [*out, "xyzzyq", "blokker", "mailbox", "organisations", "geven", "a", "jeugdhulpp"]


@pytest.fixture(scope="module")
def single_segment(shared_site, tmp_path_factory):
    factory = shared_site.registry["dbsession_factory"]
    with shared_site.session() as session:
        docs = list(all_documents(session))
    service = SearchService(str(tmp_path_factory.mktemp("spelling")), factory)
    service.rebuild_from(iter(docs))
    service.start(rebuild_if_needed=False)
    yield service
    service.close()


def test_suggestions_are_whooshs_on_the_real_content(single_segment):
    words = SpellingWords()
    with single_segment.keeper.reading() as view:
        searcher = view.searcher
        assert len(searcher.leaf_searchers()) == 1
        vocabulary = [term_text(t) for t in searcher.lexicon(SPELL_FIELD)]
        assert len(vocabulary) > 500
        corrector = searcher.corrector(SPELL_FIELD)
        compared = found = 0
        for typo in _typos(vocabulary, random.Random(11), 400):
            for maxdist in (1, 2):
                ours = words.suggest(searcher, typo, limit=5, maxdist=maxdist)
                assert ours == corrector.suggest(typo, limit=5, maxdist=maxdist, prefix=1), (typo, maxdist)
                compared += 1
                found += bool(ours)
        assert compared == 2 * 407 and found > 300  # most typos have a suggestion, some do not


def test_bedoelde_u_on_the_search_page(testapp):
    page = testapp.get("/zoeken", params={"q": "koesterkals"})
    assert "koesterklas" in page.text.lower()
    assert "Bedoelde u" in page.text or "U ziet de resultaten voor" in page.text
