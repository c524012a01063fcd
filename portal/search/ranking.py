"""Top-N ranking over a known result set, with cached per-term impacts (BM25).

Whoosh scores every candidate through a tree of Python matcher objects (tens of microseconds per document),
which is too slow when a common word matches thousands of documents. We already know the exact result set
(a bitset, see masks.py), so ranking only needs each document's score: the sum over the query's terms of a
BM25 impact. Impacts are computed once per (segment, field, term) from the postings and cached; a query then
costs one pass over its terms' postings (a few hundred nanoseconds per posting) and a heap selection.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left

from whoosh import query as wq

from portal.search import bitplanes
from portal.search.masks import MaskCache, decoded_if_cached, decoded_postings, iter_bits, segment_key, weights_of

K1 = 1.2
B = 0.75


def scoring_terms(q: wq.Query) -> list[tuple[str, str, float]]:
    """(field, term, boost) of every positive term in ``q`` (terms under a NOT do not score)."""
    out: dict[tuple[str, str], float] = {}

    def walk(node: wq.Query, boost: float) -> None:
        if isinstance(node, wq.AndNot):
            walk(node.a, boost * node.boost)
            return
        if isinstance(node, wq.Term):
            key = (node.fieldname, node.text)
            out[key] = max(out.get(key, 0.0), boost * node.boost)
            return
        if isinstance(node, wq.Phrase):
            for word in node.words:
                key = (node.fieldname, word)
                out[key] = max(out.get(key, 0.0), boost * node.boost)
            return
        for sub in getattr(node, "subqueries", ()) or ([node.child] if hasattr(node, "child") else []):
            walk(sub, boost * node.boost)

    walk(q, 1.0)
    return [(f, t, b) for (f, t), b in out.items() if f in ("title", "all")]


class Ranker:
    def __init__(self, cache: MaskCache):
        self.cache = cache

    def _lengths(self, reader, fieldname: str) -> array:
        def compute():
            # Whoosh answers None (not the default) for a field without tokens (a title of stop words only).
            return array(
                "H",
                (min(65535, reader.doc_field_length(n, fieldname, 0) or 0) for n in range(reader.doc_count_all())),
            )

        return self.cache.get((segment_key(reader), "len", fieldname), compute)

    def _impacts(self, searcher, reader, fieldname: str, text: str, avg: float) -> tuple[array, array]:
        idf, avg = _cache_keys(searcher, fieldname, text, avg)

        def compute():
            docs, weights = decoded_postings(reader, fieldname, text)
            if not docs:
                return docs, array("f")
            return docs, _bm25(idf, avg, docs, weights, self._lengths(reader, fieldname))

        # The idf is part of the key: it changes when the collection changes.
        return self.cache.get((segment_key(reader), "imp", fieldname, text, idf, avg), compute)

    def _planes(self, searcher, fieldname: str, text: str, boost: float, averages) -> list[int]:
        """The term's quantised impact (times boost) as bit planes over the whole index (bit b of each doc)."""
        planes = [0] * PLANE_BITS
        for sub, offset in searcher.leaf_searchers():
            reader = sub.reader()
            docs, impacts = self._impacts(searcher, reader, fieldname, text, averages[fieldname])
            if not docs:
                continue

            def compute(docs=docs, impacts=impacts):
                return level_planes(docs, impacts, boost)

            idf, avg = _cache_keys(searcher, fieldname, text, averages[fieldname])
            local = self.cache.get((segment_key(reader), "planes", fieldname, text, idf, avg, boost), compute)
            for b in range(PLANE_BITS):
                planes[b] |= local[b] << offset
        return planes

    def prepare(self, searcher, terms: list[tuple[str, str, float]]) -> None:
        """Compute and cache the impacts and planes of (field, term, boost) now (start-up warm-up)."""
        averages = {f: searcher.avg_field_length(f, 1.0) for f in {f for f, _t, _b in terms}}
        for fieldname, text, boost in terms:
            self._planes(searcher, fieldname, text, boost, averages)

    #: A query's result documents are scored one by one (see _top_few) when they are fewer than the postings of
    #: its terms whose planes are not made yet divided by this (about the ratio of the costs per document).
    FEW = 4
    #: Below one result document per this many postings of a term, its weights are read by skipping to each
    #: result (only the blocks holding them are decoded) rather than decoding the whole posting list.
    SKIP = 16

    def top(self, searcher, q: wq.Query, result_mask: int, count: int,
            doc_frequency=None) -> list[tuple[int, float]]:
        """The ``count`` best (docnum, score) of ``result_mask`` for query ``q``, best first.

        Scores are first summed on quantised impacts held as bit planes (big-integer additions, a handful of
        operations whatever the number of matches), which selects the best candidates in a few bitset steps;
        only those candidates get their exact BM25 score. Making a term's planes reads all its postings (tens of
        thousands for a common word at 100,000 items); when the results are few (a phrase, a rare word with
        common ones) and some planes are not made yet, the same selection is made from the results' own
        impacts instead (_top_few): the same documents in the same order with the same scores.
        ``doc_frequency`` is the searcher's unless the caller has a memo of it (QueryEngine does).
        """
        if count <= 0 or result_mask <= 0:
            return []
        doc_frequency = doc_frequency or searcher.doc_frequency
        terms = scoring_terms(q)
        averages = {f: searcher.avg_field_length(f, 1.0) for f in {f for f, _t, _b in terms}}
        if self.FEW:
            results = result_mask.bit_count()
            if results <= count:
                # Every result is shown: scoring them one by one costs less than any bitset work.
                return self._top_few(searcher, terms, averages, result_mask, count)
            missing = sum(doc_frequency(f, t) for f, t, b in terms
                          if not self._have_planes(searcher, f, t, b, averages))
            if missing and results * len(terms) * self.FEW < missing:
                return self._top_few(searcher, terms, averages, result_mask, count)
        total: list[int] = []
        for fieldname, text, boost in terms:
            total = _add_planes(total, self._planes(searcher, fieldname, text, boost, averages))
        candidates = _select(total, result_mask, count)
        scored = list(self._exact(searcher, candidates, terms, averages).items())
        scored.sort(key=lambda kv: (-kv[1], kv[0]))
        return scored[:count]

    def _have_planes(self, searcher, fieldname: str, text: str, boost: float, averages) -> bool:
        idf, avg = _cache_keys(searcher, fieldname, text, averages[fieldname])
        return all(
            self.cache.contains((segment_key(sub.reader()), "planes", fieldname, text, idf, avg, boost))
            for sub, _offset in searcher.leaf_searchers()
        )

    def _top_few(self, searcher, terms, averages, result_mask: int, count: int) -> list[tuple[int, float]]:
        """What top() gives, computed from the impacts of the result documents only: their quantised levels
        summed per document (as the planes add them up), the same choice of candidates as _select, and the
        candidates' exact scores (as _exact adds them up)."""
        docs = list(iter_bits(result_mask))
        # impacts[n][i]: impact of terms[n] in docs[i] (0.0 where the document does not have the term).
        impacts = [[0.0] * len(docs) for _ in terms]
        for sub, offset in searcher.leaf_searchers():
            reader = sub.reader()
            first = bisect_left(docs, offset)
            last = bisect_left(docs, offset + reader.doc_count_all())
            if first == last:
                continue
            local = [d - offset for d in docs[first:last]]
            for n, (fieldname, text, _boost) in enumerate(terms):
                found = self._impacts_of(searcher, reader, fieldname, text, averages[fieldname], local)
                if found is not None:
                    impacts[n][first:last] = found
        sums = [0] * len(docs)
        for (_fieldname, _text, boost), values in zip(terms, impacts, strict=True):
            for i, x in enumerate(values):
                if x:
                    level = int(x * boost / QUANTUM + 0.5)
                    sums[i] += PLANE_MAX if level > PLANE_MAX else (level if level > 0 else 0)
        # _select: every document above the count-th highest sum, and documents at that sum in document order.
        threshold = sorted(sums, reverse=True)[count - 1] if len(docs) >= count else 0
        chosen = [i for i, total in enumerate(sums) if total > threshold]
        tied = [i for i, total in enumerate(sums) if total == threshold]
        chosen += tied[: (count - len(chosen)) * 2 + 20]
        scored = []
        for i in chosen:
            score = 0.0
            for (_fieldname, _text, boost), values in zip(terms, impacts, strict=True):
                if values[i]:
                    score += values[i] * boost
            scored.append((docs[i], score))
        scored.sort(key=lambda kv: (-kv[1], kv[0]))
        return scored[:count]

    def _impacts_of(self, searcher, reader, fieldname: str, text: str, avg: float, local: list[int]):
        """The impacts (as _impacts stores them: 32-bit floats) of a term in the ``local`` documents of one
        segment, 0.0 where a document lacks the term; None when no document has it. From the cached impacts when
        there are, else from the postings, computed for these documents only."""
        idf, avg_key = _cache_keys(searcher, fieldname, text, avg)
        cached = self.cache.peek((segment_key(reader), "imp", fieldname, text, idf, avg_key))
        if cached is not None:
            docs, values = cached
            return _values_at(docs, values, local, 0.0) if docs else None
        decoded = decoded_if_cached(reader, fieldname, text)
        if decoded is None and len(local) * self.SKIP < reader.doc_frequency(fieldname, text):
            tfs = weights_of(reader, fieldname, text, local)  # only the blocks holding these documents
        else:
            docs, weights = decoded if decoded is not None else decoded_postings(reader, fieldname, text)
            if not docs:
                return None
            tfs = _values_at(docs, weights, local, None)
        out = [0.0] * len(local)
        present = [k for k, tf in enumerate(tfs) if tf is not None]
        if present:
            impacts = _bm25(idf, avg_key, [local[k] for k in present], [tfs[k] for k in present],
                            self._lengths(reader, fieldname))
            for k, x in zip(present, impacts, strict=True):
                out[k] = x
        return out

    def _exact(self, searcher, candidates: list[int], terms, averages) -> dict[int, float]:
        """The exact BM25 score of each candidate: per segment, each term's impacts are looked up once for all
        its candidates (summed per document in term order, as always, so the floats do not change)."""
        scores: dict[int, float] = {}
        for sub, offset in searcher.leaf_searchers():
            reader = sub.reader()
            size = reader.doc_count_all()
            local = [doc - offset for doc in candidates if offset <= doc < offset + size]
            if not local:
                continue
            sums = [0.0] * len(local)
            for fieldname, text, boost in terms:
                docs, impacts = self._impacts(searcher, reader, fieldname, text, averages[fieldname])
                for k, value in enumerate(_values_at(docs, impacts, local, None)):
                    if value is not None:
                        sums[k] += value * boost
            for doc, score in zip(local, sums, strict=True):
                scores[doc + offset] = score
        return scores


