"""The index schema and the field weights used at query time."""

from __future__ import annotations

import hashlib
import threading
import zlib
from collections import defaultdict
from collections.abc import Iterable

from whoosh.analysis import unstopped
from whoosh.fields import DATETIME, ID, KEYWORD, STORED, TEXT, Schema
from whoosh.formats import Existence, Positions

from portal.search.analysis import Lexicon, dutch_analyzer, folding_analyzer

#: Field weights at query time. "all" holds every text of an item, with title, summary, place and themes
#: written into it more than once (ALL_REPEAT): one posting list per word keeps ranking fast at 100,000
#: items, and the repetition plus the separate title field give title > summary/themes/place > body.
FIELD_WEIGHTS: dict[str, float] = {"title": 3.0, "all": 1.0}
ALL_REPEAT = {"title": 1, "place": 2, "themes": 2, "summary": 1, "meta": 1, "body": 1}
TEXT_FIELDS = tuple(FIELD_WEIGHTS)
PHRASE_FIELDS = TEXT_FIELDS
#: Fields highlighted in result snippets, in order of preference.
HIGHLIGHT_FIELDS = ("summary", "body")
#: Facet fields as named in the URL (and the JSON "facets" object).
FACETS = ("thema", "regio", "provincie", "schooltype", "type")


#: The field whose word pairs are indexed (in PAIRS_FIELD, see PairText), and that field's name.
PAIRS_OF = "all"
PAIRS_FIELD = "pairs"
#: Word pairs are indexed by a hash into this many buckets: every distinct pair as its own term made the term
#: dictionary ten times larger (about a million pairs at 10,000 examples, some 100 bytes each); 65,536 terms
#: keep it small, and the few documents in a pair's bucket that do not have the pair are sorted out on positions.
PAIR_BUCKETS = 1 << 16
#: A pair's bucket is (crc(first) * _PAIR_MULTIPLIER + crc(second)) mod PAIR_BUCKETS (pair_bucket; PairText.index).
_PAIR_MULTIPLIER = 40503
#: A term every document indexed with its pairs has in PAIRS_FIELD: a segment whose documents all have it has
#: the pairs of all its documents (segments written before pairs were indexed, or merged with such a segment,
#: do not, and their phrases are matched on positions alone).
PAIRS_SENTINEL = "-"
#: Each pair is also indexed in a second bucket, of an independent hash (pair_bucket2: the same formula over
#: another hash of the stems), as "+" and four hex digits; documents indexed so also have this term. At 100,000
#: documents a bucket holds some 240 documents (the median; 1% of them over 2,800, where a frequent pair falls),
#: nearly all without the pair, and reading their positions was most of a phrase's time; a document in both
#: buckets of a pair without having it is rare (about one per pair). Documents with this term have PAIRS_SENTINEL
#: and the first buckets too, so a segment merged from documents with and without second buckets still uses the
#: first ones, and an older portal reads a newer index as before.
PAIRS_SENTINEL_2 = "-2"


def phrase_term(stems: Iterable[str]) -> str:
    """The single index term of a prepared phrase (a space never occurs in a word's term)."""
    return " ".join(stems)


#: Each stem's CRC-32 (a stable hash: Python's own hash of a str differs between processes), and its second hash
#: (the first 4 bytes of its BLAKE2b digest, independent of the CRC).
_CRC: dict[str, int] = {}
_HASH2: dict[str, int] = {}
#: The term of each bucket, of the first hash and of the second.
_BUCKET_TERMS = [f"{n:04x}" for n in range(PAIR_BUCKETS)]
_BUCKET_BYTES = [term.encode("ascii") for term in _BUCKET_TERMS]
_BUCKET2_TERMS = [f"+{n:04x}" for n in range(PAIR_BUCKETS)]
_BUCKET2_BYTES = [term.encode("ascii") for term in _BUCKET2_TERMS]


def _crc(stem: str) -> int:
    found = _CRC.get(stem)
    if found is None:
        if len(_CRC) > 200_000:
            _CRC.clear()
        found = _CRC[stem] = zlib.crc32(stem.encode("utf-8"))
    return found


def _hash2(stem: str) -> int:
    found = _HASH2.get(stem)
    if found is None:
        if len(_HASH2) > 200_000:
            _HASH2.clear()
        found = _HASH2[stem] = int.from_bytes(hashlib.blake2b(stem.encode("utf-8"), digest_size=4).digest(), "little")
    return found


def pair_bucket(first: str, second: str) -> int:
    """The bucket of two stems (PairText.index computes the same inline)."""
    return (_crc(first) * _PAIR_MULTIPLIER + _crc(second)) & (PAIR_BUCKETS - 1)


