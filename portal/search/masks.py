"""Document sets as Python integers (bit n = document n), for totals and facet counts.

Counting every match of a query through Whoosh's matchers costs Python work per matching document, which is
too slow for broad queries over 100,000 items. Instead we evaluate the query's boolean structure on bitsets:
one bitset per (segment, field, term), cached per segment, so a refresh after an edit only computes the new
small segment. AND, OR and NOT are then single big-integer operations, and a count is ``int.bit_count()``.
Ranking (the top N) still goes through Whoosh's scorer.
"""

from __future__ import annotations

import threading
from array import array
from bisect import bisect_left
from collections import OrderedDict, deque
from itertools import accumulate, repeat

from whoosh import query as wq
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.matching.wrappers import FilterMatcher

from portal.search.schema import (
    PAIRS_FIELD,
    PAIRS_OF,
    PAIRS_SENTINEL,
    PAIRS_SENTINEL_2,
    pair_term,
    pair_term2,
    phrase_term,
)

#: Memory for cached per-segment bitsets (a bitset of a 100k-document segment is 12.5 kB).
CACHE_MB = 192
#: A prefix expands to at most this many terms.
MAX_PREFIX_TERMS = 300


#: bytes.translate tables: a byte 0/1 becomes bit ``j`` of a byte (0 or 1 << j).
_BIT_TABLES = [bytes([0, 1 << j]) + bytes(254) for j in range(8)]


def term_text(text) -> str:
    """A term as a str: Whoosh's readers hand out terms as bytes, queries as str."""
    return text.decode("utf-8") if isinstance(text, bytes) else text


def bitmask(docnums) -> int:
    """Bitset of ``docnums`` (any order, duplicates allowed).

    One byte per document is set at C speed (``map`` over ``bytearray.__setitem__``), then every eighth byte
    is packed into a bit by slicing and translating: no Python bytecode per document.
    """
    docs = docnums if isinstance(docnums, (list, tuple, array)) else list(docnums)
    if not docs:
        return 0
    size = (max(docs) >> 3) + 1
    flags = bytearray(size << 3)
    deque(map(flags.__setitem__, docs, repeat(1)), maxlen=0)
    out = 0
    for j in range(8):
        out |= int.from_bytes(flags[j::8].translate(_BIT_TABLES[j]), "little")
    return out


def posting_blocks(matcher, weights: bool = False):
    """(ids, weights or None) of a fresh posting matcher, a block (up to 128 postings) at a time.

    Reads Whoosh's decoded blocks directly instead of stepping through the matcher one posting at a time
    (several Python calls per posting): the first use of a common term at 100,000 items reads tens of
    thousands of postings. Other matchers are read one posting at a time, as one block.
    """
    excluded = None
    leaf = matcher
    if isinstance(matcher, FilterMatcher) and matcher._exclude:
        excluded, leaf = matcher._ids, matcher.child
    if type(leaf) is not W3LeafMatcher:
        ids, ws = [], []
        while matcher.is_active():
            ids.append(matcher.id())
            if weights:
                ws.append(matcher.weight())
            matcher.next()
        yield ids, (ws if weights else None)
        return
    while leaf.is_active():
        if leaf._ids is None:
            if leaf._byteids:
                leaf._read_ids()
            else:  # Whoosh's _read_ids, with the delta decoding done by itertools instead of a generator
                if leaf._data is None:
                    leaf._read_data()
                leaf._ids = tuple(accumulate(leaf._data[0]))
        ids = leaf._ids
        ws = None
        if weights:
            if leaf._weights is None:
                leaf._read_weights()
            ws = leaf._weights
        if leaf._i:
            ids, ws = ids[leaf._i :], (ws[leaf._i :] if weights else None)
        if excluded:
            keep = [n for n, doc in enumerate(ids) if doc not in excluded]
            if len(keep) < len(ids):
                ids = [ids[n] for n in keep]
                ws = [ws[n] for n in keep] if weights else None
        yield ids, ws
        leaf._next_block()


