"""Dutch text analysis: the one place that decides what a "word" is for search.

The index chain is::

    words (hyphens and apostrophes kept inside a word) -> lowercase -> accent folding -> Dutch stop words
    -> hyphen/apostrophe joining (onderwijs-zorg = onderwijszorg, plus the parts)
    -> compound splitting against a lexicon (onderwijszorgarrangement also yields zorgarrangement, zorg, ...)
    -> Dutch stemming with diminutives and a few irregular plurals (klasjes = klas, kinderen = kind)

Queries use the same chain but without compound splitting: the index already holds every part and span of a
compound, so the query word "zorgarrangement" simply matches the span emitted for "onderwijszorgarrangement".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from whoosh.analysis import Token, Tokenizer
from whoosh.lang import stemmer_for_language, stopwords_for_language
from whoosh.support.charset import accent_map

#: A word: letters/digits, with hyphens or apostrophes inside it (ib'er, onderwijs-zorg, 's-Hertogenbosch).
WORD_PATTERN = r"\w+(?:['’\-]\w+)*"
_WORD_RE = re.compile(WORD_PATTERN, re.UNICODE)
_JOINERS_RE = re.compile(r"['’\-]")

#: Dutch stop words. A few words that carry meaning in this field are taken off the stock list.
STOP_WORDS = frozenset(stopwords_for_language("nl")) - {"niet", "zonder", "onder"} | {"één", "eén"}

#: Smallest compound part we accept, and the smallest word we try to split.
MIN_PART = 4
MIN_COMPOUND = 7
#: Short words that are real compound parts in this field (dagbesteding, ggz-team, wetgeving).
SHORT_PARTS = frozenset({"dag", "ggz", "wet", "zat", "ikc", "cjg", "swv", "oza", "tlv", "opp", "arm", "vso", "sbo"})
#: Word endings that are also (rare) words; they must never count as a compound part.
NOT_PARTS = frozenset(
    {
        "heid",
        "lijk",
        "baar",
        "eren",
        "ende",
        "atie",
        "teit",
        "erij",
        "schap",
        "zaam",
        "ling",
        "lingen",
        "tjes",
        "ster",
        "isch",
        "loos",
        "tische",
        "ische",
        "sche",
        "aars",
        "tief",
        "tieve",
        "elen",
        "enen",
        "eden",
        "aten",
        "igen",
        "ingen",
        "heden",
        "erde",
        "erin",
    }
)

#: Irregular plurals and diminutives the stemmer does not conflate (looked up after folding, before stemming).
IRREGULAR = {
    "kinderen": "kind",
    "kindje": "kind",
    "kindjes": "kind",
    "kinders": "kind",
    "scholen": "school",
    "steden": "stad",
    "schepen": "schip",
    "gelegenheden": "gelegenheid",
    "leden": "lid",
    "jongens": "jongen",
}

_snowball = stemmer_for_language("nl")
#: Distinct words an analyzer remembers the terms of (per mode) before it starts over.
MEMO_SIZE = 300_000
_DOUBLE_END = re.compile(r"([bdfgklmnprst])\1$")


_NON_ASCII_CHAR = re.compile(r"[^\x00-\x7f]")


def fold(text: str) -> str:
    """Lowercase and strip accents (Fryslân -> fryslan, coördinator -> coordinator).

    Each distinct non-ASCII character is replaced once (str.replace, in C) instead of looking every character up in
    the map: folding a 4 kB body cost 0.3 ms that way, and snippets fold each hit's text. The same result: the map
    leaves ASCII as it is and every image in it is ASCII, so no replacement makes or unmakes another's character
    (tests/search/test_analysis_fold.py).
    """
    text = text.lower()
    if text.isascii():
        return text
    for char in set(_NON_ASCII_CHAR.findall(text)):
        image = char.translate(accent_map)
        if image != char:
            text = text.replace(char, image)
    return text


def _strip_diminutive(word: str) -> str:
    """klasjes -> klas, huisje -> huis, bloempje -> bloem, rolletje -> rol (only on words of 6+ letters)."""
    if len(word) < 6:
        return word
    for suffix in ("etjes", "etje"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            stem = word[: -len(suffix)]
            return stem[:-1] if _DOUBLE_END.search(stem) else stem
    for suffix in ("pjes", "pje"):
        if word.endswith(suffix) and word[: -len(suffix)].endswith("m"):
            return word[: -len(suffix)]
    for suffix in ("tjes", "tje"):
        if word.endswith(suffix) and word[: -len(suffix)][-1:] in "aeiouyln":
            return word[: -len(suffix)]
    for suffix in ("jes", "je"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Dutch stem of a folded, lowercase word."""
    if not word.isalpha():
        return word
    word = IRREGULAR.get(word, word)
    result = _snowball(_strip_diminutive(word))
    # Snowball keeps a doubled end in some plurals (klassen -> klass): undouble, so klas = klassen.
    return result[:-1] if _DOUBLE_END.search(result) else result


