"""Querying: search with facets and highlighting, "Bedoelde u", suggestions and related examples.

Everything here reads an :class:`~portal.search.keeper.IndexView` handed out by the keeper; nothing here writes
to the index or knows how it is kept current.
"""

from __future__ import annotations

import datetime as dt
import heapq
import json
import logging
import math
import threading
import time
from dataclasses import dataclass, field
from operator import itemgetter

from sqlalchemy.orm import sessionmaker
from whoosh import query as wq

from portal.search import documents as docs_mod
from portal.search.analysis import fold, stem
from portal.search.index import prefetch
from portal.search.keeper import IndexKeeper, IndexView
from portal.search.labels import facet_labels
from portal.search.masks import MaskCache, MaskEvaluator, bitmask, live_mask, posting_ids, segment_key, term_text
from portal.search.query import ALTERNATIVE_BOOST, BuiltQuery, ParsedQuery, build, parse, spelling_candidates
from portal.search.ranking import Ranker
from portal.search.related import ExampleSpace, compute_one
from portal.search.related_store import RelatedLists, resolve_kept
from portal.search.schema import FACETS, FIELD_WEIGHTS, HIGHLIGHT_FIELDS
from portal.search.snippets import learn_words, snippets
from portal.search.spelling import SpellingWords
from portal.search.stored import StoredDocuments
from portal.search.thesaurus import Thesaurus

log = logging.getLogger(__name__)

PAGE_SIZE = 10
#: With fewer results than this having every word, results with some of the words follow them.
MIN_STRICT = 3
MAX_PAGE = 100
SORTS = ("relevantie", "nieuwste")
#: Facet -> index field used to filter. "regio" accepts any region slug (gemeente, jeugdregio, provincie), so
#: a gemeente page can search within its gemeente; its facet list shows jeugdregio's.
FILTER_FIELDS = {
    "thema": "thema",
    "regio": "gebied",
    "provincie": "provincie",
    "schooltype": "schooltype",
    "type": "type",
}


@dataclass
class Filters:
    values: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def from_params(cls, params) -> Filters:
        values = {}
        for name in FACETS:
            getall = getattr(params, "getall", None)
            raw = getall(name) if getall else params.get(name, [])
            if isinstance(raw, str):
                raw = [raw]
            chosen = []
            for item in raw or []:
                for value in str(item).split(","):
                    value = value.strip().lower()[:80]
                    if value and value.replace("-", "").isalnum() and value not in chosen:
                        chosen.append(value)
            if chosen:
                values[name] = chosen[:20]
        return cls(values)

    def query(self, without: str | None = None) -> wq.Query | None:
        parts = [
            wq.Or([wq.Term(FILTER_FIELDS[name], v) for v in chosen])
            for name, chosen in self.values.items()
            if name != without
        ]
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else wq.And(parts)


class FacetIndex:
    """Per-searcher bitsets: facet value -> documents having it. Per segment, so a refresh rebuilds little."""

    def __init__(self):
        self._segments: dict[tuple[str, int], dict[str, dict[str, int]]] = {}
        self._lock = threading.Lock()

    def for_searcher(self, searcher) -> tuple[dict[str, dict[str, int]], int]:
        """({index field: {value: global mask}}, mask of all live documents)."""
        fields = set(FILTER_FIELDS.values()) | set(FACETS)
        combined: dict[str, dict[str, int]] = {name: {} for name in fields}
        everything = 0
        live_keys = set()
        for sub, offset in searcher.leaf_searchers():
            reader = sub.reader()
            key = segment_key(reader)
            live_keys.add(key)
            with self._lock:
                local = self._segments.get(key)
            if local is None:
                # Values per segment, deletions included: counts are always taken within live results.
                local = {}
                for name in fields:
                    values = {}
                    if name in reader.indexed_field_names():
                        for term in reader.lexicon(name):
                            value = term_text(term)
                            values[value] = bitmask(posting_ids(reader.postings(name, term)))
                    local[name] = values
                with self._lock:
                    self._segments[key] = local
            everything |= live_mask(reader) << offset
            for name in fields:
                target = combined[name]
                for value, mask in local[name].items():
                    target[value] = target.get(value, 0) | (mask << offset)
        with self._lock:
            for key in list(self._segments):
                if key not in live_keys:
                    del self._segments[key]
        return combined, everything