def posting_values(matcher):
    """(ids, value strings) of a fresh posting matcher, a block at a time (deleted documents included: callers
    only ask about documents they know are live)."""
    leaf = matcher.child if isinstance(matcher, FilterMatcher) else matcher
    if type(leaf) is not W3LeafMatcher:
        ids, values = [], []
        while matcher.is_active():
            ids.append(matcher.id())
            values.append(matcher.value())
            matcher.next()
        yield ids, values
        return
    while leaf.is_active():
        if leaf._ids is None:
            leaf._read_ids()
        if leaf._values is None:
            leaf._read_values()
        ids, values = leaf._ids, leaf._values
        if leaf._i:
            ids, values = ids[leaf._i :], values[leaf._i :]
        yield ids, values
        leaf._next_block()


def phrase_docs(reader, fieldname: str, words, candidates: int) -> int:
    """Local bitset of the documents of ``candidates`` (which have every word) where the words stand on
    consecutive positions: Whoosh's Phrase (slop 1), but reading positions of the candidates only, straight
    from the postings, instead of stepping a tree of span matchers through every document.

    The rarest words go first: once two words must stand side by side, few documents are left, and the
    postings of the common words are then only read in the blocks that hold those documents. The weights of the
    words in the documents read are kept for a while (see weights_of): ranking the results needs them, and
    reading them again would decode the same blocks (positions and all) a second time."""
    decode = reader.schema[fieldname].format.decode_positions
    starts: dict[int, set[int]] | None = None
    wanted = set(iter_bits(candidates))
    order = sorted(enumerate(words), key=lambda kw: (reader.doc_frequency(fieldname, kw[1]), kw[0]))
    for k, word in order:
        if not wanted:
            return 0
        try:
            matcher = reader.postings(fieldname, word)
        except Exception:  # not in this segment
            return 0
        found: dict[int, set[int]] = {}
        weights: dict[int, float] = {}
        for doc, value, weight in _values_of(matcher, wanted, reader.doc_frequency(fieldname, word)):
            if weight is not None:
                weights[doc] = weight
            shifted = {p - k for p in decode(value)}
            if starts is not None:
                shifted &= starts[doc]
            if shifted:
                found[doc] = shifted
        if weights:
            _read_weights.add((segment_key(reader), reader.doc_count(), fieldname, word), weights)
        starts, wanted = found, set(found)
    return bitmask(sorted(wanted))


class _ReadWeights:
    """The weights of terms in the documents whose postings phrase_docs read, per (segment, field, term): the last
    few terms only (thread-safe)."""

    def __init__(self, terms: int = 64):
        self._terms = terms
        self._data: OrderedDict[tuple, dict[int, float]] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, key: tuple, weights: dict[int, float]) -> None:
        with self._lock:
            known = self._data.pop(key, None)
            if known is not None and len(known) < 100_000:
                weights = {**known, **weights}
            self._data[key] = weights
            while len(self._data) > self._terms:
                self._data.popitem(last=False)

    def get(self, key: tuple) -> dict[int, float] | None:
        with self._lock:
            return self._data.get(key)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


_read_weights = _ReadWeights()


def pair_hashes(reader) -> int:
    """In how many buckets every document of this segment has its word pairs (schema.PairText): 2 (both hashes),
    1 (the first only: indexes written before the second, or merged with such documents) or 0 (not every document
    has pairs: positions only)."""
    if PAIRS_FIELD not in reader.indexed_field_names():
        return 0
    everyone = reader.doc_count_all()
    if reader.doc_frequency(PAIRS_FIELD, PAIRS_SENTINEL) != everyone:
        return 0
    return 2 if reader.doc_frequency(PAIRS_FIELD, PAIRS_SENTINEL_2) == everyone else 1


def _block_ids(leaf) -> tuple:
    """The ids of a W3 leaf matcher's current block (Whoosh's _read_ids, delta decoding done by itertools)."""
    if leaf._ids is None:
        if leaf._byteids:
            leaf._read_ids()
        else:
            if leaf._data is None:
                leaf._read_data()
            leaf._ids = tuple(accumulate(leaf._data[0]))
    return leaf._ids


