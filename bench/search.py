"""Search benchmark: a synthetic Dutch corpus of 1k, 10k and 100k items, Whoosh vs SQL LIKE side by side.

Usage: ``bench/search [--sizes 1000,10000,100000] [--queries 200] [--edits 30] [--workdir DIR]``

Prints, per corpus size: index throughput, full rebuild time, index size, query latency p50/p95 for one-word,
multi-word, phrase and filtered queries (the whole search call: ranking, facet counts, snippets, spelling),
the same with SQL LIKE over the same corpus in SQLite, and edit-to-visible latency (commit of a content change
through the outbox to the change being findable). Figures only; nothing here is a pass/fail test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine  # noqa: E402
from sqlalchemy.orm import sessionmaker  # noqa: E402

from portal.content.models import PracticeExample, Status  # noqa: E402
from portal.models.meta import Base  # noqa: E402
from portal.search.service import Filters, SearchService  # noqa: E402

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
        self.words, self.weights = vocabulary, weights

    def text(self, n: int) -> str:
        words = self.rng.choices(self.words, self.weights, k=n)
        if self.rng.random() < 0.4:
            at = self.rng.randrange(len(words))
            words[at:at] = self.rng.choice(PHRASES).split()
        sentences, out = [], []
        for w in words:
            out.append(w)
            if len(out) >= self.rng.randint(8, 16):
                sentences.append(" ".join(out).capitalize() + ".")
                out = []
        if out:
            sentences.append(" ".join(out).capitalize() + ".")
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


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return p50 * 1000, p95 * 1000


def query_sets(rng: random.Random, n: int) -> dict[str, list[tuple[str, dict]]]:
    common, mid = WORDS[:40], WORDS[40:]
    return {
        "one-word": [(rng.choice(common + mid), {}) for _ in range(n)],
        "multi-word": [(" ".join(rng.sample(common + mid, rng.randint(2, 3))), {}) for _ in range(n)],
        "phrase": [(f'"{rng.choice(PHRASES)}"', {}) for _ in range(n)],
        "filtered": [
            (rng.choice(common + mid), {"thema": [rng.choice(THEMES)], "provincie": [rng.choice(PLACES)[2]]})
            for _ in range(n)
        ],
    }


def timed(fn) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this thread): CPU time is the latency on an otherwise idle core."""
    wall, cpu = time.perf_counter(), time.thread_time()
    fn()
    return time.perf_counter() - wall, time.thread_time() - cpu


def bench_engine(service: SearchService, sets) -> dict[str, dict[str, tuple[float, float]]]:
    """Per query kind: a cold pass (caches empty) and a warm pass (the same queries again)."""
    out = {}
    for name, queries in sets.items():
        figures = {}
        for label in ("cold", "warm"):
            walls, cpus = [], []
            for q, f in queries:
                wall, cpu = timed(lambda q=q, f=f: service.search(q, Filters(dict(f))))
                walls.append(wall)
                cpus.append(cpu)
            figures[label] = percentiles(walls)
            figures[label + "-cpu"] = percentiles(cpus)
        out[name] = figures
    return out


def build_sql(path: Path, corpus_docs) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE docs (id INTEGER PRIMARY KEY, title TEXT, summary TEXT, body TEXT, thema TEXT, provincie TEXT)"
    )
    conn.executemany(
        "INSERT INTO docs (title, summary, body, thema, provincie) VALUES (?, ?, ?, ?, ?)",
        ((d["title"], d["summary"], d["body"], d["thema"], d["provincie"]) for d in corpus_docs),
    )
    conn.commit()
    return conn