def pair_bucket2(first: str, second: str) -> int:
    """The second bucket of two stems: pair_bucket's formula over the stems' second hash."""
    return (_hash2(first) * _PAIR_MULTIPLIER + _hash2(second)) & (PAIR_BUCKETS - 1)


def pair_term(first: str, second: str) -> str:
    """The PAIRS_FIELD term (the bucket) of two stems on consecutive positions: four hex digits."""
    return _BUCKET_TERMS[pair_bucket(first, second)]


def pair_term2(first: str, second: str) -> str:
    """The PAIRS_FIELD term of the second bucket of two stems on consecutive positions: "+" and four hex digits."""
    return _BUCKET2_TERMS[pair_bucket2(first, second)]


#: The positions PhraseText found in the last text it indexed (per thread), so that PairText, which indexes the
#: same text right after it (Whoosh indexes a document's fields in name order: "all" before "pairs"), does not
#: analyse it again.
_LAST = threading.local()


class PhraseText(TEXT):
    """A text field that also indexes prepared phrases (the thesaurus's multi-word terms) as one term each.

    A phrase query on positions reads the positions of every document that has all its words (thousands for
    "passend onderwijs"); the prepared term is one posting list. Its postings are exactly the documents where
    the phrase's stems stand on consecutive positions, as Whoosh's Phrase (slop 1) matches them, and they add
    nothing to the field length, so BM25 scores of ordinary terms do not change.
    """

    def __init__(self, analyzer, phrases: Iterable[tuple[str, ...]] = (), **kwargs):
        super().__init__(analyzer=analyzer, **kwargs)
        self.phrases = frozenset(tuple(p) for p in phrases if len(p) > 1)
        self._by_first: dict[str, list[tuple[str, ...]]] = {}
        for phrase in sorted(self.phrases):
            self._by_first.setdefault(phrase[0], []).append(phrase)

    def index(self, value, **kwargs):
        if not self.phrases or not isinstance(value, str) or type(self.format) is not Positions:
            yield from super().index(value, **kwargs)
            return
        # Whoosh's Positions.word_values, keeping the positions it collects to find the phrases in them.
        kwargs.setdefault("mode", "index")
        kwargs["positions"] = kwargs["boosts"] = True
        positions: dict[str, list[int]] = defaultdict(list)
        weights: dict[str, float] = defaultdict(float)
        for token in unstopped(self.analyzer(value, **kwargs)):
            positions[token.text].append(token.pos)
            weights[token.text] += token.boost
        _LAST.value, _LAST.positions = value, positions
        encode, field_boost = self.format.encode, self.format.field_boost
        for text, found in positions.items():
            yield text.encode("utf-8"), len(found), weights[text] * field_boost, encode(found)
        for phrase, starts in self.phrase_positions(positions):
            # Frequency 0: the writer adds frequencies up to the field length.
            yield phrase_term(phrase).encode("utf-8"), 0, float(len(starts)), encode(starts)

    def phrase_positions(self, seen: dict[str, list[int]]):
        """(phrase, start positions) of the prepared phrases in a text, given each stem's positions."""
        for first in self._by_first.keys() & seen.keys():
            for phrase in self._by_first[first]:
                if not all(stem in seen for stem in phrase[1:]):
                    continue
                later = [set(seen[stem]) for stem in phrase[1:]]
                starts = [p for p in seen[first] if all(p + k + 1 in at for k, at in enumerate(later))]
                if starts:
                    yield phrase, starts


