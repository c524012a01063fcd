"""Search benchmark: the portal's search engine cold and warm beside SQLite FTS5 (bm25) and SQL LIKE.

Usage: ``make bench BENCH_ARGS="..."``, ``bench/search [options]`` or ``.venv/bin/python bench/search.py``::

    --quick                smoke run (about a minute on a quiet machine): 100 portal examples, 1,000 synthetic
                           documents, 5 queries per kind, 1 restart, 2 edits, LIKE budget 10 s
    --portal-examples N    generated examples in the portal corpus (default 10000; 0 skips it)
    --synthetic N          synthetic documents (default 100000; 0 skips it)
    --queries N            queries per kind (default 40; 4 kinds)
    --restarts N           fresh processes for "first query after start" (default 3)
    --edits N              edit-to-visible samples (default 20)
    --like-seconds S       time budget of the LIKE baseline per corpus (default 60)
    --workdir DIR          (default: a new temporary directory, removed at the end unless --keep)
    --reuse                with --workdir: use corpora an earlier run built there (same sizes) instead of building
                           them again; their build figures are printed from that run

Figures only; nothing here passes or fails.

**Corpora.** *portal-N*: the repository's content plus N examples from ``bench/generate.py`` (real format, text
from the real content's vocabulary), loaded with ``portal-init`` + ``portal-load`` into SQLite, and the index
built from the database exactly as ``portal-reindex`` does (``SearchService.rebuild()``): this is the portal's
own index. *synthetic-N*: N documents in the index's document shape with a Zipf-like Dutch-looking vocabulary
(``Corpus`` below), built with ``SearchService.rebuild_from``. The SQL baselines hold exactly the same documents
(for portal-N: what ``portal.search.documents.all_documents`` hands the index, tips included).

**Rebuild time** excludes making the text: generated content is written and loaded before the clock starts
(portal-N: the timed part is reading the database and indexing, as portal-reindex); synthetic documents are
generated into a JSON-lines file first, the rebuild streams that file, and the time to merely read and decode the
file is measured on its own and printed beside it.

**Queries** (``--queries`` of each kind) are drawn from the corpus's own documents so they find something, with
every term used by one query only: a word qualifies when the portal's query analyzer turns it into exactly one
stem of 3+ letters, not a stop word, and that stem has not been used by any earlier query of the run (all kinds,
all passes, the restarts' queries included). Kinds: *one-word*; *multi-word*: 2-3 words of one document;
*phrase*: 2-3 consecutive words of one document in quotes (so the phrase set is as large as the query count);
*filtered*: one word plus ``thema`` and ``provincie`` of the document it came from. Words are picked at a random
position of a random document, so common words are picked more often, as in real use.

**Portal cold**: before *every* query the search service is closed, every file of the index directory is evicted
from the OS page cache (``posix_fadvise(POSIX_FADV_DONTNEED)`` per file; needs no root and touches no other
process's data; files are fsync'ed first so that no dirty page stays; nothing else holds them open),
and a new ``SearchService`` is made and started on the same index, with the start-up warm-up the portal runs
before its first request (its terms excluded from all measured queries) (new index object, new searcher, new query
caches, and whatever warm-up the portal does at start-up), and the frequent-word warm-up the portal runs in the
background right after start-up (``QueryEngine.warm_terms``: the most frequent words and the thesaurus
expansions, bounded in postings and CPU time, after asking the OS to read the index files ahead, up to a bounded
number of bytes; awaited here, as for a visitor who comes after it; measured queries may use those words, as
visitors do). The start checks every index file against its checksum (``IndexStore.open``) and the warm-up asks
the OS to read them ahead, so the measured query finds the files back in the page cache: "cold" is the state of
the new process and its caches, not of the disk (FTS5 cold, below, does read its database from disk).
That open is timed on its own ("open" line, the frequent-word
part also as CPU time); only the query is in the cold figures. The query is one
``SearchService.search(q, filters)`` call: ranking, total, facet counts, snippets, spelling, as the search page
uses it. Process-wide state (imported modules, memoised stemming) survives, but no query of the run was made
before. **Portal warm**: the same queries again, in the same
order, on one service that has run all of them once. **First query after start**: ``--restarts`` new Python
processes, each evicts the index from the page cache, starts a ``SearchService`` (timed: "start") and runs one
fresh one-word query (timed), as after a restart or reindex.

**SQLite FTS5**: table ``fts(title, summary, place, themes, meta, body)``, tokenizer ``unicode61
remove_diacritics 2`` (no Dutch stemming: the portal finds inflections that FTS5 does not), ranking ``bm25`` with
column weights 4, 1, 2, 2, 1, 1 (the portal's title weight 3 plus its combined field, where place and themes count
twice). One search = the 10 best rows with ``snippet()`` of the body, the total, and facet counts (thema, regio,
provincie, schooltype, type) over the match set from a facet table; multi-word: all words, and when fewer than 3
documents have all of them, any of them (as the portal); phrase: an FTS5 phrase; filtered: joined with the
facet table. *FTS5 cold*: a new connection per query after evicting the database file from the page cache;
*FTS5 warm*: the same queries again on one connection. **SQL LIKE**: the same documents without an index:
every word as ``%word%`` in any text column (case-insensitive for ASCII, substring match), the phrase as one
``%w1 w2%``; the match set is computed once per query into a temporary table, then the 10 first rows (by id: LIKE
cannot rank), the total and the same facet counts; one pass (warm page cache), stopped when ``--like-seconds`` is
used up, and then printed as "n of N queries".

Figures are milliseconds, p50/p95/p99 over the queries (percentile = the value at rank round(q * (n - 1))),
per kind and for all kinds together; the portal's figures also as CPU time of the searching thread (latency on an
idle core: this machine may be shared). **Edit to visible**: commit a title change and poll ``search`` until it
finds the new word (with the index writer thread running), ``--edits`` times; then unpublish and time until gone.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
BIN = ROOT / ".venv" / "bin"

from sqlalchemy import create_engine  # noqa: E402
from sqlalchemy.orm import sessionmaker  # noqa: E402

from portal.content.models import PracticeExample, Status  # noqa: E402
from portal.models import load_models  # noqa: E402
from portal.models.meta import Base  # noqa: E402
from portal.search.analysis import query_stems  # noqa: E402
from portal.search.searching import QueryEngine  # noqa: E402
from portal.search.service import Filters, SearchService  # noqa: E402

KINDS = ("one-word", "multi-word", "phrase", "filtered")
FACET_FIELDS = ("thema", "regio", "provincie", "schooltype", "type")
TEXT_COLUMNS = ("title", "summary", "place", "themes", "meta", "body")
BM25_WEIGHTS = (4.0, 1.0, 2.0, 2.0, 1.0, 1.0)
MIN_STRICT = 3
_WORD = re.compile(r"[^\W\d_]+(?:[’'\-][^\W\d_]+)*")

WORDS_TEXT = (
    "onderwijs jeugdhulp zorg school leerling leerlingen ouders kind kinderen gezin gemeente samenwerking "
    "samenwerkingsverband passend ondersteuning begeleiding behandeling klas groep leerkracht leraar team wijkteam "
    "jeugdhulpverlener zorgteam thuiszitter thuiszitters verzuim schoolverzuim angst trauma hechting autisme gedrag "
    "hoogbegaafd hoogbegaafde plusklas taalklas nieuwkomers armoede financiering subsidie bekostiging trekkingsrecht "
    "arrangement onderwijszorgarrangement zorgarrangement dagbesteding dagcentrum behandelgroep observatie diagnostiek "
    "regie regisseur zorgarrangeur overleg afspraken visie aanpak resultaten lessen pilot project traject plan "
    "ontwikkeling ontwikkelingsperspectief toelaatbaarheidsverklaring speciaal basisonderwijs voortgezet primair "
    "middelbare basisschool vso so sbo praktijkonderwijs mbo jongeren jongere pubers peuters kleuters leeftijd "
    "schooltijd onderwijstijd lestijd lokaal gebouw locatie kindcentrum integraal preventie signalering vroeg "
    "licht zwaar specialistisch ambulant intensief kortdurend langdurig structureel tijdelijk wekelijks dagelijks "
    "psycholoog orthopedagoog gedragswetenschapper intern begeleider ib zorgcoordinator schoolmaatschappelijk werker "
    "coach mentor docent directeur bestuur wethouder beleidsmedewerker consulent gezinscoach "
    "samen sterk dichtbij snel passende plek terug thuis veilig rust structuur vertrouwen betrokkenheid "
)
WORDS = WORDS_TEXT.split()

PLACES = [
    ("Apeldoorn", "midden-ijssel-oost-veluwe", "gelderland"),
    ("Deventer", "midden-ijssel-oost-veluwe", "overijssel"),
    ("Nunspeet", "noord-veluwe", "gelderland"),
    ("Zwolle", "ijsselland", "overijssel"),
    ("Hengelo", "twente", "overijssel"),
    ("Almelo", "twente", "overijssel"),
    ("Groningen", "jeugdregio-groningen", "groningen-provincie"),
    ("Franeker", "jeugdregio-fryslan", "fryslan"),
    ("Utrecht", "utrecht-stad", "utrecht-provincie"),
    ("Amsterdam", "amsterdam-amstelland", "noord-holland"),
    ("Rotterdam", "rijnmond", "zuid-holland"),
    ("Tilburg", "hart-van-brabant", "noord-brabant"),
    ("Emmen", "jeugdregio-drenthe", "drenthe"),
    ("Lelystad", "flevoland-jeugdregio", "flevoland"),
    ("Nijmegen", "rijk-van-nijmegen", "gelderland"),
    ("Alkmaar", "noord-holland-noord", "noord-holland"),
]
THEMES = [
    "thuiszitters",
    "trauma-en-hechting",
    "hoogbegaafdheid",
    "autisme",
    "gedrag",
    "ouderbetrokkenheid",
    "jeugdhulp-in-de-school",
    "preventie",
    "onderwijszorgarrangementen",
    "financiering",
    "jeugd-ggz",
    "nieuwkomers",
    "armoede",
    "regie-en-samenwerking",
    "zorg-in-onderwijstijd",
    "meervoudige-beperking",
]
SCHOOL_TYPES = ["po", "sbo", "so", "vo", "vso", "pro", "mbo"]
PHRASES = [
    "passend onderwijs",
    "speciaal onderwijs",
    "jeugdhulp in de school",
    "zorg in onderwijstijd",
    "intern begeleider",
    "voortgezet speciaal onderwijs",
]


class Corpus:
    """Deterministic synthetic Dutch documents with a Zipf-like word distribution."""

    def __init__(self, seed: int = 42):
        self.rng = random.Random(seed)
        # Domain words spread over the ranks of a larger vocabulary of Dutch-looking filler words, so that a
        # common domain word occurs in a realistic share of the documents (not in every one of them).
        filler_rng = random.Random(7)
        onsets = ["b", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z", "br", "st", "kl"]
        nuclei = ["a", "e", "i", "o", "u", "aa", "ee", "oo", "ui", "ij", "ou", "ie"]
        codas = ["", "n", "r", "l", "k", "t", "s", "m", "nd", "rt", "cht"]
        fillers = sorted(
            {
                "".join(
                    filler_rng.choice(onsets) + filler_rng.choice(nuclei) + filler_rng.choice(codas)
                    for _ in range(filler_rng.randint(2, 3))
                )
                for _ in range(6000)
            }
        )
        filler_rng.shuffle(fillers)
        vocabulary = []
        domain = iter(WORDS)
        for rank in range(len(fillers) + len(WORDS)):
            word = next(domain, None) if rank % 6 == 3 else None
            vocabulary.append(word or fillers.pop())
        weights = [1 / (rank + 1) ** 1.0 for rank in range(len(vocabulary))]
        # Cumulative once: choices(weights=...) would add up all 6,000 weights again on every call.
        self.words, self.cum_weights = vocabulary, list(itertools.accumulate(weights))

    def text(self, n: int) -> str:
        words = self.rng.choices(self.words, cum_weights=self.cum_weights, k=n)
        if self.rng.random() < 0.4:
            at = self.rng.randrange(len(words))
            words[at:at] = self.rng.choice(PHRASES).split()
        sentences, at = [], 0
        while at < len(words):
            length = self.rng.randint(8, 16)
            sentences.append(" ".join(words[at:at + length]).capitalize() + ".")
            at += length
        return " ".join(sentences)

    def documents(self, count: int):
        base = dt.datetime(2020, 1, 1)
        for i in range(count):
            place, regio, provincie = self.rng.choice(PLACES)
            themes = self.rng.sample(THEMES, self.rng.randint(1, 3))
            yield {
                "key": f"voorbeeld:doc-{i}",
                "slug": f"doc-{i}",
                "type": self.rng.choice(["voorbeeld"] * 3 + ["kennis"]),
                "title": self.text(self.rng.randint(4, 8)).rstrip("."),
                "summary": self.text(self.rng.randint(25, 45)),
                "place": place,
                "themes": " ".join(t.replace("-", " ") for t in themes),
                "meta": self.text(8),
                "body": self.text(self.rng.randint(120, 260)),
                "updated": base + dt.timedelta(hours=i),
                "data": json.dumps({"place": place, "route": "voorbeeld"}),
                "thema": ",".join(themes),
                "regio": regio,
                "provincie": provincie,
                "gebied": f"{regio},{provincie}",
                "schooltype": ",".join(self.rng.sample(SCHOOL_TYPES, self.rng.randint(0, 2))),
            }


# -- helpers ---------------------------------------------------------------------------------------------------


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))] * 1000 if ordered else float("nan")


def triple(samples: list[float]) -> str:
    if not samples:
        return f"{'-':>20}"
    return f"{pct(samples, .5):>6.1f}/{pct(samples, .95):>6.1f}/{pct(samples, .99):>6.1f}"


def evict(path: Path) -> int:
    """Ask the kernel to drop the page cache of every file under ``path``; returns the bytes concerned."""
    total = 0
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    for file in files:
        try:
            fd = os.open(file, os.O_RDONLY)
        except OSError:
            continue
        try:
            os.fsync(fd)  # dirty pages cannot be dropped: write them first (a no-op once they are clean)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            total += os.fstat(fd).st_size
        finally:
            os.close(fd)
    return total


def timed(fn):
    """(result, wall seconds, CPU seconds of this thread)."""
    wall, cpu = time.perf_counter(), time.thread_time()
    result = fn()
    return result, time.perf_counter() - wall, time.thread_time() - cpu


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def iter_jsonl(path: Path):
    with open(path, encoding="utf-8") as f:
        for line in f:
            doc = json.loads(line)
            if "updated" in doc:
                doc["updated"] = dt.datetime.fromisoformat(doc["updated"])
            yield doc


def write_jsonl(path: Path, documents) -> int:
    count = 0
    with open(path, "w", encoding="utf-8") as f:
        for doc in documents:
            f.write(json.dumps(doc, ensure_ascii=False, default=lambda v: v.isoformat()) + "\n")
            count += 1
    return count


# -- queries ---------------------------------------------------------------------------------------------------


class QueryMaker:
    """Distinct queries from the corpus's own text; no stem is used by two queries."""

    def __init__(self, sample: list[dict], seed: int):
        self.rng = random.Random(seed)
        self.docs = [d for d in sample if len(self.words(d)) > 20]
        # The portal's start-up warm-up query has warmed its own terms: no measured query may use them.
        self.used: set[str] = set(query_stems(QueryEngine.WARM_UP_QUERY))

    @staticmethod
    def words(doc: dict) -> list[str]:
        cached = doc.get("_words")
        if cached is None:
            cached = doc["_words"] = _WORD.findall(" ".join(str(doc.get(c) or "") for c in ("title", "summary",
                                                                                             "body")))
        return cached

    def fresh(self, word: str) -> str | None:
        stems = query_stems(word)
        if len(stems) != 1 or len(stems[0]) < 3 or stems[0] in self.used:
            return None
        return stems[0]

    def _pick(self, build, tries: int = 20_000):
        for _ in range(tries):
            doc = self.rng.choice(self.docs)
            made = build(doc, self.words(doc))
            if made is not None:
                return made
        raise RuntimeError("ran out of fresh query terms: use fewer --queries")

    def one_word(self, doc, words):
        word = self.rng.choice(words)
        stem = self.fresh(word)
        if stem is None:
            return None
        self.used.add(stem)
        return word.lower(), {}

    def multi_word(self, doc, words):
        count = self.rng.randint(2, 3)
        chosen, stems = [], []
        for word in self.rng.sample(words, min(len(words), 12)):
            stem = self.fresh(word)
            if stem is not None and stem not in stems:
                chosen.append(word.lower())
                stems.append(stem)
            if len(chosen) == count:
                self.used.update(stems)
                return " ".join(chosen), {}
        return None

    def phrase(self, doc, words):
        count = self.rng.randint(2, 3)
        at = self.rng.randrange(len(words) - count)
        run = words[at:at + count]
        stems = [self.fresh(w) for w in run]
        if None in stems or len(set(stems)) != count:
            return None
        self.used.update(stems)
        return '"' + " ".join(w.lower() for w in run) + '"', {}

    def filtered(self, doc, words):
        thema = [t for t in str(doc.get("thema") or "").split(",") if t]
        if not thema or not doc.get("provincie"):
            return None
        made = self.one_word(doc, words)
        if made is None:
            return None
        return made[0], {"thema": [self.rng.choice(thema)], "provincie": [doc["provincie"]]}

    def sets(self, n: int) -> dict[str, list[tuple[str, dict]]]:
        makers = {"one-word": self.one_word, "multi-word": self.multi_word, "phrase": self.phrase,
                  "filtered": self.filtered}
        return {kind: [self._pick(makers[kind]) for _ in range(n)] for kind in KINDS}


