"""Related examples ("more like this"), computed by whoever writes the index and stored with its generation.

An example's list holds the examples most similar to it: its *key terms* (the words that characterise it: frequent
in it, rare in the collection, tf * idf, at most ``KEY_TERMS``) are scored against every other example with BM25 on
the "all" field, each weighted by its key-term weight, plus ``THEME_BONUS`` per shared theme. Of the best
``CANDIDATES``, examples from other regions come first (a visitor learns more from elsewhere), and
``RELATED_KEPT`` are kept: pages show up to 5, and some may be hidden later.

Cheap enough to run for the whole index at every rebuild (about 11 s of CPU at 10,000 generated examples, where
a Whoosh search per example took more than 8 minutes; ``bench/related.py``):

- key terms come from the index itself, one pass over the "all" and "title" postings, instead of analysing every
  text again (``key_terms_from_index``): the place, theme and meta texts (in "all" too) are taken off and the title
  counted twice, so they are exactly the key terms of ``key_text`` (title twice, summary, body), which the writer
  analyses for an example it just wrote;
- scoring runs on bit planes over the examples (bit n = example n): each key term's BM25 impact, quantised, as
  8 bitsets; a list is a few dozen big-integer additions and a selection of the best bits
  (``ExampleSpace.related``), never Python work per matching document.

A rebuild stores every list in the new generation directory before it goes live (``related_store.RELATED_FILE``,
written atomically, with the index state (TOC generation) it was computed from, and each example's key terms, so
that the index writer, after applying a change, recomputes only the lists the change touches: ``update``). Every
process reads the file when it is replaced (``related_store.RelatedLists``) and only resolves the kept slugs at view
time against its current searcher, skipping examples that are gone or hidden since (``related_store.resolve_kept``):
a list read before or after the searcher changed may be a moment behind, but never shows a withdrawn example.
"""

from __future__ import annotations

import heapq
import math
from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterable
from itertools import compress, repeat
from operator import add, le, mul, truediv

from portal.search import bitplanes
from portal.search.masks import posting_blocks, term_text
from portal.search.ranking import K1, B  # the BM25 parameters of the ranking
from portal.search.related_store import RelatedState
from portal.search.schema import ALL_REPEAT

#: How many related examples are kept per example (pages show up to 5; some may be hidden later).
RELATED_KEPT = 8
#: The best this many are considered; of those, examples from other regions come first.
CANDIDATES = RELATED_KEPT * 4 + 1
#: Key terms per example.
KEY_TERMS = 15
#: Score added per theme shared with the example (BM25 units).
THEME_BONUS = 3.0
#: A key term is a word of 3+ letters, not a number, in fewer than this share of the documents.
MAX_DOC_SHARE = 0.5
#: Impacts are quantised in steps of QUANTUM (8 bits: BM25 impacts stay below ~25); key-term weights relative to
#: the example's strongest one, in WEIGHT_LEVELS steps.
QUANTUM = 0.1
WEIGHT_LEVELS = 15
#: Memory for the per-term bit planes during a pass (a plane of 10,000 examples is 1.25 kB, 8 per term).
PLANES_MB = 256



# -- the examples of one searcher ---------------------------------------------------------------------------


