"""Spelling suggestions ("Bedoelde u"): indexed words of the "spell" field close to a word nobody indexed.

Whoosh's corrector walks a Levenshtein automaton over the term dictionary on disk: building the automaton in
Python and seeking through the term file cost some 5 ms per unknown word, most of a no-results page. Here each
segment's spelling words are held in memory, grouped by first letter and length (segments never change, so this
is done once per segment), and only the words that could be within the distance are compared, with a bit-parallel
edit distance. The suggestions are those of Whoosh's ``ReaderCorrector.suggest(word, limit, maxdist, prefix=1)``
on a single segment: the same candidates (first letter equal, Levenshtein distance at most ``maxdist``), ranked the
same way (tests/search/test_spelling.py compares them).
"""

from __future__ import annotations

import heapq
import threading

from portal.search.masks import lasting_segment_key, term_text

SPELL_FIELD = "spell"


def edit_distance(word: str, other: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions), Myers/Hyyrö bit-parallel: a few integer
    operations per character of ``other`` instead of a row of the distance table."""
    if not word:
        return len(other)
    if not other:
        return len(word)
    peq: dict[str, int] = {}
    for i, ch in enumerate(word):
        peq[ch] = peq.get(ch, 0) | (1 << i)
    size = len(word)
    full = (1 << size) - 1
    top = 1 << (size - 1)
    pv, mv, score = full, 0, size
    for ch in other:
        eq = peq.get(ch, 0)
        xv = eq | mv
        xh = (((eq & pv) + pv) ^ pv) | eq
        ph = mv | (~(xh | pv) & full)
        mh = pv & xh
        if ph & top:
            score += 1
        elif mh & top:
            score -= 1
        ph = ((ph << 1) | 1) & full
        mh = (mh << 1) & full
        pv = mh | (~(xv | ph) & full)
        mv = ph & xv
    return score


class SpellingWords:
    """Per segment: its spelling words by (first letter, length)."""

    def __init__(self):
        self._segments: dict[str, dict[tuple[str, int], list[str]]] = {}
        self._lock = threading.Lock()

    def _table(self, reader) -> dict[tuple[str, int], list[str]]:
        key = lasting_segment_key(reader)  # None: a reader without a segment (in memory) is not kept
        table = self._segments.get(key) if key is not None else None
        if table is None:
            table = {}
            if SPELL_FIELD in reader.indexed_field_names():
                for term in reader.lexicon(SPELL_FIELD):
                    word = term_text(term)
                    if word:
                        table.setdefault((word[0], len(word)), []).append(word)
            if key is not None:
                with self._lock:
                    self._segments[key] = table
        return table

    def within(self, searcher, word: str, maxdist: int) -> set[str]:
        """Spelling words starting with ``word``'s first letter within ``maxdist`` edits of it."""
        found: set[str] = set()
        if not word:
            return found
        first = word[0]
        for sub, _offset in searcher.leaf_searchers():
            table = self._table(sub.reader())
            for length in range(max(1, len(word) - maxdist), len(word) + maxdist + 1):
                for other in table.get((first, length), ()):
                    if other not in found and edit_distance(word, other) <= maxdist:
                        found.add(other)
        return found

    def suggest(self, searcher, word: str, limit: int, maxdist: int) -> list[str]:
        """As Whoosh's ``searcher.corrector("spell").suggest(word, limit, maxdist, prefix=1)``: the ``limit`` most
        frequent candidates (score as Whoosh computes it; ties to the later word), in order of score, then word."""
        scored = []
        for other in self.within(searcher, word, maxdist):
            frequency = searcher.frequency(SPELL_FIELD, other) or 1
            scored.append((0 - (maxdist + (1.0 / frequency * 0.5)), other))
        best = heapq.nlargest(limit, scored)
        best.sort(key=lambda item: (0 - item[0], item[1]))
        return [other for _score, other in best]

    def forget_segments_except(self, live: set[str]) -> None:
        with self._lock:
            for key in [k for k in self._segments if k not in live]:
                del self._segments[key]