def bench_like(conn: sqlite3.Connection, sets) -> dict[str, dict[str, tuple[float, float]]]:
    """The naive baseline: every word LIKE '%word%' in title, summary or body, plus the total count."""
    out = {}
    for name, queries in sets.items():
        walls, cpus = [], []
        for q, f in queries[: max(20, len(queries) // 4)]:
            words = [q.strip('"')] if q.startswith('"') else q.split()
            where = " AND ".join("(title LIKE ? OR summary LIKE ? OR body LIKE ?)" for _ in words)
            params: list[str] = [p for w in words for p in (f"%{w}%",) * 3]
            if f:
                where += " AND thema LIKE ? AND provincie = ?"
                params += [f"%{f['thema'][0]}%", f["provincie"][0]]

            def run(where=where, params=params):
                conn.execute(f"SELECT id, title FROM docs WHERE {where} LIMIT 10", params).fetchall()
                conn.execute(f"SELECT COUNT(*) FROM docs WHERE {where}", params).fetchone()

            wall, cpu = timed(run)
            walls.append(wall)
            cpus.append(cpu)
        out[name] = {"wall": percentiles(walls), "cpu": percentiles(cpus)}
    return out


def bench_edits(service: SearchService, session_factory, edits: int) -> tuple[tuple[float, float], float]:
    """Commit a title change and wait until a search finds it; also time how fast an unpublish disappears."""
    timings = []
    token = ""
    for n in range(edits):
        token = f"zoekproef{n}x{random.randrange(10**6)}"
        with session_factory() as session:
            example = session.get(PracticeExample, 1)
            example.title = f"Voorbeeld {token}"
            start = time.perf_counter()
            session.commit()
        while service.search(token, facets=False).total == 0:
            if time.perf_counter() - start > 10:
                raise RuntimeError("edit not visible within 10 s")
            time.sleep(0.002)
        timings.append(time.perf_counter() - start)
    with session_factory() as session:
        example = session.get(PracticeExample, 1)
        example.status = Status.WITHDRAWN
        start = time.perf_counter()
        session.commit()
    while service.search(token, facets=False).total and time.perf_counter() - start < 10:
        time.sleep(0.001)
    hidden = time.perf_counter() - start
    return percentiles(timings), hidden * 1000


def setup_db(path: Path):
    engine = create_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    with factory() as session:
        session.add(
            PracticeExample(
                slug="bench-voorbeeld",
                title="Voorbeeld",
                summary="Samenvatting",
                place="Zwolle",
                status=Status.PUBLISHED,
            )
        )
        session.commit()
    return engine, factory


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--edits", type=int, default=30)
    parser.add_argument("--workdir", default=None)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="bench-search-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"# search benchmark (workdir {workdir})", flush=True)
    for size in sizes:
        run = workdir / f"n{size}"
        shutil.rmtree(run, ignore_errors=True)
        run.mkdir()
        engine, factory = setup_db(run / "portal.sqlite")
        service = SearchService(str(run / "index"), factory)
        start = time.perf_counter()
        service.rebuild_from(Corpus(seed=size).documents(size))
        rebuild = time.perf_counter() - start
        # The edit target must be in the index as it would be after a rebuild from the database.
        with factory() as session:
            session.get(PracticeExample, 1).summary = "Samenvatting voor de benchmark"
            session.commit()
        service.drain()
        print(f"\n## {size:,} items".replace(",", "."), flush=True)
        print(
            f"full rebuild: {rebuild:.1f} s  ({size / rebuild:,.0f} docs/s), index size "
            f"{dir_size(run / 'index') / 1e6:.0f} MB (load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} cores)",
            flush=True,
        )
        sets = query_sets(random.Random(size), args.queries)
        engine_figures = bench_engine(service, sets)
        conn = build_sql(run / "like.sqlite", Corpus(seed=size).documents(size))
        like_figures = bench_like(conn, sets)
        conn.close()
        print("query latency in ms, p50/p95. engine: the whole search call (ranking, total, facet counts,")
        print("snippets, spelling check); cold = first run of each query, warm = the same queries again;")
        print("cpu = CPU time of the searching thread (= latency on an idle core; this machine is shared).")
        print(f"{'kind':<11} {'engine cold':>13} {'engine warm':>13} {'warm cpu':>13} {'LIKE':>13} {'LIKE cpu':>13}")
        for name in sets:
            e, lk = engine_figures[name], like_figures[name]
            cells = [e["cold"], e["warm"], e["warm-cpu"], lk["wall"], lk["cpu"]]
            print(f"{name:<11} " + " ".join(f"{a:>6.1f}/{b:<6.1f}" for a, b in cells), flush=True)
        service.start_worker()
        (edit50, edit95), hidden = bench_edits(service, factory, args.edits)
        service.close()
        engine.dispose()
        print(
            f"edit visible in search: p50 {edit50:.0f} ms, p95 {edit95:.0f} ms; unpublished gone after {hidden:.1f} ms",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