class ExampleSpace:
    """The live examples of one searcher numbered 0..E-1 (in document order), with what scoring needs."""

    def __init__(self, searcher, planes_mb: int = PLANES_MB):
        self.searcher = searcher
        self._planes_budget = planes_mb * 1024 * 1024
        self.leaves = []  # (reader, offset, local document -> example number or -1)
        self.docnums: list[int] = []
        for sub, offset in searcher.leaf_searchers():
            reader = sub.reader()
            local = array("i", [-1]) * reader.doc_count_all()
            for ids in _ids(reader, "type", "voorbeeld"):
                for doc in ids:
                    local[doc] = len(self.docnums)
                    self.docnums.append(offset + doc)
            self.leaves.append((reader, offset, local))
        self.size = len(self.docnums)
        self.everything = (1 << self.size) - 1
        self.doc_count = max(1, searcher.doc_count())
        self.doc_count_all = max(1, searcher.doc_count_all())
        avg = searcher.avg_field_length("all", 1.0) or 1.0
        #: K1 * (1 - B + B * length / average) per example: the length part of BM25.
        self.norm = array("d")
        for reader, _offset, local in self.leaves:
            for doc, n in enumerate(local):
                if n >= 0:
                    length = reader.doc_field_length(doc, "all", 0) or 0
                    self.norm.append(K1 * (1 - B + B * length / avg))
        self.themes = self._values("thema")
        self.regions = self._values("regio")
        self._slugs: dict[int, str] = {}
        self._df: dict[str, int] = {}
        self._planes: dict[str, list[int]] = {}
        self._planes_bytes = 0
        self._postings: dict[str, tuple[array, array]] = {}

    def keep_postings(self, term: str, docs: array, tfs: array) -> None:
        """The examples' postings of ``term`` in one segment (segments in order), read by a whole pass: planes()
        need not decode them again."""
        kept = self._postings.get(term)
        if kept is None:
            self._postings[term] = (docs, tfs)
        else:
            kept[0].extend(docs)
            kept[1].extend(tfs)

    def drop_postings(self, term: str) -> None:
        self._postings.pop(term, None)

    def _values(self, fieldname: str) -> dict[str, int]:
        """{value: bitset of the examples having it} for a keyword field."""
        out: dict[str, int] = {}
        for reader, _offset, local in self.leaves:
            if fieldname not in reader.indexed_field_names():
                continue
            for text in reader.lexicon(fieldname):
                value = term_text(text)
                mask = 0
                for ids in _ids(reader, fieldname, text):
                    for doc in ids:
                        if local[doc] >= 0:
                            mask |= 1 << local[doc]
                if mask:
                    out[value] = out.get(value, 0) | mask
        return out

    def number(self, slug: str) -> int | None:
        docnum = self.searcher.document_number(key=f"voorbeeld:{slug}")
        if docnum is None:
            return None
        for reader, offset, local in self.leaves:
            if offset <= docnum < offset + reader.doc_count_all():
                n = local[docnum - offset]
                return n if n >= 0 else None
        return None

    def slug(self, n: int) -> str:
        slug = self._slugs.get(n)
        if slug is None:
            slug = self._slugs[n] = self.searcher.stored_fields(self.docnums[n])["slug"]
        return slug

    def df(self, term: str) -> int:
        found = self._df.get(term)
        if found is None:
            found = self._df[term] = self.searcher.doc_frequency("all", term)
        return found

    def key_weights(self, key_terms: Iterable[tuple[str, int]]) -> list[tuple[str, float]]:
        """(term, weight) of an example's key terms as the collection is now, strongest first."""
        out = []
        for term, tf in key_terms:
            df = self.df(term)
            if 0 < df < self.doc_count * MAX_DOC_SHARE and tf > 0:
                out.append((term, (1 + math.log(tf)) * math.log(self.doc_count / df)))
        out.sort(key=lambda kv: (-kv[1], kv[0]))
        return out[:KEY_TERMS]

    def key_terms_of_text(self, text: str) -> list[tuple[str, int]]:
        """Key terms (term, tf) of an example from its text (``key_text``): for an example that was just written,
        or one whose list an index without stored lists computes on view."""
        counts = Counter(t.text for t in self.searcher.schema["all"].analyzer(text, mode="index"))
        weights = dict(self.key_weights((term, tf) for term, tf in counts.items() if _eligible(term)))
        return sorted(((term, counts[term]) for term in weights), key=lambda kv: (-weights[kv[0]], kv[0]))

    def key_terms_of(self, n: int) -> list[tuple[str, int]]:
        """Key terms of example ``n`` from its stored text."""
        return self.key_terms_of_text(key_text(self.searcher.stored_fields(self.docnums[n])))

    def planes(self, term: str) -> list[int]:
        """The term's BM25 impact on "all" per example, quantised, as 8 bit planes (cached for this space)."""
        found = self._planes.get(term)
        if found is not None:
            return found
        docs, tfs = self._postings.get(term) or ([], [])
        if not docs:
            for reader, _offset, local in self.leaves:
                numbers, weights = _example_postings(reader, local, term)
                docs.extend(numbers)
                tfs.extend(weights)
        # BM25 with Whoosh's idf, as the ranking; level = impact / QUANTUM, 1..255 (any match counts), at C speed.
        idf = math.log(self.doc_count_all / (self.df(term) + 1)) + 1
        scale = idf * (K1 + 1) / QUANTUM
        impacts = map(mul, repeat(scale), map(truediv, tfs, map(add, tfs, map(self.norm.__getitem__, docs))))
        found = _bit_planes(docs, map(min, repeat(255), map(max, repeat(1), map(round, impacts))), self.size)
        size = sum(p.bit_length() for p in found) // 8 + 200
        if self._planes_bytes + size > self._planes_budget:
            self._planes.clear()
            self._planes_bytes = 0
        self._planes[term] = found
        self._planes_bytes += size
        return found

    def related(self, n: int, key_terms: Iterable[tuple[str, int]]) -> tuple[str, ...]:
        """The kept list of example ``n`` (its slugs), from its key terms."""
        weights = self.key_weights(key_terms)
        own_themes = [theme for theme, mask in self.themes.items() if mask >> n & 1]
        if not weights and not own_themes:
            return ()
        strongest = weights[0][1] if weights else 1.0
        unit = strongest / WEIGHT_LEVELS  # one weight level, in key-term weight units
        total: list[int] = []
        for term, weight in weights:
            bitplanes.add_times(total, self.planes(term), max(1, round(weight / unit)))
        bonus = max(1, round(THEME_BONUS / (QUANTUM * unit)))
        for theme in own_themes:
            bitplanes.add_times(total, [self.themes[theme]], bonus)
        matched = 0
        for plane in total:
            matched |= plane
        best = _best(total, matched & self.everything & ~(1 << n), CANDIDATES)
        own_regions = {region for region, mask in self.regions.items() if mask >> n & 1}
        same = 0
        for region in own_regions:
            same |= self.regions[region]
        # Of the best, examples from other regions first; within each, best first.
        best.sort(key=lambda sd: (bool(same >> sd[1] & 1), -sd[0], sd[1]))
        return tuple(self.slug(other) for _score, other in best[:RELATED_KEPT])