def sample_docs(path: Path, count: int, seed: int) -> list[dict]:
    """Reservoir sample of ``count`` documents (examples and articles, no tips) from a JSON-lines file."""
    rng = random.Random(seed)
    out: list[dict] = []
    seen = 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            doc = json.loads(line)
            if doc.get("parent"):
                continue
            seen += 1
            if len(out) < count:
                out.append(doc)
            elif (j := rng.randrange(seen)) < count:
                out[j] = doc
    return out


# -- the portal engine -----------------------------------------------------------------------------------------


WARM_TERMS: list[tuple[int, int, float]] = []


def open_service(index_dir: Path, factory) -> SearchService:
    """A service opened as the portal opens it at start-up (portal.search.includeme): start, then the warm-up
    searches (their terms are never used by measured queries, see QueryMaker), then the frequent-word warm-up
    that the portal runs in the background right after start-up (here awaited: a visitor who comes after it)."""
    service = SearchService(str(index_dir), factory)
    service.start(rebuild_if_needed=False)
    service.queries.warm_up()
    cpu = time.thread_time()
    words, postings = service.queries.warm_terms()
    WARM_TERMS.append((words, postings, time.thread_time() - cpu))
    return service


def bench_portal(index_dir: Path, factory, sets) -> dict:
    """Cold (reopened index, page cache evicted, before every query) and warm (second pass) figures."""
    out = {"open": [], "cold": {k: [] for k in KINDS}, "cold-cpu": {k: [] for k in KINDS},
           "warm": {k: [] for k in KINDS}, "warm-cpu": {k: [] for k in KINDS}, "hits": {k: 0 for k in KINDS}}
    for kind in KINDS:
        for q, f in sets[kind]:
            evict(index_dir)
            service, wall, _cpu = timed(lambda: open_service(index_dir, factory))
            out["open"].append(wall)
            outcome, wall, cpu = timed(lambda q=q, f=f, s=service: s.search(q, Filters(dict(f))))
            out["cold"][kind].append(wall)
            out["cold-cpu"][kind].append(cpu)
            out["hits"][kind] += bool(outcome.total)
            service.close()
    service = open_service(index_dir, factory)
    for kind in KINDS:  # one pass to fill the caches, then the measured warm pass
        for q, f in sets[kind]:
            service.search(q, Filters(dict(f)))
    for kind in KINDS:
        for q, f in sets[kind]:
            _outcome, wall, cpu = timed(lambda q=q, f=f: service.search(q, Filters(dict(f))))
            out["warm"][kind].append(wall)
            out["warm-cpu"][kind].append(cpu)
    service.close()
    return out


