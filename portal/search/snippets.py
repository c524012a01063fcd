"""Search-result snippets: short excerpts of a stored text with the matched words in <mark>.

A word is marked when one of its index terms (its stem or, for a compound, the stem of a part) is a term of the
query: exactly what Whoosh's ``highlight.highlight`` with the index analyzer marked. Whoosh ran the analyzer's
token pipeline over every excerpt (a Token object per term, a fragment, a scorer, a formatter), a third of the CPU
of a results page; here each word of the excerpt is found with the analyzer's own word pattern and its terms are
remembered per word, so a page costs a few dictionary lookups per word. tests/search/test_snippets.py compares
the two over every stored text of the real content.
"""

from __future__ import annotations

import re
import threading
from html import escape

from portal.search.analysis import WORD_PATTERN, fold

SNIPPET_WINDOW = 260

#: Splits a text into the words of the analyzer's tokenizer and the text between them.
_SPLIT_RE = re.compile(f"({WORD_PATTERN})", re.UNICODE)
#: Distinct words whose terms are remembered before the memo starts over.
MEMO_SIZE = 200_000
#: Characters of folded text remembered (two copies of each text are held: as stored and folded).
FOLDED_MEMO_CHARS = 2_000_000


class _TermsMemo:
    """Raw word -> the terms the index analyzer gives it, for one analyzer and one version of its lexicon.

    The analyzer decides a word's terms from the word alone (DutchAnalyzer memoises on the raw word too), so
    analysing a word on its own gives the terms it has inside any text. A new index brings a new analyzer, and
    a lexicon that learns words can split compounds differently: either starts a new memo.
    """

    def __init__(self):
        self._state: tuple = (None, None, None, {})
        self._lock = threading.Lock()

    def terms_for(self, analyzer) -> dict[str, frozenset[str]]:
        lexicon = getattr(analyzer, "lexicon", None)
        version = getattr(lexicon, "version", None)
        state = self._state
        if state[0] is not analyzer or state[1] is not lexicon or state[2] != version:
            with self._lock:
                state = self._state
                if state[0] is not analyzer or state[1] is not lexicon or state[2] != version:
                    state = self._state = (analyzer, lexicon, version, {})
        return state[3]


_memo = _TermsMemo()


def _word_terms(memo: dict, analyzer, raw: str) -> frozenset[str]:
    if len(memo) >= MEMO_SIZE:
        memo.clear()
    terms = memo[raw] = frozenset(t.text for t in analyzer(raw, mode="index", removestops=False))
    return terms


class _FoldedMemo:
    """Folded copies of texts with accents: folding one costs 30-80 µs (a Python call per accented run), and the
    same summaries and bodies come back in result after result. Holds at most ``limit`` characters of text."""

    def __init__(self, limit: int):
        self.limit = limit
        self._folded: dict[str, str] = {}
        self._chars = 0

    def get(self, text: str) -> str:
        folded = self._folded.get(text)
        if folded is None:
            folded = fold(text)
            if len(folded) != len(text):  # positions must stay those of the text
                folded = text.lower()
            if self._chars + len(text) > self.limit:
                self._folded = {}
                self._chars = 0
            self._folded[text] = folded
            self._chars += len(text)
        return folded


_folded_memo = _FoldedMemo(FOLDED_MEMO_CHARS)


def _probe_text(text: str) -> str:
    """``text`` folded (lowercase, no accents) where folding keeps every character's position, else lowercased."""
    if text.isascii():
        return text.lower()
    return _folded_memo.get(text)


def mark(excerpt: str, terms, analyzer) -> str | None:
    """``excerpt`` as HTML with every word that has one of ``terms`` in <mark>; None when no word matches."""
    memo = _memo.terms_for(analyzer)
    # [text, word, text, word, ..., text]: the words exactly as the analyzer's tokenizer finds them.
    parts = _SPLIT_RE.split(excerpt)
    matched = False
    for i in range(1, len(parts), 2):
        raw = parts[i]
        found = memo.get(raw)
        if found is None:
            found = _word_terms(memo, analyzer, raw)
        if not found.isdisjoint(terms):
            # A word is letters, digits, hyphens and apostrophes: nothing in it needs escaping.
            parts[i] = f"<mark>{raw}</mark>"
            matched = True
    if not matched:
        return None
    if "&" in excerpt or "<" in excerpt or ">" in excerpt:
        for i in range(0, len(parts), 2):
            parts[i] = escape(parts[i], quote=False)
    return "".join(parts)


def snippets(text: str, terms: set[str], analyzer, limit: int = 2) -> list[str]:
    """Up to ``limit`` HTML snippets of ``text`` with the matched words in <mark> (everything else escaped).

    Analysing a whole body per hit is slow, so we first look for the places where a term can occur (its first
    letters in the folded text) and mark only windows around them.
    """
    if limit <= 0:
        return []
    folded = _probe_text(text)
    probes = {t[: max(4, len(t) - 2)] for t in terms if len(t) >= 2}
    positions = sorted(p for p in (folded.find(probe) for probe in probes) if p >= 0)
    out: list[str] = []
    covered_until = -1
    for pos in positions:
        if pos < covered_until or len(out) >= limit:
            continue
        start = max(0, pos - SNIPPET_WINDOW // 3)
        if start:
            space = text.find(" ", start)
            start = space + 1 if 0 <= space < pos else start
        end = min(len(text), start + SNIPPET_WINDOW)
        if end < len(text):
            space = text.rfind(" ", pos, end)
            end = space if space > pos else end
        excerpt = " ".join(text[start:end].split())
        marked = mark(excerpt, terms, analyzer)
        covered_until = end
        if marked is None:
            continue
        out.append(("… " if start else "") + marked + (" …" if end < len(text) else ""))
    return out