#: A local document's example number is -1 when it is not an example.
_IS_EXAMPLE = (-1).__lt__


def _blocks(reader, fieldname: str, text, weights: bool = False):
    """(ids, weights or None) of a term's postings in one segment, a block at a time (none when it lacks the term)."""
    try:
        matcher = reader.postings(fieldname, text)
    except Exception:  # not in this segment
        return
    yield from posting_blocks(matcher, weights=weights)


def _ids(reader, fieldname: str, text):
    for ids, _weights in _blocks(reader, fieldname, text):
        yield ids


def _example_postings(reader, local, text):
    """(example numbers, tfs) of a term's postings in "all" of one segment, examples only (``local``: local
    document -> example number or -1), picked at C speed."""
    numbers, weights = [], []
    for ids, block in _blocks(reader, "all", text, weights=True):
        numbers.extend(map(local.__getitem__, ids))
        weights.extend(block)
    examples = list(map(_IS_EXAMPLE, numbers))
    return compress(numbers, examples), compress(weights, examples)


def _eligible(term: str) -> bool:
    # A prepared phrase (schema.PhraseText) holds a space: its words count already.
    return len(term) > 2 and not term.isdigit() and " " not in term


def _bit_planes(docs, levels, size: int) -> list[int]:
    """The bit planes of per-document levels (0..255), without the empty top planes (fewer additions)."""
    if not docs:
        return []
    planes = bitplanes.pack(docs, levels, size)
    while planes and not planes[-1]:
        planes.pop()
    return planes


def _best(total: list[int], mask: int, count: int) -> list[tuple[int, int]]:
    """(score, document) of the ``count`` documents of ``mask`` with the highest sums, best first (ties: lowest
    document first)."""
    chosen, tied, need = bitplanes.split_top(total, mask, count)
    docs = bitplanes.lowest_bits(chosen, count)
    if need > 0:
        docs += bitplanes.lowest_bits(tied, need)  # equal sums: the lowest numbers
    scored = list(zip(bitplanes.sums_of(total, docs), docs, strict=True))
    scored.sort(key=lambda sd: (-sd[0], sd[1]))
    return scored


# -- the whole index ----------------------------------------------------------------------------------------------


def left_out(document: dict) -> list[tuple[str, int]]:
    """(text, times) of what an example document writes into "all" besides its key text (key_text): place,
    themes and meta, as often as "all" holds them (schema.ALL_REPEAT). Taken before the document is indexed."""
    return [(str(document.get(name) or ""), ALL_REPEAT[name]) for name in ("place", "themes", "meta")
            if document.get(name)]


