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

_WORD_RE = re.compile(WORD_PATTERN, re.UNICODE)
#: Distinct words whose terms are remembered before the memo starts over.
MEMO_SIZE = 200_000


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


def mark(excerpt: str, terms, analyzer) -> str | None:
    """``excerpt`` as HTML with every word that has one of ``terms`` in <mark>; None when no word matches."""
    memo = _memo.terms_for(analyzer)
    out: list[str] = []
    index = 0
    for match in _WORD_RE.finditer(excerpt):
        raw = match.group()
        found = memo.get(raw)
        if found is None:
            found = _word_terms(memo, analyzer, raw)
        if found.isdisjoint(terms):
            continue
        start = match.start()
        if start > index:
            out.append(escape(excerpt[index:start], quote=False))
        out.append(f"<mark>{escape(raw, quote=False)}</mark>")
        index = match.end()
    if not out:
        return None
    out.append(escape(excerpt[index:], quote=False))
    return "".join(out)


def snippets(text: str, terms: set[str], analyzer, limit: int = 2) -> list[str]:
    """Up to ``limit`` HTML snippets of ``text`` with the matched words in <mark> (everything else escaped).

    Analysing a whole body per hit is slow, so we first look for the places where a term can occur (its first
    letters in the folded text) and mark only windows around them.
    """
    if limit <= 0:
        return []
    folded = fold(text)
    if len(folded) != len(text):
        folded = text.lower()
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