@dataclass
class Lexicon:
    """Known words for compound splitting: a curated word list plus words seen in the corpus."""

    words: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        #: The file this lexicon was loaded from or saved to (index processes find it by this path).
        self.path: Path | None = None
        self._memo: dict[str, list[tuple[int, int, int]] | None] = {}
        self._parts: dict[str, list[str]] = {}
        self._stems: set[str] | None = None
        #: Bumped by every change of ``words`` through add_text (analyzers memoise per word on it).
        self.version = 0

    @property
    def stems(self) -> set[str]:
        if self._stems is None:
            self._stems = {stem(w) for w in self.words}
        return self._stems

    @classmethod
    def load(cls, path: Path) -> Lexicon:
        words = set()
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                line = line.strip()
                if line and not line.startswith("#"):
                    words.add(fold(line))
        lexicon = cls(words)
        lexicon.path = path
        return lexicon

    def save(self, path: Path) -> None:
        path.write_text("\n".join(sorted(self.words)) + "\n", encoding="utf-8")
        self.path = path

    def add_text(self, text: str) -> None:
        for match in _WORD_RE.finditer(text):
            for word in _JOINERS_RE.split(fold(match.group())):
                if self.acceptable(word):
                    self.words.add(word)
        self._stems = None
        self.version += 1
        self._memo.clear()
        self._parts.clear()

    @staticmethod
    def acceptable(word: str) -> bool:
        return (
            word.isalpha()
            and (len(word) >= MIN_PART or word in SHORT_PARTS)
            and word not in NOT_PARTS
            and word not in STOP_WORDS
        )

    def _is_part(self, part: str) -> bool:
        return part in self.words and (len(part) >= MIN_PART or part in SHORT_PARTS) and part not in NOT_PARTS

    def segments(self, word: str) -> list[tuple[int, int, int]] | None:
        """Split ``word`` into (start, core_end, end) segments, or None when it is not a known compound.

        ``core_end`` excludes a linking ``s`` or ``e`` (samenwerking|s|verband). The longest known head
        wins, and the rest must be a known word or split further.
        """
        if word in self._memo:
            return self._memo[word]
        self._memo[word] = None  # guards against recursion on the same word
        result = self._split(word, 0) if len(word) >= MIN_COMPOUND and word.isalpha() else None
        self._memo[word] = result
        return result

    def _split(self, word: str, offset: int) -> list[tuple[int, int, int]] | None:
        n = len(word)
        for i in range(n - 3, 2, -1):
            head, rest = word[:i], word[i:]
            cores = []
            if self._is_part(head):
                cores.append(i)
            if head[-1:] in "se" and self._is_part(head[:-1]):
                cores.append(i - 1)
            if not cores:
                continue
            if self._is_part(rest) or (len(rest) >= MIN_PART and rest not in NOT_PARTS and stem(rest) in self.stems):
                tail = [(offset + i, offset + n, offset + n)]
            elif len(rest) >= MIN_COMPOUND:
                tail = self._split(rest, offset + i)
                if tail is None:
                    continue
            else:
                continue
            return [(offset, offset + cores[0], offset + i), *tail]
        return None

    def parts(self, word: str) -> list[str]:
        """Every part and every span of consecutive parts of a compound, except the whole word."""
        cached = self._parts.get(word)
        if cached is None:
            if len(self._parts) > 500_000:
                self._parts.clear()
            cached = self._parts[word] = self._compute_parts(word)
        return cached

    def _compute_parts(self, word: str) -> list[str]:
        segs = self.segments(word)
        if not segs or len(segs) < 2:
            return []
        out: list[str] = []
        for i in range(len(segs)):
            for j in range(i, len(segs)):
                if i == 0 and j == len(segs) - 1:
                    continue
                start, core_end = segs[i][0], segs[j][1]
                span = word[start:core_end]
                if span not in out:
                    out.append(span)
                if i == j:
                    out.extend(p for p in self.parts(span) if p not in out)
        return out