def _values_of(matcher, wanted: set[int], frequency: int):
    """(doc, value string, weight or None) of the postings of ``wanted`` documents. Whoosh's own posting blocks are
    skipped by their highest id (read from the block header) when they hold no wanted document, and the others are
    looked up by bisection: no block is decoded twice or for nothing, and no posting is stepped through one by
    one. The weight comes with it where the block is decoded anyway (the same weight the matcher gives)."""
    leaf = matcher.child if isinstance(matcher, FilterMatcher) else matcher
    if type(leaf) is W3LeafMatcher and not leaf._i:
        targets = sorted(wanted)
        i, count = 0, len(targets)
        while i < count and leaf.is_active():
            if leaf._maxid < targets[i]:
                leaf._next_block()
                continue
            ids = _block_ids(leaf)
            values = weights = None
            while i < count and targets[i] <= leaf._maxid:
                doc = targets[i]
                at = bisect_left(ids, doc)
                if at < len(ids) and ids[at] == doc:
                    if values is None:
                        if leaf._values is None:
                            leaf._read_values()
                        if leaf._weights is None:
                            leaf._read_weights()
                        values, weights = leaf._values, leaf._weights
                    yield doc, values[at], weights[at]
                i += 1
            leaf._next_block()
        return
    if len(wanted) * 8 >= frequency:
        for ids, values in posting_values(matcher):
            for doc, value in zip(ids, values, strict=True):
                if doc in wanted:
                    yield doc, value, None
        return
    for _k, doc in _skip_through(matcher, sorted(wanted)):
        yield doc, matcher.value(), None


def _skip_through(matcher, docs: list[int]):
    """(k, doc) for each of ``docs`` (ascending) that the matcher has, the matcher standing on it: skip_to each,
    so only the blocks holding them are decoded."""
    for k, doc in enumerate(docs):
        if not matcher.is_active():
            return
        if matcher.id() < doc:
            matcher.skip_to(doc)
            if not matcher.is_active():
                return
        if matcher.id() == doc:
            yield k, doc


def decoded_postings(reader, fieldname: str, text) -> tuple[array, array]:
    """(ids, weights) of a term in one segment (live documents), decoded once for both its bitset and its ranking
    impacts: a short-lived cache, as a query needs both right after each other."""

    def compute():
        ids, weights = array("i"), array("f")
        try:
            matcher = reader.postings(fieldname, text)
        except Exception:  # term or field not in this segment
            return ids, weights
        for block_ids, block_weights in posting_blocks(matcher, weights=True):
            ids.extend(block_ids)
            weights.extend(block_weights)
        return ids, weights

    return _DECODED.get((segment_key(reader), reader.doc_count(), fieldname, text), compute)


def _term_bits(reader, fieldname: str, text) -> int:
    return bitmask(decoded_postings(reader, fieldname, text)[0])


def weights_of(reader, fieldname: str, text, docs: list[int]) -> list[float | None]:
    """The weight (term frequency) of a term in each of ``docs`` (ascending, live documents of one segment), None
    where a document lacks it: skipping to each, so only the blocks holding them are decoded (a phrase's few
    results need not decode the whole posting list of a common word). The weights are those decoded_postings
    gives (the same block weights)."""
    out: list[float | None] = [None] * len(docs)
    read = _read_weights.get((segment_key(reader), reader.doc_count(), fieldname, text))
    rest = docs
    if read:  # weights phrase_docs has just read (a phrase's results are among them)
        rest = []
        for k, doc in enumerate(docs):
            weight = read.get(doc)
            if weight is None:
                rest.append(doc)
            else:
                out[k] = weight
        if not rest:
            return out
    try:
        matcher = reader.postings(fieldname, text)
    except Exception:  # term or field not in this segment
        return out
    if rest is docs:
        for k, _doc in _skip_through(matcher, docs):
            out[k] = matcher.weight()
        return out
    at = {doc: k for k, doc in enumerate(docs)}
    for _k, doc in _skip_through(matcher, rest):
        out[at[doc]] = matcher.weight()
    return out


def posting_ids(matcher):
    """Every document id of a fresh posting matcher, ascending."""
    for ids, _weights in posting_blocks(matcher):
        yield from ids