FIRST_QUERY = """
import json, os, sys, time
sys.path.insert(0, sys.argv[1])
sys.path.insert(0, sys.argv[1] + "/bench")
from search import evict, open_service, session_factory_for
from portal.search.service import Filters
from pathlib import Path
index_dir, db_url, q = Path(sys.argv[2]), sys.argv[3], sys.argv[4]
factory = session_factory_for(db_url)
evict(index_dir)
t0 = time.perf_counter()
service = open_service(index_dir, factory)
t1 = time.perf_counter()
outcome = service.search(q, Filters({}))
t2 = time.perf_counter()
service.close()
print(json.dumps({"start": t1 - t0, "first": t2 - t1, "total": outcome.total}))
"""


def bench_first_queries(index_dir: Path, db_url: str, queries: list[str]) -> tuple[list[float], list[float]]:
    starts, firsts = [], []
    for q in queries:
        done = subprocess.run([sys.executable, "-c", FIRST_QUERY, str(ROOT), str(index_dir), db_url, q],  # noqa: S603
                              capture_output=True, text=True, timeout=600, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"first-query process failed:\n{done.stderr[-3000:]}")
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        starts.append(figures["start"])
        firsts.append(figures["first"])
    return starts, firsts


def session_factory_for(db_url: str):
    load_models()
    return sessionmaker(bind=create_engine(db_url), expire_on_commit=False)