class DutchAnalyzer(Tokenizer):
    """The whole chain in one pass (words, folding, stop words, joining, compounds, stems).

    One generator instead of a stack of filters: indexing 100,000 documents spends most of its time here.
    ``stemming=False`` gives the folding-only analyzer of the spelling and autocomplete fields.
    """

    def __init__(self, lexicon: Lexicon | None = None, stemming: bool = True):
        self.lexicon = lexicon or Lexicon()
        self.stemming = stemming

    def __getstate__(self):
        # The lexicon lives next to the index (lexicon.txt): the pickled schema names the file, not the words.
        path = self.lexicon.path
        return {"stemming": self.stemming, "lexicon_path": str(path) if path else None}

    def __setstate__(self, state):
        self.stemming = state.get("stemming", True)
        path = state.get("lexicon_path")
        self.lexicon = Lexicon.load(Path(path)) if path and Path(path).exists() else Lexicon()

    def __eq__(self, other):
        return type(other) is type(self) and other.stemming == self.stemming

    def __call__(
        self,
        value,
        positions=False,
        chars=False,
        keeporiginal=False,
        removestops=True,
        start_pos=0,
        start_char=0,
        tokenize=True,
        mode="",
        **kwargs,
    ):
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        index_mode = mode != "query" and self.stemming
        memo = self._memo_for(index_mode)
        pos = start_pos - 1
        for match in _WORD_RE.finditer(value):
            raw = match.group()
            found = memo.get(raw)
            if found is None:
                found = self._remember(memo, raw, index_mode)
            stopped, terms = found
            if stopped and removestops:
                continue
            pos += 1
            t.stopped = stopped
            t.boost = 1.0
            if keeporiginal:
                t.original = raw
            if positions:
                t.pos = pos
            if chars:
                t.startchar = start_char + match.start()
                t.endchar = start_char + match.end()
            for term in terms:
                t.text = term
                yield t

    def word_terms(self, raw: str) -> tuple[str, ...]:
        """The index terms of one word as the tokenizer matched it, stop words included: the texts of
        ``self(raw, mode="index", removestops=False)``, from the per-word memo without a token stream."""
        memo = self._memo_for(self.stemming)
        found = memo.get(raw)
        return (found if found is not None else self._remember(memo, raw, self.stemming))[1]

    def _remember(self, memo: dict, raw: str, index_mode: bool) -> tuple[bool, tuple[str, ...]]:
        """Analyse a word the memo does not have yet and keep it there (a full memo starts over)."""
        if len(memo) >= MEMO_SIZE:
            memo.clear()
        found = memo[raw] = self._analyse(raw, index_mode)
        return found

    def _memo_for(self, index_mode: bool) -> dict:
        """The per-word memo of this analyzer (emptied when the lexicon changes)."""
        lexicon = self.lexicon
        memos = self.__dict__.get("_memos")
        if memos is None or memos[0] is not lexicon or memos[1] != lexicon.version:
            memos = self._memos = (lexicon, lexicon.version, {}, {})
        return memos[2] if index_mode else memos[3]

    def _analyse(self, raw: str, index_mode: bool) -> tuple[bool, tuple[str, ...]]:
        """(stopped, terms) of one word as matched: its own term first, then compound parts (index side)."""
        stemming = self.stemming
        text = raw.lower()
        if not text.isascii():
            text = text.translate(accent_map)
        stopped = stemming and (len(text) < 2 or text in STOP_WORDS)
        pieces = None
        if "-" in text or "'" in text or "’" in text:
            pieces = [p for p in _JOINERS_RE.split(text) if p]
            text = "".join(pieces)
        first = stem(text) if stemming else text
        if not index_mode:
            return stopped, (first,)
        lexicon = self.lexicon
        extra: list[str] = []
        if pieces:
            for piece in pieces:
                if len(piece) >= 2 and piece not in STOP_WORDS:
                    extra.append(piece)
                    extra.extend(lexicon.parts(piece))
        extra.extend(lexicon.parts(text))
        terms = [first]
        done = {first}
        for word in extra:
            term = stem(word)
            if term not in done:
                done.add(term)
                terms.append(term)
        return stopped, tuple(terms)


def dutch_analyzer(lexicon: Lexicon | None = None):
    """The analyzer of the text fields (title, summary, body, ...)."""
    return DutchAnalyzer(lexicon)


def folding_analyzer():
    """Lowercase + accent folding, no stemming: spelling suggestions and autocomplete."""
    return DutchAnalyzer(stemming=False)


def words(text: str) -> list[str]:
    """Folded words of ``text`` as typed (hyphenated words joined), stop words kept."""
    return ["".join(_JOINERS_RE.split(fold(m.group()))) for m in _WORD_RE.finditer(text)]


def query_stems(text: str) -> list[str]:
    """Stems of the meaningful words of ``text`` as the query side sees them (no compound splitting)."""
    out = []
    for word in words(text):
        if len(word) < 2 or word in STOP_WORDS:
            continue
        out.append(stem(word))
    return out


def index_terms(text: str, lexicon: Lexicon) -> Iterator[str]:
    """All terms the index analyzer produces for ``text`` (handy for tests and diagnostics)."""
    analyzer = dutch_analyzer(lexicon)
    for t in analyzer(text):
        yield t.text


def build_lexicon(texts: Iterable[str], wordlist: Path | None = None) -> Lexicon:
    lexicon = Lexicon.load(wordlist or WORDLIST_PATH)
    for text in texts:
        lexicon.add_text(text)
    return lexicon


WORDLIST_PATH = Path(__file__).with_name("wordlist.txt")