def _cache_keys(searcher, fieldname: str, text: str, avg: float) -> tuple[float, float]:
    """The idf and the average field length as they key cached impacts and planes: rounded, so one edit (which
    changes the collection size a little) does not invalidate the cache."""
    return round(searcher.idf(fieldname, text), 2), round(avg or 1.0, 0) or 1.0


def _bm25(idf: float, avg: float, docs, tfs, lengths) -> array:
    """BM25 impacts (32-bit floats) of a term with frequencies ``tfs`` in ``docs`` of one segment."""
    norm = K1 * (1 - B)
    per_length = K1 * B / avg
    return array("f", [idf * tf * (K1 + 1) / (tf + norm + per_length * lengths[doc])
                       for doc, tf in zip(docs, tfs, strict=True)])


def _values_at(docs, values, wanted: list[int], missing):
    """The values of the ``wanted`` documents in a posting list (``docs`` ascending), ``missing`` where absent."""
    out = [missing] * len(wanted)
    for k, doc in enumerate(wanted):
        at = bisect_left(docs, doc)
        if at < len(docs) and docs[at] == doc:
            out[k] = values[at]
    return out


#: Impacts are quantised to PLANE_BITS bits in steps of QUANTUM (BM25 impacts stay below ~30 * boost).
PLANE_BITS = bitplanes.BITS
PLANE_MAX = (1 << PLANE_BITS) - 1
QUANTUM = 0.35


def level_planes(docs, impacts, boost: float) -> list[int]:
    """Bit planes (portal.search.bitplanes) of the quantised levels of ``impact * boost``: no Python bytecode per
    document beyond computing the level."""
    if not docs:
        return [0] * PLANE_BITS
    levels = [int(x * boost / QUANTUM + 0.5) for x in impacts]
    if max(levels) > PLANE_MAX or min(levels) < 0:
        levels = [max(0, min(PLANE_MAX, level)) for level in levels]
    return bitplanes.pack(docs, levels, docs[-1])


def _add_planes(a: list[int], b: list[int]) -> list[int]:
    """Bit-sliced addition of two numbers per document (a new list)."""
    out = list(a)
    bitplanes.add(out, b)
    return out


def _select(planes: list[int], mask: int, count: int, slack: int = 2) -> list[int]:
    """Documents of ``mask`` with the highest plane sums: at least ``count``, plus ties (up to a limit)."""
    chosen, remaining, need = bitplanes.split_top(planes, mask, count)
    out = list(iter_bits(chosen))
    if need > 0:
        limit = need * slack + 20
        for doc in iter_bits(remaining):
            out.append(doc)
            limit -= 1
            if limit <= 0:
                break
    return out