# -- SQL baselines ---------------------------------------------------------------------------------------------


def build_sql(path: Path, jsonl: Path) -> float:
    """docs + doc_facets + an external-content FTS5 table over the same documents; returns seconds."""
    start = time.perf_counter()
    path.unlink(missing_ok=True)  # a reused corpus keeps the previous run's baseline database
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE docs (id INTEGER PRIMARY KEY, key TEXT, " + ", ".join(f"{c} TEXT" for c in TEXT_COLUMNS)
        + ", thema TEXT, provincie TEXT);"
        "CREATE TABLE doc_facets (doc_id INTEGER, facet TEXT, value TEXT);"
        "CREATE VIRTUAL TABLE fts USING fts5(" + ", ".join(TEXT_COLUMNS)
        + ", content='docs', content_rowid='id', tokenize='unicode61 remove_diacritics 2');"
    )
    facets = []
    rows = []
    for number, doc in enumerate(iter_jsonl(jsonl), start=1):
        rows.append((number, doc["key"], *(str(doc.get(c) or "") for c in TEXT_COLUMNS),
                     str(doc.get("thema") or ""), str(doc.get("provincie") or "")))
        for facet in FACET_FIELDS:
            for value in str(doc.get(facet) or "").split(","):
                if value:
                    facets.append((number, facet, value))
        if len(rows) >= 5000:
            conn.executemany(f"INSERT INTO docs VALUES ({', '.join('?' * (3 + len(TEXT_COLUMNS) + 1))})", rows)
            conn.executemany("INSERT INTO doc_facets VALUES (?, ?, ?)", facets)
            rows, facets = [], []
    conn.executemany(f"INSERT INTO docs VALUES ({', '.join('?' * (3 + len(TEXT_COLUMNS) + 1))})", rows)
    conn.executemany("INSERT INTO doc_facets VALUES (?, ?, ?)", facets)
    conn.executescript(
        "CREATE INDEX doc_facets_doc ON doc_facets (doc_id);"
        "CREATE INDEX doc_facets_value ON doc_facets (facet, value, doc_id);"
        "INSERT INTO fts(fts) VALUES ('rebuild');"
        "INSERT INTO fts(fts) VALUES ('optimize');"
    )
    conn.commit()
    conn.close()
    return time.perf_counter() - start