def key_terms_from_index(space: ExampleSpace, left_out_texts: dict[str, list[tuple[str, int]]]
                         ) -> list[list[tuple[str, int]]]:
    """The key terms (term, tf) of every example, from one pass over the "all" and "title" postings.

    "all" holds title, place, themes, summary, meta and body (schema.ALL_REPEAT); the key terms come from
    ``key_text``: the texts of ``left_out_texts`` ({slug: left_out(document)}) are analysed (once per distinct text)
    and taken off, the title's postings are added once more.
    """
    analyzer = space.searcher.schema["all"].analyzer
    analysed: dict[str, Counter] = {}

    def counts(text: str) -> Counter:
        found = analysed.get(text)
        if found is None:
            found = analysed[text] = Counter(t.text for t in analyzer(text, mode="index"))
        return found

    title_most: dict[str, float] = {}  # a term's highest tf in a title
    # {term: {example: tf correction}}: the title once more, the left-out texts off.
    corrections: dict[str, dict[int, float]] = {}
    for n in range(space.size):
        for text, times in left_out_texts.get(space.slug(n), ()):
            for term, found in counts(text).items():
                by_doc = corrections.setdefault(term, {})
                by_doc[n] = by_doc.get(n, 0.0) - times * found
    analysed.clear()
    for reader, _offset, local in space.leaves:
        if "title" not in reader.indexed_field_names():
            continue
        for text in reader.lexicon("title"):
            term = term_text(text)
            if not _eligible(term):
                continue
            by_doc = corrections.setdefault(term, {})
            title_most[term] = max(title_most.get(term, 0.0), reader.term_info("title", text).max_weight())
            for ids, weights in posting_blocks(reader.postings("title", text), weights=True):
                for doc, tf in zip(ids, weights, strict=True):
                    n = local[doc]
                    if n >= 0:
                        by_doc[n] = by_doc.get(n, 0.0) + tf

    limit = space.doc_count * MAX_DOC_SHARE
    frequency: dict[str, int] = {}
    leaves = [(reader, local) for reader, _offset, local in space.leaves if "all" in reader.indexed_field_names()]
    for reader, _local in leaves:
        for text, info in reader.iter_field("all"):
            term = term_text(text)
            frequency[term] = frequency.get(term, 0) + info.doc_frequency()
    # Per example a min-heap of its KEY_TERMS strongest (weight, rank, term, tf) so far (rank: minus the term's
    # alphabetical position, so that equal weights keep the first terms, as key_weights does, whatever the order
    # of the pass), and the weakest weight of each heap in ``weakest``: the postings that reach it are picked at C
    # speed (maps and compress), so Python runs only for the few that enter a heap. The examples' postings are
    # kept for the scoring (ExampleSpace.planes): decoding them is the larger part of the pass, and is done once.
    rank = {term: -n for n, term in enumerate(sorted(frequency))}
    heaps = [[(0.0, -len(rank) - 1, "", 0)] * KEY_TERMS for _ in range(space.size)]
    weakest = [0.0] * space.size
    log_n = math.log(space.doc_count)
    replace = heapq.heapreplace
    # Rare terms first: heaps fill with strong terms early, and a term whose best possible weight (its highest tf
    # in the segment, title included) is below every example's weakest is not even decoded (most postings are
    # those of common words); planes() decodes it if it is needed after all.
    skipped: set[str] = set()
    for reader, local in leaves:
        terms = []
        for text, info in reader.iter_field("all"):
            term = term_text(text)
            df = frequency.get(term, 0)
            if _eligible(term) and 0 < df < limit:
                terms.append((df, term, text, info.max_weight()))
        terms.sort()
        floor = 0.0
        for k, (df, term, text, most) in enumerate(terms):
            if k % 64 == 0:
                floor = min(weakest, default=0.0)
            idf = log_n - math.log(df)
            if (1 + math.log(most + title_most.get(term, 0.0))) * idf < floor:
                skipped.add(term)
                continue
            numbers, weights = _example_postings(reader, local, text)
            docs, tfs = array("i", numbers), array("f", weights)
            space.keep_postings(term, docs, tfs)
            order = rank[term]
            fixed = []
            for n, fix in corrections.get(term, {}).items():  # an infinite bar on the C path, then corrected
                at = bisect_left(docs, n)
                if at < len(docs) and docs[at] == n:
                    fixed.append((n, weakest[n], tfs[at] + fix))
                    weakest[n] = math.inf
            weight_of = {tf: (1 + math.log(tf)) * idf for tf in set(tfs) if tf >= 1}
            for n, tf in compress(zip(docs, tfs, strict=True), map(le, map(weakest.__getitem__, docs),
                                                                   map(weight_of.get, tfs, repeat(-1.0)))):
                heap = heaps[n]
                entry = (weight_of[tf], order, term, int(tf))
                if entry > heap[0]:
                    replace(heap, entry)
                    weakest[n] = heap[0][0]
            for n, bar, tf in fixed:
                weakest[n] = bar
                heap = heaps[n]
                entry = ((1 + math.log(tf)) * idf if tf >= 1 else 0.0, order, term, int(tf))
                if tf >= 1 and entry > heap[0]:
                    replace(heap, entry)
                    weakest[n] = heap[0][0]
    for term in skipped:  # in part only: planes() decodes all of it
        space.drop_postings(term)
    return [[(term, tf) for _w, _rank, term, tf in sorted(heap, reverse=True) if tf] for heap in heaps]