def iter_bits(mask: int):
    """Document numbers in ``mask``, ascending (byte-wise: big sets stay cheap)."""
    if mask <= 0:
        return
    data = mask.to_bytes((mask.bit_length() + 7) // 8, "little")
    for index, byte in enumerate(data):
        if byte:
            base = index << 3
            for bit in range(8):
                if byte >> bit & 1:
                    yield base + bit


def live_mask(reader) -> int:
    """Bitset of the reader's live documents: all minus the (few) deleted ones, without listing them all."""
    if not hasattr(reader, "deleted_docs_set"):
        return bitmask(reader.all_doc_ids())
    everything = (1 << reader.doc_count_all()) - 1
    deleted = reader.deleted_docs_set if reader.has_deletions() else ()
    return everything & ~bitmask(sorted(deleted)) if deleted else everything


def segment_key(reader) -> str:
    """Identity of a segment's postings. Deletions do not change it: callers intersect with ``everything``
    (the live documents), so an edit (a deletion in a big segment plus a new small one) keeps the caches."""
    return lasting_segment_key(reader) or f"r{id(reader)}"


def lasting_segment_key(reader) -> str | None:
    """segment_key() of a reader that has a segment, else None: a reader without one (in memory) is keyed by its
    id, which a later reader may reuse, so nothing kept beyond it may be keyed on that."""
    segment = reader.segment() if hasattr(reader, "segment") else None
    return segment.segment_id() if segment is not None else None


def _size(value) -> int:
    if isinstance(value, int):
        return value.bit_length() // 8 + 32
    if isinstance(value, (list, tuple)):
        return sum(_size(v) for v in value) + 64
    if hasattr(value, "itemsize"):
        return value.itemsize * len(value) + 64
    return 64


class MaskCache:
    """LRU of per-segment bitsets and arrays within a memory budget, shared by all searchers (thread-safe)."""

    def __init__(self, budget_mb: int = CACHE_MB):
        self._budget = budget_mb * 1024 * 1024
        self._used = 0
        self._data: OrderedDict[tuple, tuple[object, int]] = OrderedDict()
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._used = 0

    def contains(self, key) -> bool:
        with self._lock:
            return key in self._data

    def peek(self, key):
        """The cached value of ``key``, or None (without computing it)."""
        with self._lock:
            entry = self._data.get(key)
            return None if entry is None else entry[0]

    def get(self, key, compute):
        with self._lock:
            entry = self._data.get(key)
            if entry is not None:
                self._data.move_to_end(key)
                return entry[0]
        value = compute()
        size = _size(value)
        with self._lock:
            if key not in self._data:
                self._data[key] = (value, size)
                self._used += size
            while self._used > self._budget and len(self._data) > 1:
                _key, (_value, old) = self._data.popitem(last=False)
                self._used -= old
        return value


_DECODED = MaskCache(budget_mb=32)


def decoded_if_cached(reader, fieldname: str, text):
    """decoded_postings of the term when they are cached, else None."""
    return _DECODED.peek((segment_key(reader), reader.doc_count(), fieldname, text))


class MaskEvaluator:
    """Evaluates a Whoosh query to a global bitset for one searcher."""

    def __init__(self, searcher, cache: MaskCache, use_pairs: bool = True):
        #: ``use_pairs=False`` matches every phrase on positions (as for an index without pairs).
        self.use_pairs = use_pairs
        self.leaves = [(sub, sub.reader(), offset) for sub, offset in searcher.leaf_searchers()]
        self.schema = searcher.schema
        self.cache = cache
        self._memo: dict[tuple, int] = {}

    def _prepared(self, q: wq.Phrase) -> str | None:
        """The single term the index holds for this phrase (schema.PhraseText), or None."""
        try:
            phrases = getattr(self.schema[q.fieldname], "phrases", None)
        except KeyError:
            return None
        words = tuple(map(term_text, q.words))
        if phrases and q.slop == 1 and words in phrases:
            return phrase_term(words)
        return None

    def _local_parts(self, mask: int) -> dict[int, int]:
        """A global bitset cut into each segment's local bitset (by id of the segment's reader)."""
        out = {}
        for _sub, reader, offset in self.leaves:
            out[id(reader)] = (mask >> offset) & ((1 << reader.doc_count_all()) - 1)
        return out

    def everything(self) -> int:
        """The live (not deleted) documents."""
        if ("all",) not in self._memo:
            total = 0
            for _sub, reader, offset in self.leaves:
                key = (segment_key(reader), "live", reader.doc_count())
                total |= self.cache.get(key, lambda r=reader: live_mask(r)) << offset
            self._memo[("all",)] = total
        return self._memo[("all",)]

    def _leafwise(self, key: tuple, compute) -> int:
        if key in self._memo:
            return self._memo[key]
        total = 0
        for sub, reader, offset in self.leaves:
            local = self.cache.get((segment_key(reader), *key), lambda s=sub, r=reader: compute(s, r))
            total |= local << offset
        self._memo[key] = total
        return total

    def term(self, fieldname: str, text) -> int:
        return self._leafwise(("t", fieldname, text), lambda _sub, reader: _term_bits(reader, fieldname, text))

    def _local_term(self, reader, fieldname: str, text) -> int:
        """The local bitset of a term in one segment (the same cache entry as term's)."""
        return self.cache.get((segment_key(reader), "t", fieldname, text),
                              lambda: _term_bits(reader, fieldname, text))

    def _pair(self, reader, first, second, hashes: int = 1) -> int:
        """Local bitset of the documents of one segment with a pair in the bucket of ``first`` ``second`` (with
        ``hashes=2``: in both its buckets)."""
        first, second = term_text(first), term_text(second)
        found = -1
        for text in (pair_term(first, second), pair_term2(first, second))[:hashes]:

            def compute(text=text):
                try:
                    return bitmask(posting_ids(reader.postings(PAIRS_FIELD, text)))
                except Exception:  # no document of this segment has the pair
                    return 0

            found &= self.cache.get((segment_key(reader), "t", PAIRS_FIELD, text), compute)
            if not found:
                return 0
        return found

    def evaluate(self, q) -> int:
        if isinstance(q, wq.Term):
            return self.term(q.fieldname, q.text)
        if isinstance(q, wq.Every):
            return self.everything()
        if isinstance(q, wq.And):
            result = -1
            for sub in q.subqueries:
                result &= self.evaluate(sub)
                if not result:
                    return 0
            return 0 if result == -1 else result
        if isinstance(q, wq.Or):
            result = 0
            for sub in q.subqueries:
                result |= self.evaluate(sub)
            return result
        if isinstance(q, wq.AndNot):
            return self.evaluate(q.a) & ~self.evaluate(q.b)
        if isinstance(q, wq.Prefix):

            def compute(_sub, reader, q=q):
                mask = 0
                n = 0
                for term in reader.expand_prefix(q.fieldname, q.text):
                    if n >= MAX_PREFIX_TERMS:
                        break
                    if (b" " if isinstance(term, bytes) else " ") in term:  # a prepared phrase, not a word
                        continue
                    n += 1
                    mask |= bitmask(posting_ids(reader.postings(q.fieldname, term)))
                return mask

            return self._leafwise(("p", q.fieldname, q.text), compute)
        if isinstance(q, wq.Phrase):
            prepared = self._prepared(q)
            if prepared is not None:
                return self.term(q.fieldname, prepared)
            if len(q.words) < 2 or q.slop != 1:
                candidates = -1
                for word in q.words:
                    candidates &= self.term(q.fieldname, word)
                if not candidates or candidates == -1:
                    return 0
                if q.slop == 1:
                    return candidates
                return candidates & self._leafwise(("ph", q.fieldname, tuple(q.words), q.slop),
                                                   lambda sub, _reader, q=q: bitmask(q.docs(sub)))
            pairs = self.use_pairs and q.fieldname == PAIRS_OF and PAIRS_FIELD in self.schema

            def compute(_sub, reader, q=q):
                hashes = pair_hashes(reader) if pairs else 0
                if hashes:
                    # Only documents with a pair in the bucket(s) of every two consecutive words can have the phrase
                    # (with both buckets: about those that have it): their positions are read without decoding the
                    # words' postings.
                    found = -1
                    for first, second in zip(q.words, q.words[1:], strict=False):
                        found &= self._pair(reader, first, second, hashes)
                        if not found:
                            return 0
                    for word in q.words:  # words whose bitsets are at hand (frequent words, warmed up) narrow it
                        known = self.cache.peek((segment_key(reader), "t", q.fieldname, word))
                        if known is not None:
                            found &= known
                            if not found:
                                return 0
                else:  # the documents with every word
                    found = -1
                    for word in q.words:
                        found &= self._local_term(reader, q.fieldname, word)
                        if not found:
                            return 0
                return phrase_docs(reader, q.fieldname, q.words, found)

            return self._leafwise(("ph", q.fieldname, tuple(q.words), q.slop), compute)
        # Anything else: let Whoosh enumerate the documents.
        return self._leafwise(("q", repr(q)), lambda sub, _reader: bitmask(q.docs(sub)))