def _terms(q: str) -> tuple[list[str], bool]:
    if q.startswith('"'):
        return [q.strip('"')], True
    return q.split(), False


def _fts_match(words: list[str], phrase: bool, any_word: bool = False) -> str:
    if phrase:
        return '"' + words[0].replace('"', "") + '"'
    return (" OR " if any_word else " ").join('"' + w.replace('"', "") + '"' for w in words)


def _filter_sql(f: dict, alias: str) -> tuple[str, list[str]]:
    parts, params = [], []
    for facet, values in f.items():
        parts.append(f"{alias} IN (SELECT doc_id FROM doc_facets WHERE facet = ? AND value = ?)")
        params += [facet, values[0]]
    return (" AND " + " AND ".join(parts)) if parts else "", params


def fts_search(conn: sqlite3.Connection, q: str, f: dict) -> int:
    words, phrase = _terms(q)
    weights = ", ".join(str(w) for w in BM25_WEIGHTS)
    where_filter, fparams = _filter_sql(f, "rowid")

    def total_for(match: str) -> int:
        return conn.execute(f"SELECT count(*) FROM fts WHERE fts MATCH ?{where_filter}",
                            [match, *fparams]).fetchone()[0]

    match = _fts_match(words, phrase)
    total = total_for(match)
    if not phrase and len(words) > 1 and total < MIN_STRICT:
        match = _fts_match(words, phrase, any_word=True)
        total = total_for(match)
    conn.execute(
        f"SELECT rowid, title, snippet(fts, 5, '<mark>', '</mark>', '…', 16) FROM fts WHERE fts MATCH ?{where_filter}"
        f" ORDER BY bm25(fts, {weights}) LIMIT 10", [match, *fparams]).fetchall()
    conn.execute(
        f"SELECT facet, value, count(*) FROM doc_facets WHERE doc_id IN "
        f"(SELECT rowid FROM fts WHERE fts MATCH ?{where_filter}) GROUP BY facet, value", [match, *fparams]).fetchall()
    return total


