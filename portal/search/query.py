"""From what a visitor types to a Whoosh query. Never raises on user input.

Supported syntax: words (all must match; when none of the results has all of them, any may), "phrases in
quotes", -exclusion, -"excluded phrase", prefix*, OR/OF between two terms. Everything else (unbalanced quotes,
brackets, lone operators, field: syntax, control characters) is read as plain words or ignored.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from whoosh import query as wq

from portal.search.analysis import STOP_WORDS, Lexicon, fold, query_stems, stem
from portal.search.schema import FIELD_WEIGHTS, PHRASE_FIELDS
from portal.search.thesaurus import Thesaurus

#: Longest query we read; the rest is ignored (a query is a few words, not a document).
MAX_QUERY_CHARS = 300
#: At most this many clauses take part (protects the engine against pasted text).
MAX_CLAUSES = 16
#: Prefix queries need at least this many characters before the *.
MIN_PREFIX = 2
#: Weight of a thesaurus alternative relative to what was typed.
ALTERNATIVE_BOOST = 0.8

_TOKEN_RE = re.compile(r'(-?)"([^"]*)"|(\S+)')
_STRIP_RE = re.compile(r"^[^\w*'’\-]+|[^\w*]+$")
_OPERATORS_OR = {"OR", "OF"}
_OPERATORS_AND = {"AND", "EN"}
_OPERATORS_NOT = {"NOT", "NIET"}


@dataclass
class Clause:
    """One unit of the query: a word, phrase or prefix; maybe excluded, maybe OR-ed with the previous one."""

    kind: str  # "word" | "phrase" | "prefix"
    text: str
    negated: bool = False
    or_previous: bool = False


@dataclass
class ParsedQuery:
    text: str
    clauses: list[Clause] = field(default_factory=list)

    @property
    def positive(self) -> list[Clause]:
        return [c for c in self.clauses if not c.negated]

    @property
    def is_empty(self) -> bool:
        return not self.clauses


def clean(text: str | None) -> str:
    """Printable, normalised, bounded text: control characters become spaces."""
    if not text:
        return ""
    text = unicodedata.normalize("NFC", str(text)[: MAX_QUERY_CHARS * 4])
    text = "".join(" " if unicodedata.category(c)[0] == "C" else c for c in text)
    text = text.replace("“", '"').replace("”", '"').replace("„", '"')
    return " ".join(text.split())[:MAX_QUERY_CHARS].strip()


def parse(text: str | None) -> ParsedQuery:
    text = clean(text)
    parsed = ParsedQuery(text)
    if text.count('"') % 2:  # an unbalanced quote: read the query as plain words
        text = text.replace('"', " ")
    pending_or = pending_not = False
    for match in _TOKEN_RE.finditer(text):
        minus, phrase, raw = match.groups()
        if phrase is not None:
            if query_stems(phrase):
                parsed.clauses.append(Clause("phrase", phrase.strip(), bool(minus) or pending_not, pending_or))
            pending_or = pending_not = False
            continue
        if raw in _OPERATORS_OR:
            pending_or = bool(parsed.clauses)
            continue
        if raw in _OPERATORS_AND:
            continue
        if raw in _OPERATORS_NOT:
            pending_not = True
            continue
        negated = pending_not
        if raw.startswith("-") and len(raw) > 1:
            negated, raw = True, raw[1:]
        # Brackets, colons and other punctuation separate words; keep hyphens/apostrophes inside words.
        for piece in re.split(r"[()\[\]{}:;,!?<>=/\\|+^~&\"]+", raw):
            piece = _STRIP_RE.sub("", piece)
            if not piece or piece.strip("*") == "":
                continue
            if piece.endswith("*"):
                base = piece.rstrip("*").replace("*", "")
                if len(fold(base)) >= MIN_PREFIX:
                    parsed.clauses.append(Clause("prefix", base, negated, pending_or))
                    pending_or = False
                continue
            piece = piece.replace("*", "")
            if query_stems(piece):
                parsed.clauses.append(Clause("word", piece, negated, pending_or))
                pending_or = False
        pending_not = False
    parsed.clauses = parsed.clauses[:MAX_CLAUSES]
    if parsed.clauses:
        parsed.clauses[0].or_previous = False
    return parsed


def _term_query(stems: list[str], boost: float = 1.0) -> wq.Query:
    """All ``stems`` (a word may analyse to more than one) across the weighted text fields."""
    per_stem = [
        wq.Or([wq.Term(name, s, boost=weight * boost) for name, weight in FIELD_WEIGHTS.items()]) for s in stems
    ]
    return per_stem[0] if len(per_stem) == 1 else wq.And(per_stem)


def _phrase_query(stems: list[str], boost: float = 1.0) -> wq.Query:
    if len(stems) == 1:
        return _term_query(stems, boost)
    return wq.Or([wq.Phrase(name, stems, boost=FIELD_WEIGHTS[name] * boost) for name in PHRASE_FIELDS])


def _word_query(word: str, lexicon: Lexicon | None, known=None) -> wq.Query:
    stems = query_stems(word)
    q = _term_query(stems)
    if lexicon is not None and len(stems) == 1 and known is not None and not known(stems[0]):
        # A compound the index does not know as one word, written apart in the texts: all its parts.
        folded = "".join(p for p in re.split(r"['’\-]", fold(word)) if p)
        segments = lexicon.segments(folded)
        if segments and len(segments) > 1:
            parts = [stem(folded[start:core_end]) for start, core_end, _end in segments]
            q = wq.Or([q, wq.And([_term_query([p], 0.5) for p in parts])])
    return q


def _prefix_query(text: str) -> wq.Query:
    base = "".join(p for p in re.split(r"['’\-]", fold(text)) if p)
    options = {base, stem(base)}
    return wq.Or([wq.Prefix(name, o, boost=w) for name, w in FIELD_WEIGHTS.items() for o in sorted(options)])


@dataclass
class BuiltQuery:
    query: wq.Query | None
    #: Same terms combined with OR: the fallback when nothing matches all of them.
    loose: wq.Query | None
    #: Thesaurus terms that were added ("ook gezocht op").
    expanded: list[str]


def build(parsed: ParsedQuery, thesaurus: Thesaurus, lexicon: Lexicon | None = None, known=None) -> BuiltQuery:
    """The Whoosh query for a parsed user query; ``query`` is None for an empty query (browse everything).

    ``known(stem)`` tells whether the index holds a stem; unknown compounds are also searched as their parts.
    """
    expanded: list[str] = []
    units: list[tuple[Clause, wq.Query]] = []

    clauses = parsed.clauses
    i = 0
    while i < len(clauses):
        clause = clauses[i]
        # The thesaurus looks at runs of plain words ("den bosch", "passend onderwijs") and single phrases.
        if clause.kind in ("word", "phrase") and not clause.negated:
            run_end = i
            if clause.kind == "word":
                while (
                    run_end + 1 < len(clauses)
                    and clauses[run_end + 1].kind == "word"
                    and not clauses[run_end + 1].negated
                    and not clauses[run_end + 1].or_previous
                ):
                    run_end += 1
            run = clauses[i : run_end + 1]
            stems = [s for c in run for s in query_stems(c.text)]
            owner = [n for n, c in enumerate(run) for _s in query_stems(c.text)]
            spans = thesaurus.match(stems)
            covered: dict[int, tuple[int, list]] = {}
            for start, end, alternatives in spans:
                first, last = owner[start], owner[end - 1]
                # Only whole words take part (a word never splits over a thesaurus span).
                if owner[start - 1 : start] == [first] or owner[end : end + 1] == [last]:
                    continue
                covered[first] = (last, alternatives)
            n = 0
            while n < len(run):
                if n in covered:
                    last, alternatives = covered[n]
                    words = run[n : last + 1]
                    original = (
                        _phrase_query(query_stems(words[0].text))
                        if words[0].kind == "phrase"
                        else _combine([_word_query(c.text, lexicon, known) for c in words])
                    )
                    alts = [_phrase_query(list(a.stems), boost=ALTERNATIVE_BOOST) for a in alternatives]
                    for a in alternatives:
                        if a.label not in expanded:
                            expanded.append(a.label)
                    units.append((words[0], wq.Or([original, *alts])))
                    n = last + 1
                    continue
                c = run[n]
                if c.kind == "phrase":
                    units.append((c, _phrase_query(query_stems(c.text))))
                else:
                    units.append((c, _word_query(c.text, lexicon, known)))
                n += 1
            i = run_end + 1
            continue
        if clause.kind == "prefix":
            units.append((clause, _prefix_query(clause.text)))
        elif clause.kind == "phrase":
            units.append((clause, _phrase_query(query_stems(clause.text))))
        else:
            units.append((clause, _term_query(query_stems(clause.text))))
        i += 1

    positives: list[wq.Query] = []
    negatives: list[wq.Query] = []
    for clause, q in units:
        if clause.negated:
            negatives.append(q)
        elif clause.or_previous and positives:
            previous = positives.pop()
            positives.append(wq.Or([previous, q]))
        else:
            positives.append(q)

    if not positives and not negatives:
        return BuiltQuery(None, None, expanded)
    strict = _combine(positives) if positives else wq.Every()
    loose = wq.Or(positives) if len(positives) > 1 else None
    if negatives:
        excluded = wq.Or(negatives)
        strict = wq.AndNot(strict, excluded)
        loose = wq.AndNot(loose, excluded) if loose is not None else None
    return BuiltQuery(strict, loose, expanded)


def _combine(queries: list[wq.Query]) -> wq.Query:
    return queries[0] if len(queries) == 1 else wq.And(queries)


def spelling_candidates(parsed: ParsedQuery) -> list[tuple[int, str]]:
    """(clause index, folded word) of the plain words worth checking for typos."""
    out = []
    for n, clause in enumerate(parsed.clauses):
        if clause.kind != "word" or clause.negated:
            continue
        word = "".join(p for p in re.split(r"['’\-]", fold(clause.text)) if p)
        if len(word) >= 4 and word.isalpha() and word not in STOP_WORDS:
            out.append((n, word))
    return out
