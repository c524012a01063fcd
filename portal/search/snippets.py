"""Search-result snippets: short excerpts of a stored text with the matched words in <mark>.

A word is marked when one of its index terms (its stem or, for a compound, the stem of a part) is a term of the
query: exactly what Whoosh's ``highlight.highlight`` with the index analyzer marked. Whoosh ran the analyzer's
token pipeline over every excerpt (a Token object per term, a fragment, a scorer, a formatter), a third of the CPU
of a results page; here an excerpt is split into words with the analyzer's own word pattern, and the words that
have a query term are found with set operations on an index of the words seen so far (term -> words).
tests/search/test_snippets.py compares the two over every stored text of the real content.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from html import escape

from portal.search.analysis import WORD_PATTERN, fold

SNIPPET_WINDOW = 260

#: Splits a text into the words of the analyzer's tokenizer and the text between them.
_SPLIT_RE = re.compile(f"({WORD_PATTERN})", re.UNICODE)
#: Distinct words the word index learns before it starts over.
WORD_INDEX_SIZE = 100_000
#: Characters of folded text remembered (two copies of each text are held: as stored and folded).
FOLDED_MEMO_CHARS = 2_000_000
#: Characters of text whose snippets are remembered (counted once per query and text).
SNIPPET_MEMO_CHARS = 8_000_000


class _WordIndex:
    """The words seen in excerpts so far and, per index term, those of them that have the term.

    Which words of an excerpt match is then a few set intersections (words & words with a query term) instead of
    a look-up per word. The analyzer decides a word's terms from the word alone (DutchAnalyzer memoises per word
    too), so a word analysed on its own has the terms it has inside any text. Readers need no lock: a word is
    added to ``known`` only after its terms are filed, and set operations on strings run whole under the GIL.
    """

    def __init__(self, analyzer):
        self.analyzer = analyzer
        self.lexicon = getattr(analyzer, "lexicon", None)
        self.version = getattr(self.lexicon, "version", None)
        self.known: set[str] = set()
        self.words_with: dict[str, set[str]] = {}
        self._lock = threading.Lock()

    def current_for(self, analyzer) -> bool:
        """Whether this index still answers for ``analyzer`` (same analyzer, its lexicon unchanged)."""
        lexicon = getattr(analyzer, "lexicon", None)
        return (
            analyzer is self.analyzer and lexicon is self.lexicon and getattr(lexicon, "version", None) == self.version
        )

    def learn(self, words: set[str]) -> None:
        terms_of = getattr(self.analyzer, "word_terms", None) or self._terms_by_tokens
        with self._lock:
            for raw in words - self.known:
                for term in terms_of(raw):
                    self.words_with.setdefault(term, set()).add(raw)
                self.known.add(raw)

    def _terms_by_tokens(self, raw: str) -> set[str]:
        """A word's terms from any Whoosh analyzer (DutchAnalyzer.word_terms gives the same without tokens)."""
        return {t.text for t in self.analyzer(raw, mode="index", removestops=False)}


_word_index: _WordIndex | None = None
_word_index_lock = threading.Lock()


def _index_for(analyzer) -> _WordIndex:
    """The word index of ``analyzer``: a new index, a changed lexicon or a full index starts a new one."""
    global _word_index
    index = _word_index
    if index is None or not index.current_for(analyzer) or len(index.known) >= WORD_INDEX_SIZE:
        with _word_index_lock:
            index = _word_index
            if index is None or not index.current_for(analyzer) or len(index.known) >= WORD_INDEX_SIZE:
                index = _word_index = _WordIndex(analyzer)
    return index


class _TextMemo:
    """Values computed from texts, by a key that holds the text, within a budget of ``limit`` characters of text
    (beyond it, it starts over). ``owner``: what the values are valid for; another owner starts it over too."""

    def __init__(self, limit: int):
        self.limit = limit
        self._owner: object = None
        self._values: dict = {}
        self._chars = 0

    def get(self, key, text: str, compute, owner: object = None):
        if owner is not self._owner:
            self._owner, self._values, self._chars = owner, {}, 0
        value = self._values.get(key)
        if value is None:
            value = compute()
            if self._chars + len(text) > self.limit:
                self._values, self._chars = {}, 0
            self._values[key] = value
            self._chars += len(text)
        return value