def like_search(conn: sqlite3.Connection, q: str, f: dict) -> int:
    words, _phrase = _terms(q)
    where_filter, fparams = _filter_sql(f, "id")

    def match_set(any_word: bool) -> int:
        clause = "(" + " OR ".join(f"{c} LIKE ?" for c in TEXT_COLUMNS) + ")"
        where = (" OR " if any_word else " AND ").join(clause for _ in words)
        params = [p for w in words for p in [f"%{w}%"] * len(TEXT_COLUMNS)]
        conn.execute("DROP TABLE IF EXISTS temp.m")
        conn.execute(f"CREATE TEMP TABLE m AS SELECT id FROM docs WHERE ({where}){where_filter}", [*params, *fparams])
        return conn.execute("SELECT count(*) FROM temp.m").fetchone()[0]

    total = match_set(False)
    if len(words) > 1 and total < MIN_STRICT:
        total = match_set(True)
    conn.execute("SELECT id, title FROM docs WHERE id IN (SELECT id FROM temp.m) ORDER BY id LIMIT 10").fetchall()
    conn.execute("SELECT facet, value, count(*) FROM doc_facets WHERE doc_id IN (SELECT id FROM temp.m) "
                 "GROUP BY facet, value").fetchall()
    return total


def bench_sql(path: Path, sets, like_seconds: float) -> dict:
    out = {"fts-cold": {k: [] for k in KINDS}, "fts-warm": {k: [] for k in KINDS}, "like": {k: [] for k in KINDS},
           "fts-hits": {k: 0 for k in KINDS}, "like-hits": {k: 0 for k in KINDS}, "like-run": 0}
    for kind in KINDS:
        for q, f in sets[kind]:
            evict(path)
            conn = sqlite3.connect(path)
            total, wall, _cpu = timed(lambda q=q, f=f, c=conn: fts_search(c, q, f))
            conn.close()
            out["fts-cold"][kind].append(wall)
            out["fts-hits"][kind] += bool(total)
    conn = sqlite3.connect(path)
    for kind in KINDS:
        for q, f in sets[kind]:
            fts_search(conn, q, f)
    for kind in KINDS:
        for q, f in sets[kind]:
            out["fts-warm"][kind].append(timed(lambda q=q, f=f: fts_search(conn, q, f))[1])
    budget_end = time.perf_counter() + like_seconds
    # Round-robin over the kinds, so a budget that runs out leaves every kind with a share.
    for i in range(max(len(v) for v in sets.values())):
        for kind in KINDS:
            if i < len(sets[kind]) and time.perf_counter() < budget_end:
                q, f = sets[kind][i]
                total, wall, _cpu = timed(lambda q=q, f=f: like_search(conn, q, f))
                out["like"][kind].append(wall)
                out["like-hits"][kind] += bool(total)
                out["like-run"] += 1
    conn.close()
    return out


# -- edits -----------------------------------------------------------------------------------------------------


def bench_edits(service: SearchService, session_factory, edits: int, example_id: int) -> tuple[list[float], float]:
    """Commit a title change and wait until a search finds it; also time how fast an unpublish disappears."""
    timings = []
    token = ""
    for n in range(edits):
        token = f"zoekproef{n}x{random.randrange(10**6)}"
        with session_factory() as session:
            example = session.get(PracticeExample, example_id)
            example.title = f"Voorbeeld {token}"
            example.status = Status.PUBLISHED  # a reused corpus: the previous run unpublished it
            start = time.perf_counter()
            session.commit()
        while service.search(token, facets=False).total == 0:
            if time.perf_counter() - start > 10:
                raise RuntimeError("edit not visible within 10 s")
            time.sleep(0.002)
        timings.append(time.perf_counter() - start)
    with session_factory() as session:
        example = session.get(PracticeExample, example_id)
        example.status = Status.WITHDRAWN
        start = time.perf_counter()
        session.commit()
    while service.search(token, facets=False).total and time.perf_counter() - start < 10:
        time.sleep(0.001)
    return timings, time.perf_counter() - start