class PairText(TEXT):
    """Every two stems on consecutive positions of a text, as the terms of their two buckets (see pair_term and
    pair_term2), without positions.

    A phrase then needs positions only of the documents that have, for each two consecutive words, a pair in
    both their buckets: about the documents that have the phrase, where before it was every document with all
    its words (thousands for common words). Its value is the text of field PAIRS_OF, analysed by the same
    analyzer; it is not scored and adds no field length. ``hashes=1`` writes the first buckets only, as indexes
    written before the second ones (tests).
    """

    def __init__(self, analyzer, hashes: int = 2):
        super().__init__(analyzer=analyzer, phrase=False)
        self.format = Existence(field_boost=1.0)
        self.scorable = False
        self.hashes = hashes

    def index(self, value, **kwargs):
        if not isinstance(value, str):
            return
        positions = getattr(_LAST, "positions", None) if getattr(_LAST, "value", None) is value else None
        if positions is None:
            positions = defaultdict(list)
            for token in unstopped(self.analyzer(value, positions=True, mode="index")):
                positions[token.text].append(token.pos)
        both = getattr(self, "hashes", 1) > 1
        # Position -> CRC-32 of the stems there (more than one for a compound and its parts), and their second hash.
        at: dict[int, list[int]] = defaultdict(list)
        at2: dict[int, list[int]] = defaultdict(list)
        for text, found in positions.items():
            crc = _crc(text)
            for pos in found:
                at[pos].append(crc)
            if both:
                other = _hash2(text)
                for pos in found:
                    at2[pos].append(other)
        mask = PAIR_BUCKETS - 1
        yield PAIRS_SENTINEL.encode("utf-8"), 1, 1.0, b""
        if both:
            yield PAIRS_SENTINEL_2.encode("utf-8"), 1, 1.0, b""
        for table, terms in ((at, _BUCKET_BYTES), (at2, _BUCKET2_BYTES)) if both else ((at, _BUCKET_BYTES),):
            buckets = set()
            for pos, firsts in table.items():
                seconds = table.get(pos + 1)
                if seconds:
                    for first in firsts:
                        first *= _PAIR_MULTIPLIER
                        buckets.update([(first + second) & mask for second in seconds])
            for bucket in buckets:
                yield terms[bucket], 1, 1.0, b""


def build_schema(lexicon: Lexicon | None = None, phrases: Iterable[tuple[str, ...]] = (), pair_hashes: int = 2
                 ) -> Schema:
    """``phrases``: multi-word terms (as stems) indexed as one term each in title and all (see PhraseText);
    ``pair_hashes``: the buckets each word pair is indexed in (PairText; 1 as indexes written before, for tests)."""
    text = dutch_analyzer(lexicon)
    phrases = frozenset(tuple(p) for p in phrases)
    return Schema(
        #: "<type>:<slug>" (tips: "tip:<example slug>:<n>"): the unique document key.
        key=ID(unique=True, stored=True),
        slug=ID(stored=True),
        #: For tips: the key of the example they belong to (deleted and re-added with it).
        parent=ID(),
        type=ID(stored=True),
        title=PhraseText(text, phrases, stored=True),
        #: Everything searchable: title, summary, place/region names and aliases, theme and school type names,
        #: target group, partners, financing, body (see ALL_REPEAT).
        all=PhraseText(text, phrases),
        #: Word pairs of "all" (see PairText): phrases without positions.
        pairs=PairText(text, pair_hashes),
        summary=STORED(),
        body=STORED(),
        #: Unstemmed words of all text: the dictionary for "Bedoelde u".
        spell=TEXT(analyzer=folding_analyzer(), phrase=False),
        #: Unstemmed title words: autocomplete.
        ac=TEXT(analyzer=folding_analyzer(), phrase=False),
        thema=KEYWORD(stored=True, commas=True, scorable=False),
        regio=KEYWORD(stored=True, commas=True, scorable=False),
        provincie=KEYWORD(stored=True, commas=True, scorable=False),
        schooltype=KEYWORD(stored=True, commas=True, scorable=False),
        #: Every region slug the item lies in (gemeente, jeugdregio, provincie): filtering from region pages.
        gebied=KEYWORD(commas=True, scorable=False),
        updated=DATETIME(stored=True, sortable=True),
        #: Display data for result lists (JSON): place, region and province names, theme names, url route.
        data=STORED(),
    )


def with_derived_fields(doc: dict) -> dict:
    """Index fields computed from the document's texts: "all", the spelling dictionary, autocomplete words."""
    texts = {name: str(doc.pop(name, "") or "") for name in ("place", "themes", "meta")}
    if "all" not in doc:
        parts = []
        for name, times in ALL_REPEAT.items():
            text = texts.get(name) if name in texts else str(doc.get(name) or "")
            parts.extend([text] * times if text else [])
        doc = {**doc, "all": "\n".join(parts)}
    doc = {**doc, **{f"_{k}": v for k, v in texts.items()}}
    if "spell" not in doc:
        # Titles, summaries and places: the distinctive words people mistype (names, projects, places).
        doc = {
            **doc,
            "spell": " ".join(
                [
                    str(doc.get("title") or ""),
                    str(doc.get("summary") or ""),
                    doc.get("_place", ""),
                    doc.get("_themes", ""),
                ]
            ),
        }
    if "ac" not in doc:
        doc = {**doc, "ac": doc.get("title", "")}
    if PAIRS_FIELD not in doc:
        doc = {**doc, PAIRS_FIELD: doc[PAIRS_OF]}  # the same object: PairText reuses PhraseText's analysis
    return {k: v for k, v in doc.items() if not k.startswith("_") or k == "_boost"}