def _folded(text: str) -> str:
    folded = fold(text)
    return folded if len(folded) == len(text) else text.lower()  # positions must stay those of the text


#: Folded copies of texts with accents: folding a body still costs some 20-30 µs, and the same summaries and
#: bodies come back in result after result.
_folded_memo = _TextMemo(FOLDED_MEMO_CHARS)


def _probe_text(text: str) -> str:
    """``text`` folded (lowercase, no accents) where folding keeps every character's position, else lowercased."""
    if text.isascii():
        return text.lower()
    return _folded_memo.get(text, text, lambda: _folded(text))


def learn_words(analyzer, words) -> int:
    """Teach the word index of ``analyzer`` these words (as they appear in texts) ahead of the first snippets that
    show them: the search warm-up hands it the most frequent words. Returns how many words it knows."""
    index = _index_for(analyzer)
    index.learn(set(words))
    return len(index.known)


def mark(excerpt: str, terms, analyzer) -> str | None:
    """``excerpt`` as HTML with every word that has one of ``terms`` in <mark>; None when no word matches."""
    index = _index_for(analyzer)
    # [text, word, text, word, ..., text]: the words exactly as the analyzer's tokenizer finds them.
    parts = _SPLIT_RE.split(excerpt)
    words = set(parts[1::2])
    if not words <= index.known:
        index.learn(words)
    words_with = index.words_with
    matched: set[str] = set()
    for term in terms:
        having = words_with.get(term)
        if having:
            matched |= words & having
    if not matched:
        return None
    for i in range(1, len(parts), 2):
        if parts[i] in matched:
            # A word is letters, digits, hyphens and apostrophes: nothing in it needs escaping.
            parts[i] = f"<mark>{parts[i]}</mark>"
    if "&" in excerpt or "<" in excerpt or ">" in excerpt:
        for i in range(0, len(parts), 2):
            parts[i] = escape(parts[i], quote=False)
    return "".join(parts)


def excerpts(text: str, terms) -> Iterator[tuple[str, bool, bool]]:
    """(excerpt, cut before, cut after) of the windows of ``text`` around the places where a term can occur (its
    first letters in the folded text), in text order, not overlapping, whitespace collapsed. Analysing a whole body
    per hit is slow: only these windows are marked."""
    folded = _probe_text(text)
    probes = {t[: max(4, len(t) - 2)] for t in terms if len(t) >= 2}
    positions = sorted(p for p in (folded.find(probe) for probe in probes) if p >= 0)
    covered_until = -1
    for pos in positions:
        if pos < covered_until:
            continue
        start = max(0, pos - SNIPPET_WINDOW // 3)
        if start:
            space = text.find(" ", start)
            start = space + 1 if 0 <= space < pos else start
        end = min(len(text), start + SNIPPET_WINDOW)
        if end < len(text):
            space = text.rfind(" ", pos, end)
            end = space if space > pos else end
        covered_until = end
        yield " ".join(text[start:end].split()), start > 0, end < len(text)


#: Snippets per (text, terms, limit), valid for one word index (one analyzer and lexicon version, see _index_for): a
#: popular query, its next page, its filters and the API show the same texts for the same words, and marking them is
#: a fifth of a results page (the texts themselves are the stored documents', shared).
_snippet_memo = _TextMemo(SNIPPET_MEMO_CHARS)


def snippets(text: str, terms: set[str], analyzer, limit: int = 2) -> list[str]:
    """Up to ``limit`` HTML snippets of ``text`` with the matched words in <mark> (everything else escaped)."""
    if limit <= 0:
        return []
    found = _snippet_memo.get((text, frozenset(terms), limit), text,
                              lambda: tuple(_snippets(text, terms, analyzer, limit)), owner=_index_for(analyzer))
    return list(found)


def _snippets(text: str, terms: set[str], analyzer, limit: int) -> list[str]:
    out: list[str] = []
    for excerpt, cut_before, cut_after in excerpts(text, terms):
        marked = mark(excerpt, terms, analyzer)
        if marked is not None:
            out.append(("… " if cut_before else "") + marked + (" …" if cut_after else ""))
            if len(out) >= limit:
                break
    return out