# -- corpora ---------------------------------------------------------------------------------------------------


def synthetic_corpus(run: Path, size: int) -> dict:
    """A database holding one example (for the edit test) and an index of ``size`` synthetic documents."""
    db_url = f"sqlite:///{run / 'portal.sqlite'}"
    factory = session_factory_for(db_url)
    Base.metadata.create_all(factory.kw["bind"])
    with factory() as session:
        session.add(PracticeExample(slug="bench-voorbeeld", title="Voorbeeld", summary="Samenvatting",
                                    place="Zwolle", status=Status.PUBLISHED))
        session.commit()
        example_id = session.query(PracticeExample.id).scalar()
    jsonl = run / "documents.jsonl"
    start = time.perf_counter()
    write_jsonl(jsonl, Corpus(seed=size).documents(size))
    generated = time.perf_counter() - start
    read = timed(lambda: sum(1 for _ in iter_jsonl(jsonl)))[1]
    service = SearchService(str(run / "index"), factory)
    rebuild = timed(lambda: service.rebuild_from(iter_jsonl(jsonl)))[1]
    with factory() as session:  # the edit target as a rebuild from the database would index it
        session.get(PracticeExample, example_id).summary = "Samenvatting voor de benchmark"
        session.commit()
    service.drain()
    service.close()
    return {"db_url": db_url, "factory": factory, "jsonl": jsonl, "example_id": example_id,
            "lines": [f"documents generated into a file in {generated:.1f} s (not part of the rebuild)",
                      f"full rebuild from that file: {rebuild:.1f} s, of which reading and decoding the file "
                      f"{read:.1f} s: indexing {rebuild - read:.1f} s "
                      f"({size / max(rebuild - read, 1e-9):,.0f} docs/s)"]}


def portal_corpus(run: Path, examples: int) -> dict:
    from generate import make_content_dir
    from sites import loaded_sqlite_site

    content = run / "content"
    start = time.perf_counter()
    make_content_dir(examples, content)
    generated = time.perf_counter() - start
    db_url = f"sqlite:///{run / 'portal.sqlite'}"
    loaded_sqlite_site(run, content, "bench-search")
    factory = session_factory_for(db_url)
    service = SearchService(str(run / "index"), factory)
    rebuild = timed(lambda: service.rebuild())[1]
    count = service.doc_count()
    service.close()
    from portal.search.documents import all_documents

    jsonl = run / "documents.jsonl"
    with factory() as session:
        write_jsonl(jsonl, all_documents(session))
    with factory() as session:
        example_id = (session.query(PracticeExample.id).filter(PracticeExample.slug.startswith("bench-"))
                      .order_by(PracticeExample.id).limit(1).scalar())
    return {"db_url": db_url, "factory": factory, "jsonl": jsonl, "example_id": example_id,
            "lines": [f"{examples} examples generated in {generated:.1f} s and loaded with portal-load (not timed)",
                      f"full rebuild from the database (as portal-reindex): {rebuild:.1f} s, {count} documents"]}


# -- the run ---------------------------------------------------------------------------------------------------


def corpus_in(run: Path, reuse: bool, build) -> dict:
    """The corpus of ``run``: built now (recorded in corpus.json), or with ``reuse`` the one an earlier run built."""
    record = run / "corpus.json"
    if reuse and record.exists():
        saved = json.loads(record.read_text(encoding="utf-8"))
        saved["factory"] = session_factory_for(saved["db_url"])
        saved["jsonl"] = Path(saved["jsonl"])
        saved["lines"] = [f"reused from an earlier run: {line}" for line in saved["lines"]]
        return saved
    shutil.rmtree(run, ignore_errors=True)
    run.mkdir(parents=True)
    corpus = build()
    record.write_text(json.dumps({k: (str(v) if isinstance(v, Path) else v) for k, v in corpus.items()
                                  if k != "factory"}), encoding="utf-8")
    return corpus