class DocFrequencies:
    """Document frequencies of terms in the current searcher, each read once: a query asks for the same few
    terms several times (is the word known, which ranking path, spelling), and every read is a look-up in the
    term file on disk. Cleared with each new searcher; bounded."""

    LIMIT = 50_000

    def __init__(self):
        self._key = None
        self._counts: dict[tuple[str, str], int] = {}

    def of(self, searcher):
        """A ``doc_frequency(fieldname, text)`` function for ``searcher``."""
        key = id(searcher), searcher.reader().generation()
        if key != self._key or len(self._counts) > self.LIMIT:
            self._key, self._counts = key, {}
        counts = self._counts

        def doc_frequency(fieldname: str, text: str) -> int:
            found = counts.get((fieldname, text))
            if found is None:
                found = counts[(fieldname, text)] = searcher.doc_frequency(fieldname, text)
            return found

        return doc_frequency


@dataclass
class Outcome:
    """What one search found, before it is shaped for HTML or JSON."""

    parsed: ParsedQuery
    total: int
    hits: list[dict]
    facets: dict[str, list[dict]]
    suggestion: str | None
    expanded: list[str]
    #: The results are for ``suggestion`` because the query as typed found nothing.
    corrected: bool = False
    #: Nothing had every word; results have some of them.
    loosened: bool = False
    #: For each active facet: how many results there would be without it ({"thema": 12}).
    without: dict[str, int] = field(default_factory=dict)
    page: int = 1
    pages: int = 0
    sort: str = "relevantie"
    ready: bool = True