def compute_all(searcher, left_out_texts: dict[str, list[tuple[str, int]]]) -> RelatedState:
    """Every example's list and key terms (a rebuild); ``left_out_texts``: {slug: left_out(document)}."""
    space = ExampleSpace(searcher)
    key_terms = key_terms_from_index(space, left_out_texts)
    state = RelatedState(toc=_toc(searcher))
    for n in range(space.size):
        slug = space.slug(n)
        state.key_terms[slug] = key_terms[n]
        state.lists[slug] = space.related(n, key_terms[n])
    return state


def update(state: RelatedState | None, searcher, changed: set[str],
           stop: Callable[[], bool] | None = None) -> RelatedState:
    """The lists after the writer applied changes to the examples ``changed`` (slugs; those no longer in the index
    left it). Recomputed: the changed examples, the examples that listed them (a changed example may no longer
    belong there), the examples they list now (it may now belong in theirs), and those the state marks outdated.

    ``stop`` is asked before each example after the changed ones: once it answers True (newer changes wait for the
    writer), the rest is left in the returned state's ``outdated``, for the next update to do first."""
    space = ExampleSpace(searcher)
    if state is None:
        state = RelatedState()
    else:
        state = RelatedState(state.toc, dict(state.lists), dict(state.key_terms), set(state.outdated))
    affected = {owner for owner, kept in state.lists.items() if changed.intersection(kept)} | state.outdated
    for slug in sorted(changed):
        if _recompute(state, space, slug, fresh_key_terms=True):
            affected.update(state.lists[slug])
    todo = sorted(affected - changed)
    state.outdated = set()
    for at, slug in enumerate(todo):
        if stop is not None and stop():
            state.outdated = set(todo[at:])
            break
        _recompute(state, space, slug, fresh_key_terms=False)
    state.toc = _toc(searcher)
    return state


def _recompute(state: RelatedState, space: ExampleSpace, slug: str, fresh_key_terms: bool) -> bool:
    """One example's list (and key terms, when new or ``fresh_key_terms``) in ``state``; False when it left."""
    n = space.number(slug)
    if n is None:
        state.lists.pop(slug, None)
        state.key_terms.pop(slug, None)
        return False
    if fresh_key_terms or slug not in state.key_terms:  # not in the stored state: an older index
        state.key_terms[slug] = space.key_terms_of(n)
    state.lists[slug] = space.related(n, state.key_terms[slug])
    return True


def compute_one(space: ExampleSpace, slug: str) -> tuple[str, ...] | None:
    """One example's list, from its stored text (a page whose list the stored lists lack); None if not an example."""
    n = space.number(slug)
    if n is None:
        return None
    return space.related(n, space.key_terms_of(n))


def key_text(document: dict) -> str:
    """The text an example's key terms come from: title twice, summary and body (all stored in the index)."""
    return "\n".join(str(document.get(name) or "") for name in ("title", "title", "summary", "body"))


def _toc(searcher) -> int:
    return int(searcher.reader().generation() or 0) if hasattr(searcher.reader(), "generation") else 0
