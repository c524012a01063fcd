"""Top-N ranking over a known result set, with cached per-term impacts (BM25).

Whoosh scores every candidate through a tree of Python matcher objects (tens of microseconds per document),
which is too slow when a common word matches thousands of documents. We already know the exact result set
(a bitset, see masks.py), so ranking only needs each document's score: the sum over the query's terms of a
BM25 impact. Impacts are computed once per (segment, field, term) from the postings and cached; a query then
costs one pass over its terms' postings (a few hundred nanoseconds per posting) and a heap selection.
"""

from __future__ import annotations

import heapq
from array import array

from whoosh import query as wq

from portal.search.masks import MaskCache, iter_bits, segment_key

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
            return array(
                "H", (min(65535, reader.doc_field_length(n, fieldname, 0)) for n in range(reader.doc_count_all()))
            )

        return self.cache.get((segment_key(reader), "len", fieldname), compute)

    def _impacts(self, searcher, reader, fieldname: str, text: str, avg: float) -> tuple[array, array]:
        idf = searcher.idf(fieldname, text)

        def compute():
            docs, impacts = array("i"), array("f")
            try:
                matcher = reader.postings(fieldname, text)
            except Exception:  # not in this segment
                return docs, impacts
            lengths = self._lengths(reader, fieldname)
            norm = K1 * (1 - B)
            per_length = K1 * B / (avg or 1.0)
            while matcher.is_active():
                doc = matcher.id()
                tf = matcher.weight()
                docs.append(doc)
                impacts.append(idf * tf * (K1 + 1) / (tf + norm + per_length * lengths[doc]))
                matcher.next()
            return docs, impacts

        # The idf is part of the key: it changes when the collection changes.
        return self.cache.get((segment_key(reader), "imp", fieldname, text, round(idf, 4)), compute)

    def top(self, searcher, q: wq.Query, result_mask: int, count: int) -> list[tuple[int, float]]:
        """The ``count`` best (docnum, score) of ``result_mask`` for query ``q``, best first."""
        if count <= 0 or result_mask <= 0:
            return []
        allowed = result_mask.to_bytes((result_mask.bit_length() + 7) // 8, "little")
        size = len(allowed) << 3
        scores: dict[int, float] = {}
        get = scores.get
        terms = scoring_terms(q)
        averages = {f: searcher.avg_field_length(f, 1.0) for f in {f for f, _t, _b in terms}}
        for sub, offset in searcher.leaf_searchers():
            reader = sub.reader()
            for fieldname, text, boost in terms:
                docs, impacts = self._impacts(searcher, reader, fieldname, text, averages[fieldname])
                for doc, impact in zip(docs, impacts, strict=True):
                    doc += offset
                    if doc < size and allowed[doc >> 3] >> (doc & 7) & 1:
                        scores[doc] = get(doc, 0.0) + impact * boost
        best = heapq.nlargest(count, scores.items(), key=lambda kv: (kv[1], -kv[0]))
        if len(best) < count:
            # Results that no scoring term explains (prefixes): after the scored ones, in index order.
            for doc in iter_bits(result_mask):
                if doc not in scores:
                    best.append((doc, 0.0))
                    if len(best) >= count:
                        break
        return best