class QueryEngine:
    """The queries of one application, over the index its keeper keeps current."""

    def __init__(self, keeper: IndexKeeper, session_factory: sessionmaker | None = None,
                 thesaurus: Thesaurus | None = None):
        self.keeper = keeper
        self.session_factory = session_factory
        self.thesaurus = thesaurus or Thesaurus.load()
        self._facets = FacetIndex()
        self._stored = StoredDocuments()
        self._doc_frequencies = DocFrequencies()
        self._spelling_words = SpellingWords()
        self._mask_cache = MaskCache()
        self._ranker = Ranker(MaskCache(budget_mb=384))
        self._order_cache: tuple | None = None
        self._facet_cache: tuple | None = None
        self._facet_options_cache: tuple | None = None
        self._labels: dict[str, dict[str, str]] = {}
        self._labels_loaded = 0.0
        #: Label tables are read again when the index changed (keeper version); query caches are used under
        #: the keeper's lock, which serialises reads.
        self._labels_version = -1
        self._related = RelatedLists()
        self._related_space: tuple[int, ExampleSpace] | None = None

    def _facet_masks(self, searcher):
        key = id(searcher), searcher.reader().generation()
        if self._facet_cache is None or self._facet_cache[0] != key:
            self._facet_cache = (key, self._facets.for_searcher(searcher))
            # A new searcher: what is kept per segment goes for the segments it no longer has (merged, rebuilt).
            live = {segment_key(sub.reader()) for sub, _offset in searcher.leaf_searchers()}
            self._stored.forget_segments_except(live)
            self._spelling_words.forget_segments_except(live)
        return self._facet_cache[1]

    def labels(self, version: int | None = None) -> dict[str, dict[str, str]]:
        """Facet value -> label, read from the vocabulary tables (again after index changes, or after 5 minutes).
        Requests pass the labels of their content generation to ``search`` instead (portal.search.labels)."""
        fresh = version is None or version == self._labels_version
        if fresh and self._labels_loaded and time.monotonic() - self._labels_loaded < 300:
            return self._labels
        labels: dict[str, dict[str, str]] = {"type": dict(docs_mod.TYPE_LABELS)}
        if self.session_factory is not None:
            from portal.content.cards import read_vocabulary

            try:
                with self.session_factory() as session:
                    labels = facet_labels(read_vocabulary(session))
            except Exception:
                log.warning("labels voor zoekfilters niet te laden", exc_info=True)
        self._labels = labels
        self._labels_loaded = time.monotonic()
        if version is not None:
            self._labels_version = version
        return labels

    def search(
        self,
        q: str | None,
        filters: Filters | None = None,
        page: int = 1,
        sort: str = "relevantie",
        page_size: int = PAGE_SIZE,
        facets: bool = True,
        labels: dict[str, dict[str, str]] | None = None,
    ) -> Outcome:
        """``labels``: the facets' display names (portal.search.labels); by default this engine's own copy."""
        filters = filters or Filters()
        page = max(1, min(int(page or 1), MAX_PAGE))
        sort = sort if sort in SORTS else "relevantie"
        parsed = parse(q)
        with self.keeper.reading() as view:
            if not view.ready:
                return Outcome(parsed, 0, [], {}, None, [], ready=False)
            doc_frequency = self._doc_frequencies.of(view.searcher)
            known = self._known_in(doc_frequency)
            built = build(parsed, self.thesaurus, view.lexicon, known)
            outcome = self._run(view, parsed, built, filters, page, sort, page_size, facets, labels)
            if outcome.total == 0 and not parsed.is_empty:
                suggestion, corrected = self._spelling(view.searcher, parsed)
                outcome.suggestion = suggestion
                if corrected is not None:
                    retry = self._run(
                        view,
                        corrected,
                        build(corrected, self.thesaurus, view.lexicon, known),
                        filters,
                        page,
                        sort,
                        page_size,
                        facets,
                        labels,
                    )
                    if retry.total:
                        retry.suggestion, retry.corrected, retry.parsed = suggestion, True, parsed
                        outcome = retry
            elif outcome.total and not parsed.is_empty:
                outcome.suggestion = self._spelling(view.searcher, parsed, only_unknown=True)[0]
            return outcome

    def _newest(self, searcher, mask: int, offset: int, count: int) -> list[int]:
        """Documents in ``mask``, newest first: a walk over a per-searcher order of all documents."""
        key = id(searcher), searcher.reader().generation()
        if self._order_cache is None or self._order_cache[0] != key:
            dated = []
            for sub, base in searcher.leaf_searchers():
                reader = sub.reader()
                column = reader.column_reader("updated") if reader.has_column("updated") else None
                for docnum in range(reader.doc_count_all()):
                    dated.append((column[docnum] if column is not None else 0, base + docnum))
            dated.sort(reverse=True)
            self._order_cache = (key, [d for _v, d in dated])
        bits = mask.to_bytes((mask.bit_length() + 7) // 8 or 1, "little")
        size = len(bits) * 8
        out: list[int] = []
        seen = 0
        for docnum in self._order_cache[1]:
            if docnum < size and bits[docnum >> 3] >> (docnum & 7) & 1:
                if seen >= offset:
                    out.append(docnum)
                    if len(out) >= count:
                        break
                seen += 1
        return out

    @staticmethod
    def _known_in(doc_frequency):
        return lambda term: doc_frequency("all", term) > 0

    def _run(self, view: IndexView, parsed, built: BuiltQuery, filters: Filters, page, sort, page_size,
             facets, labels) -> Outcome:
        searcher = view.searcher
        field_masks, everything = self._facet_masks(searcher)
        hidden_mask = 0
        if view.hidden:
            for key in view.hidden:
                n = searcher.document_number(key=key)
                if n is not None:
                    hidden_mask |= 1 << n
        loosened = False
        q = built.query

        evaluator = MaskEvaluator(searcher, self._mask_cache)

        def matched(query) -> int:
            base = everything if query is None else evaluator.evaluate(query)
            return base & everything & ~hidden_mask

        # Tips are fragments of their example (whose text includes them): listed only when asked for.
        tips = field_masks.get("type", {}).get("tip", 0)
        hide_tips = "tip" not in filters.values.get("type", [])
        mask = matched(q)
        filter_mask = self._filter_mask(filters, field_masks)
        shown = (lambda m: m & ~tips) if hide_tips else (lambda m: m)
        if q is not None and built.loose is not None and shown(mask & filter_mask).bit_count() < MIN_STRICT:
            loose_mask = matched(built.loose)
            if shown(loose_mask & filter_mask).bit_count() > shown(mask & filter_mask).bit_count():
                # Few or no results have every word: rank those first, then results with some of the words.
                q = wq.Or([wq.And([q], boost=4.0), built.loose])
                mask, loosened = loose_mask, True
        result_mask = shown(mask & filter_mask)
        total = result_mask.bit_count()

        hits: list[dict] = []
        pages = math.ceil(total / page_size) if total else 0
        if total:
            page = min(page, pages)
            offset = (page - 1) * page_size
            terms: dict[str, set[str]] = {}
            if q is not None:
                for fieldname, text in q.iter_all_terms():
                    if isinstance(text, bytes):
                        text = text.decode("utf-8")
                    terms.setdefault(fieldname, set()).add(text)
            if sort == "nieuwste" or q is None:
                for docnum in self._newest(searcher, result_mask, offset, page_size):
                    hits.append(self._hit_dict(searcher, *self._stored.get(searcher, docnum), 0.0, terms))
            else:
                for docnum, score in self._ranker.top(searcher, q, result_mask, offset + page_size,
                                                           self._doc_frequencies.of(searcher))[offset:]:
                    hits.append(self._hit_dict(searcher, *self._stored.get(searcher, docnum), score, terms))

        facet_lists = self._facet_counts(labels or self.labels(view.version), mask, filters, field_masks,
                                          tips if hide_tips else 0) if facets else {}
        without = {}
        for name in filters.values:
            others = self._filter_mask(filters, field_masks, without=name)
            without[name] = shown(mask & others).bit_count() if name != "type" else (mask & others & ~tips).bit_count()
        return Outcome(
            parsed,
            total,
            hits,
            facet_lists,
            None,
            built.expanded,
            loosened=loosened,
            without=without,
            page=page,
            pages=pages,
            sort=sort,
        )

    def _filter_mask(self, filters: Filters, field_masks, without: str | None = None) -> int:
        mask = -1
        for name, chosen in filters.values.items():
            if name == without:
                continue
            masks = field_masks.get(FILTER_FIELDS[name], {})
            union = 0
            for value in chosen:
                union |= masks.get(value, 0)
            mask &= union
        return mask

    def _facet_counts(self, labels: dict, mask: int, filters: Filters, field_masks,
                      tips: int) -> dict[str, list[dict]]:
        options = self._facet_options(labels, field_masks)
        out: dict[str, list[dict]] = {}
        for name in FACETS:
            base = mask & self._filter_mask(filters, field_masks, without=name)
            if name != "type":
                base &= ~tips
            chosen = filters.values.get(name, [])
            entries = []
            for value, value_mask, label in options.get(name, ()):
                if name == "type" and value == "tip" and tips and not chosen:
                    # Tips are not listed unless asked for, so without a type choice their count would not add
                    # up to the results shown; once a type is chosen, "Tip" is offered like the other types.
                    continue
                count = (base & value_mask).bit_count()
                if count or value in chosen:
                    entries.append({"value": value, "label": label, "count": count, "selected": value in chosen})
            # Most results first; the options are in label order, and a stable sort keeps it among equal counts.
            entries.sort(key=itemgetter("count"), reverse=True)
            out[name] = entries
        return out

    def _facet_options(self, labels: dict, field_masks: dict) -> dict[str, list[tuple[str, int, str]]]:
        """Per facet its (value, mask, label) in label order: worked out once per index view and set of labels,
        not per search (folding and sorting the labels cost a search page 5% of its time)."""
        cached = self._facet_options_cache
        if cached is not None and cached[0] is labels and cached[1] is field_masks:
            return cached[2]
        options = {}
        for name in FACETS:
            names = labels.get(name, {})
            found = [(value, value_mask, names.get(value, value))
                     for value, value_mask in field_masks.get(name, {}).items()]
            options[name] = sorted(found, key=lambda option: fold(option[2]))
        self._facet_options_cache = (labels, field_masks, options)
        return options

    def _hit_dict(self, searcher, stored: dict, data: dict, score: float | None,
                  terms: dict[str, set[str]] | None) -> dict:
        """One result as the pages and the API show it, from a document's stored fields and display data (shared,
        read-only: see StoredDocuments)."""
        highlights: list[str] = []
        if terms:
            analyzer = searcher.schema["all"].analyzer
            wanted = terms.get("all", set()) | terms.get("title", set())
            for name in HIGHLIGHT_FIELDS:
                if stored.get(name) and wanted:
                    highlights.extend(snippets(stored[name], wanted, analyzer, limit=2 - len(highlights)))
                if len(highlights) >= 2:
                    break
        updated = stored.get("updated")
        return {
            "slug": stored.get("slug", ""),
            "type": stored.get("type", ""),
            "title": stored.get("title", ""),
            "summary": stored.get("summary", ""),
            "route": data.get("route", ""),
            "fragment": data.get("fragment", ""),
            "place": data.get("place", ""),
            "province": data.get("province", ""),
            "region": data.get("region", ""),
            "themes": list(data.get("themes", [])),
            "score": round(float(score or 0.0), 4),
            "highlights": highlights,
            "updated": updated.isoformat() if isinstance(updated, dt.datetime) else None,
        }

    def _spelling(self, searcher, parsed: ParsedQuery,
                  only_unknown: bool = False) -> tuple[str | None, ParsedQuery | None]:
        """ "Bedoelde u": the query with unknown words replaced by the closest indexed word."""
        candidates = spelling_candidates(parsed)
        if not candidates:
            return None, None
        doc_frequency = self._doc_frequencies.of(searcher)
        replaced = False
        texts = [c.text for c in parsed.clauses]
        for n, word in candidates:
            if doc_frequency("spell", word) > 0 or doc_frequency("all", stem(word)) > 0:
                continue
            best = None
            for maxdist in (1, 2):
                options = self._spelling_words.suggest(searcher, word, limit=5, maxdist=maxdist)
                options = [o for o in options if o != word]
                if options:
                    best = max(options, key=lambda o: doc_frequency("spell", o))
                    break
            if best:
                texts[n] = best
                replaced = True
        if not replaced:
            return None, None
        pieces = []
        for clause, text in zip(parsed.clauses, texts, strict=True):
            piece = f'"{text}"' if clause.kind == "phrase" else (f"{text}*" if clause.kind == "prefix" else text)
            if clause.negated:
                piece = f"-{piece}"
            if clause.or_previous:
                piece = f"OR {piece}"
            pieces.append(piece)
        suggestion = " ".join(pieces)
        return suggestion, parse(suggestion)

    def suggest(self, q: str | None, limit: int = 8) -> list[dict]:
        """Autocomplete: titles, places and themes that start with what was typed."""
        parsed_words = [w for w in fold(" ".join((q or "").split())[:100]).split() if w]
        if not parsed_words:
            return []
        prefix = "".join(ch for ch in parsed_words[-1] if ch.isalnum())
        head = [w for w in ("".join(ch for ch in w if ch.isalnum()) for w in parsed_words[:-1]) if w]
        if not prefix:
            return []
        out: list[dict] = []
        typed = " ".join([*head, prefix])
        labels = self.labels()
        for kind, facet in (("thema", "thema"), ("plaats", "regio")):
            for value, label in sorted(labels.get(facet, {}).items(), key=lambda kv: kv[1]):
                folded = fold(label)
                if folded.startswith(typed) or any(w.startswith(typed) for w in folded.split()):
                    out.append({"label": label, "type": kind, "value": value})
        with self.keeper.reading() as view:
            if not view.ready:
                return out[:limit]
            parts: list[wq.Query] = [wq.Term("ac", w) for w in head]
            parts.append(wq.Prefix("ac", prefix))
            query = wq.And(parts) if len(parts) > 1 else parts[0]
            exclude = wq.Term("type", "tip")
            results = view.searcher.search(query, limit=limit, mask=exclude)
            seen = {o["label"] for o in out}
            for hit in results:
                if hit["title"] not in seen:
                    seen.add(hit["title"])
                    data = json.loads(hit.get("data") or "{}")
                    out.append(
                        {
                            "label": hit["title"],
                            "type": hit["type"],
                            "slug": hit["slug"],
                            "route": data.get("route", ""),
                        }
                    )
        return out[:limit]

    #: A query that touches what every search needs (facet bitsets, labels, ranking planes, snippets).
    WARM_UP_QUERY = "onderwijs jeugdhulp"

    def warm_up(self) -> float:
        """Fill the per-searcher caches now, so the first visitor after a start or a change does not pay for them.
        Two ordinary searches: bounded by the cost of two queries. Returns the seconds it took."""
        started = time.perf_counter()
        self.search(None)  # browsing: facet bitsets, labels, the newest-first order
        self.search(self.WARM_UP_QUERY)  # a term query: field lengths, ranking planes, snippets
        return time.perf_counter() - started

    #: The frequent-term warm-up reads at most this many postings (about 2.5 s of one core per million, and
    #: ~10 bytes of cache per posting plus planes of one byte per document per word and field) and stops after
    #: WARM_TERMS_SECONDS of CPU time of its thread in any case (CPU, not wall time: on a busy machine it
    #: prepares the same words, only later).
    WARM_TERMS_POSTINGS = 1_500_000
    WARM_TERMS_SECONDS = 5.0
    #: The postings budget grows with the index: a quarter of the postings of field "all", up to this many (at
    #: 100,000 items about 250 words in 4 s of CPU time, and some 130 MB of cache: per word and field a bitset and
    #: eight planes of one bit per document, 2.25 bytes per document for both fields, plus 8 bytes per posting).
    WARM_TERMS_POSTINGS_MAX = 6_000_000
    #: Words in fewer documents than this (and than 0.5% of them) are cheap on first use: not prepared.
    WARM_TERMS_MIN_DOCS = 64

    #: Index files read ahead into the OS page cache at warm-up (term dictionaries first; see index.prefetch).
    PREFETCH_BYTES = 512 * 1024 * 1024

    #: Words whose analysis (stem, compound parts) the warm-up remembers: snippets analyse the words around each
    #: match, and a word's first analysis costs tens of microseconds (about 0.3 s and 3 MB for 10,000 words).
    WARM_ANALYSED_WORDS = 10_000

    @staticmethod
    def _frequent_words(searcher, count: int) -> list[str]:
        frequency: dict[str, int] = {}
        for sub, _offset in searcher.leaf_searchers():
            reader = sub.reader()
            if "spell" not in reader.indexed_field_names():
                continue
            for text, info in reader.iter_field("spell"):
                word = term_text(text)
                frequency[word] = frequency.get(word, 0) + info.doc_frequency()
        return heapq.nlargest(count, frequency, key=frequency.__getitem__)

    def warm_terms(self, postings: int | None = None, seconds: float | None = None) -> tuple[int, int]:
        """Prepare the most frequent words (their document sets and ranking planes): the first use of a common
        word is the expensive one, as it reads tens of thousands of postings; rare words are cheap anyway.
        One short hold of the reading lock per word, so searches are not held up. Returns (words, postings)."""
        budget = postings
        deadline = time.thread_time() + (self.WARM_TERMS_SECONDS if seconds is None else seconds)
        with self.keeper.reading() as view:
            if not view.ready:
                return 0, 0
            if view.generation is not None:
                prefetch(view.generation.path, self.PREFETCH_BYTES)
            frequency: dict[str, int] = {}
            for sub, _offset in view.searcher.leaf_searchers():
                for text, info in sub.reader().iter_field("all"):
                    term = term_text(text)
                    if " " not in term:  # prepared phrases are cheap: one posting list
                        frequency[term] = frequency.get(term, 0) + info.doc_frequency()
            if budget is None:
                budget = min(self.WARM_TERMS_POSTINGS_MAX, max(self.WARM_TERMS_POSTINGS, sum(frequency.values()) // 4))
            least = max(self.WARM_TERMS_MIN_DOCS, view.searcher.doc_count_all() // 200)
            analyzer = view.searcher.schema["all"].analyzer
            frequent_words = self._frequent_words(view.searcher, self.WARM_ANALYSED_WORDS)
        # The analysis of the most frequent words (snippets analyse the text around every match), also filed in
        # the snippets' word index (as written in lower case, which most words of a text are).
        for start in range(0, len(frequent_words), 500):
            if time.thread_time() > deadline:
                break
            learn_words(analyzer, frequent_words[start : start + 500])
        # Thesaurus expansions first (a bounded set; they rank with their own weight), then the most frequent words.
        work = [(t, ALTERNATIVE_BOOST) for t in sorted(self.thesaurus.alternative_stems()) if t in frequency]
        work += [(t, 1.0) for t in sorted(frequency, key=lambda t: (-frequency[t], t))]
        words = done = 0
        for term, boost in work:
            if frequency[term] < least:
                continue
            if done + frequency[term] > budget or time.thread_time() > deadline:
                break
            with self.keeper.reading() as view:
                if not view.ready:
                    break
                evaluator = MaskEvaluator(view.searcher, self._mask_cache)
                for fieldname in FIELD_WEIGHTS:
                    evaluator.term(fieldname, term)
                self._ranker.prepare(view.searcher, [(f, term, w * boost) for f, w in FIELD_WEIGHTS.items()])
            words += 1
            done += frequency[term]
        return words, done

    def related(self, slug: str, limit: int = 5) -> list[dict]:
        """More like this for a practice example (portal.search.related): the list stored with the index
        generation, or for an example it lacks (an index built before lists were stored), one computed now and kept
        until the index changes. Resolved against the current index: gone or hidden examples are skipped."""
        generation = self.keeper.generation
        self._related.follow(generation.path if generation is not None else None)  # outside the lock: may parse
        with self.keeper.reading() as view:
            if view.searcher is None:
                return []
            path = view.generation.path
            kept = self._related.get(path, view.version, slug)
            if kept is None:
                if self._related_space is None or self._related_space[0] != view.version:
                    self._related_space = (view.version, ExampleSpace(view.searcher, planes_mb=16))
                kept = compute_one(self._related_space[1], slug)
                if kept is None:
                    return []
                self._related.put_computed(path, view.version, slug, kept)
            return resolve_kept(view, kept, limit, self._stored)