def report(name: str, corpus: dict, run: Path, args) -> None:
    index_dir = run / "index"
    print(f"\n## {name}", flush=True)
    for line in corpus["lines"]:
        print(line)
    print(f"index size {dir_size(index_dir) / 1e6:.0f} MB; load average {os.getloadavg()[0]:.1f}, "
          f"{os.cpu_count()} cores", flush=True)
    docs = sample_docs(corpus["jsonl"], 4000, seed=len(name))
    maker = QueryMaker(docs, seed=len(name))
    sets = maker.sets(args.queries)
    restart_queries = [maker._pick(maker.one_word)[0] for _ in range(args.restarts)]
    print(f"{sum(len(v) for v in sets.values()) + len(restart_queries)} queries, {len(maker.used)} distinct stems, "
          f"none used twice", flush=True)
    start = time.perf_counter()
    portal = bench_portal(index_dir, corpus["factory"], sets)
    portal_s = time.perf_counter() - start
    starts, firsts = bench_first_queries(index_dir, corpus["db_url"], restart_queries)
    sql_path = run / "baseline.sqlite"
    built = build_sql(sql_path, corpus["jsonl"])
    start = time.perf_counter()
    sql = bench_sql(sql_path, sets, args.like_seconds)
    sql_s = time.perf_counter() - start
    n = args.queries
    print(f"portal cold/warm passes {portal_s:.0f} s; SQL baselines {sql_s:.0f} s (FTS5 database built in "
          f"{built:.1f} s, {sql_path.stat().st_size / 1e6:.0f} MB)")
    print(f"open before each cold query (close, evict, new SearchService, start): {triple(portal['open'])} ms "
          "p50/p95/p99")
    if WARM_TERMS:
        words, postings, cpu = WARM_TERMS[-1]
        print(f"frequent-word warm-up (part of open): {words} words, {postings:,} postings, "
              f"{cpu:.2f} s CPU (last open; median {sorted(w[2] for w in WARM_TERMS)[len(WARM_TERMS) // 2]:.2f} s)")
    print(f"first query after start ({args.restarts} new processes): start {triple(starts)} ms, "
          f"first query {triple(firsts)} ms (p50/p95/p99)")
    print(f"LIKE ran {sql['like-run']} of {4 * n} queries" + (" (time budget used up)" if sql["like-run"] < 4 * n
                                                              else ""))
    print("\nms p50/p95/p99 (wall). hits = queries with at least one result (portal / FTS5 / LIKE)")
    columns = ("portal cold", "portal warm", "FTS5 cold", "FTS5 warm", "LIKE")
    print(f"{'kind':<11} " + " ".join(f"{c:>20}" for c in columns) + "   hits")
    for kind in (*KINDS, "all"):
        def pick(table, kind=kind):
            return [x for k in KINDS for x in table[k]] if kind == "all" else table[kind]

        cells = [pick(portal["cold"]), pick(portal["warm"]), pick(sql["fts-cold"]), pick(sql["fts-warm"]),
                 pick(sql["like"])]
        hits = "" if kind == "all" else (f"{portal['hits'][kind]}/{sql['fts-hits'][kind]}/{sql['like-hits'][kind]}"
                                         f" of {n}")
        print(f"{kind:<11} " + " ".join(f"{triple(c):>20}" for c in cells) + f"   {hits}", flush=True)
    print(f"\nportal CPU time of the searching thread, ms p50/p95/p99\n{'kind':<11} {'cold cpu':>20} {'warm cpu':>20}")
    for kind in (*KINDS, "all"):
        def pick(table, kind=kind):
            return [x for k in KINDS for x in table[k]] if kind == "all" else table[kind]

        print(f"{kind:<11} {triple(pick(portal['cold-cpu'])):>20} {triple(pick(portal['warm-cpu'])):>20}")
    if args.edits:
        service = open_service(index_dir, corpus["factory"])
        service.start_worker()
        try:
            timings, hidden = bench_edits(service, corpus["factory"], args.edits, corpus["example_id"])
        finally:
            service.close()
        print(f"\nedit visible in search: p50/p95/p99 {triple(timings)} ms over {args.edits} edits; "
              f"unpublished gone after {hidden * 1000:.1f} ms", flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--portal-examples", type=int, default=None)
    parser.add_argument("--synthetic", type=int, default=None)
    parser.add_argument("--queries", type=int, default=None)
    parser.add_argument("--restarts", type=int, default=None)
    parser.add_argument("--edits", type=int, default=None)
    parser.add_argument("--like-seconds", type=float, default=None)
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args(argv)
    q = args.quick
    args.portal_examples = args.portal_examples if args.portal_examples is not None else (100 if q else 10_000)
    args.synthetic = args.synthetic if args.synthetic is not None else (1_000 if q else 100_000)
    args.queries = args.queries if args.queries is not None else (5 if q else 40)
    args.restarts = args.restarts if args.restarts is not None else (1 if q else 3)
    args.edits = args.edits if args.edits is not None else (2 if q else 20)
    args.like_seconds = args.like_seconds if args.like_seconds is not None else (10.0 if q else 60.0)
    if min(args.portal_examples, args.synthetic, args.restarts, args.edits) < 0 or args.queries < 1:
        parser.error("counts must be >= 0 and --queries >= 1")
    if args.reuse and not args.workdir:
        parser.error("--reuse needs --workdir")
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="bench-search-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"# search benchmark (workdir {workdir})", flush=True)
    began = time.perf_counter()
    try:
        if args.portal_examples:
            run = workdir / f"portal-{args.portal_examples}"
            count = f"{args.portal_examples:,}".replace(",", ".")
            report(f"portal index: real content + {count} generated examples",
                   corpus_in(run, args.reuse, lambda: portal_corpus(run, args.portal_examples)), run, args)
        if args.synthetic:
            run = workdir / f"synthetic-{args.synthetic}"
            count = f"{args.synthetic:,}".replace(",", ".")
            report(f"synthetic {count} documents",
                   corpus_in(run, args.reuse, lambda: synthetic_corpus(run, args.synthetic)), run, args)
    finally:
        if not args.keep and not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"\nwhole run {time.perf_counter() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
