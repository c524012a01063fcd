"""Web benchmark: the portal beside a bare waitress and a Pyramid hello-world, same client, same run, interleaved.

Usage: ``make bench-web BENCH_ARGS="..."`` or ``.venv/bin/python bench/web.py [options]``::

    --quick              smoke run: 1 repetition of 1 s per cell, 300 generated examples, 10 in-process requests
    --examples N         generated examples for the second round (default 10000; 0 skips that round)
    --duration S         seconds per cell and repetition (default 5)
    --repetitions R      (default 3)
    --connections C      (default 8)
    --requests N         in-process requests per page and mode (default 50)
    --db sqlite|postgresql|both   (default both; PostgreSQL is skipped with a note when it does not answer)
    --miss-by param|cookie        how a cache miss is forced (default param, see below)
    --keep               keep the temporary directory (ini files, logs, databases)

Figures only, nothing here passes or fails. Everything runs in one temporary directory.

**Servers.** Real, separate server processes on free ports of 127.0.0.1; the two hello-worlds run throughout, a
round's portals (one per database) only during their round, and each portal is measured only once its start-up
work in the background (the frequent words, bounded to 5 s of CPU; related lists are no longer computed by a web
process but stored with the index by portal-reindex, see bench/related.py) is done: the time it stays busy after
its first 200 is printed ("busy in the background", until it uses under 5% of a core; at most 15 minutes):

* *waitress hello-world*: a WSGI function returning 12 bytes, served by ``waitress.serve(threads=N)`` with the
  ``threads`` of ``production.ini`` (so all three servers run as many threads);
* *Pyramid hello-world*: a Configurator with one route and one view returning the same 12 bytes, same server and
  threads;
* *the portal*, per database: ``pserve <ini>`` where the ini is ``production.ini`` as it is in the repository
  (read when the benchmark starts, so settings added later come along: ``pyramid.reload_templates = false``,
  ``threads = 4``, the access log at INFO, secure cookies) with only these values replaced: ``sqlalchemy.url``,
  ``portal.content_dir``, ``search.index_dir`` (in the temporary directory) and ``listen`` (a free port); the
  environment variables production.ini reads are set (``PORTAL_DATABASE_URL``, ``PORTAL_SECRET`` random,
  ``PORTAL_BASE_URL=https://kennisportaal.example.nl``, ``PORTAL_SMTP_HOST=127.0.0.1``,
  ``PORTAL_MAIL_SENDER``; no mail is sent), which the portal reads itself (``portal/environment.py``).
  Databases: SQLite in the temporary directory, and PostgreSQL at
  ``postgresql+psycopg://postgres@127.0.0.1:5432/<fresh database>`` (``portal_web_<pid>_<round>``, created here
  and dropped WITH (FORCE) at the end) when that server answers. Each site is built with ``portal-init``,
  ``portal-load`` and ``portal-reindex``; the time from starting a server to its first 200 on ``/`` is printed.

**Rounds.** Round 1 loads the repository's ``content/``; round 2 loads the same plus ``--examples`` generated
examples (``bench/generate.py``: real front matter and body format, text from the real content's vocabulary),
for which the first ``portal-load``, a second ``portal-load`` of the unchanged files and ``portal-reindex`` are
timed (wall time and peak memory of the process).

**Load.** One client for every target: a small asyncio HTTP/1.1 client in this process (not wrk or oha), with
``--connections`` persistent keep-alive connections, each sending its next request as soon as the previous
response is read completely (closed loop, no think time). A *cell* is one target URL in one mode on one server.
Cells are interleaved: every repetition runs every cell of the round once for ``--duration`` seconds, in order on
odd repetitions and in reverse order on even ones, so a slow moment of the machine hits all targets alike. Before
the first repetition each cell gets an unmeasured warm-up of 0.5 s (or ``--duration`` if shorter).

Printed per cell: **req/s** = the median over the repetitions of (responses completed / cell seconds);
**p50/p95** = latency percentiles (request written to last byte read) over all responses of all repetitions;
**% bare** = req/s divided by the bare waitress's req/s in the same round; **non-200** = responses with another
status plus failed connections (counted, never hidden).

Targets: ``/``, ``/voorbeelden``, ``/voorbeelden?thema=thuiszitters&provincie=overijssel``, an example page
(``/voorbeelden/koesterklas-nunspeet``), a theme page (``/themas/thuiszitters``), a region page
(``/regios/overijssel``), ``/zoeken?q=jeugdhulp``, ``/api/zoeken?q=samenwerking``, ``/api/voorbeelden``, and
*/zoeken distinct q*: ``/zoeken?q=<word>`` where every request asks a word no earlier request to the same portal
process asked (the distinct words of 5+ letters of the repository's content, in a fixed shuffled order; miss only;
each portal is its own process with its own caches and its own index directory, so each gets the whole list).
The plain ``/zoeken`` miss repeats one query, so the search engine's own per-term caches are warm after its first
request; this row is the search page with the search itself uncached (the words' index files stay in the OS page
cache).
The words are shared out so that none is asked twice: the warm-up asks ``DISTINCT_WARM_UP`` of them, and each
repetition of the cell may ask an equal share of the rest, so on a fast machine the cell ends before ``--duration``
(its req/s is over the time it ran, its latencies over all its requests). The words asked, and any repeats (there
should be none), are printed per portal after each round.

**Cache hit and miss.** *hit*: every request of the cell asks the very same URL, anonymously (no cookies, no
conditional headers), so any cache keyed by URL answers all but the first (the warm-up). *miss* (default
``--miss-by param``): every request carries a parameter the portal's views ignore, ``_nc=<n>`` with ``n`` unique
in the whole run, so a cache keyed by the URL never saw it. This assumes the page cache keys on the full query
string; a cache that drops unknown parameters would turn these into hits (the in-process table then shows
near-equal hit and miss times: check that). ``--miss-by cookie`` instead sends ``Cookie: portal_sid=<unique>``
(an unknown session, which the portal treats as anonymous but which every cache must bypass because a session
cookie is present); that adds the session lookup to the miss. There is no page cache yet when this was written:
until there is one, hit and miss measure the same work.

**In-process table** (the "cache miss ≤ 5 ms in-process" targets): per site, a child process builds the
application from the same ini (``pyramid.paster.get_app``, logging as configured) and calls it directly as a WSGI
app (``webob.Request.blank(url).get_response(app)``, no server, no socket), before any server of the run is
started, and once the search service's start-up preparation in the background is done (at most 5 minutes; it
would otherwise share the GIL with the first targets' calls). Per target: 3 unmeasured calls, then
``--requests`` calls with a distinct ``_nc`` parameter each (miss;
with ``--miss-by cookie`` a distinct unknown session cookie) and ``--requests`` calls of the bare URL (hit);
printed are the median wall milliseconds of each, the median CPU milliseconds of the calling thread (less
disturbed by other work on a shared machine; excludes the PostgreSQL server's own work), and the median number of
SQL statements per call (counted by a ``before_cursor_execute`` listener on the application's engine, for the
calling thread only: the search index writer thread's statements are not counted).
"""

from __future__ import annotations

import argparse
import asyncio
import configparser
import contextlib
import http.client
import itertools
import json
import os
import random
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from servers import ChildProcess

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin"
PYTHON = BIN / "python"
PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
EXAMPLE_SLUG = "koesterklas-nunspeet"
TARGETS = [
    ("/", "/"),
    ("/voorbeelden", "/voorbeelden"),
    ("/voorbeelden filtered", "/voorbeelden?thema=thuiszitters&provincie=overijssel"),
    ("example page", f"/voorbeelden/{EXAMPLE_SLUG}"),
    ("theme page", "/themas/thuiszitters"),
    ("region page", "/regios/overijssel"),
    ("/zoeken", "/zoeken?q=jeugdhulp"),
    ("/api/zoeken", "/api/zoeken?q=samenwerking"),
    ("/api/voorbeelden", "/api/voorbeelden"),
    # Every request a query no earlier request of the run asked (see DISTINCT_QUERY): the search itself uncached.
    ("/zoeken distinct q", DISTINCT_QUERY := "/zoeken?q={word}"),
]
HELLO = b"Hello World!"
BARE_APP = f"""
import sys
from waitress import serve
BODY = {HELLO!r}
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(BODY)))])
    return [BODY]
serve(app, listen="127.0.0.1:" + sys.argv[1], threads=int(sys.argv[2]), _quiet=True)
"""
PYRAMID_APP = f"""
import sys
from pyramid.config import Configurator
from pyramid.response import Response
from waitress import serve
def hello(request):
    return Response({HELLO!r}, content_type="text/plain")
with Configurator() as config:
    config.add_route("hello", "/")
    config.add_view(hello, route_name="hello")
    app = config.make_wsgi_app()
serve(app, listen="127.0.0.1:" + sys.argv[1], threads=int(sys.argv[2]), _quiet=True)
"""
_counter = itertools.count(1)
#: Distinct queries the warm-up of that cell asks (templates and code paths warm; the words are then used up).
DISTINCT_WARM_UP = 50


def query_words() -> list[str]:
    """The distinct words of the real content (5+ letters), in a fixed shuffled order: one per distinct query."""
    words: set[str] = set()
    for path in sorted((ROOT / "content").rglob("*.md")):
        words.update(w.lower() for w in re.findall(r"[^\W\d_]{5,}", path.read_text(encoding="utf-8")))
    ordered = sorted(words)
    random.Random(7).shuffle(ordered)
    return ordered


class DistinctWords:
    """Hands out each word once; after the last one it starts again and counts the repeats (printed)."""

    def __init__(self, words: list[str] | None = None):
        self.words = words if words is not None else query_words()
        self.used = 0

    def next(self) -> str:
        word = self.words[self.used % len(self.words)]
        self.used += 1
        return word

    @property
    def repeats(self) -> int:
        return max(0, self.used - len(self.words))


#: One word stream per portal process (by port; the in-process child has its own): caches are per process.
_distinct_by_port: dict[int, DistinctWords] = {}


def distinct_words(port: int) -> DistinctWords:
    if port not in _distinct_by_port:
        known = next(iter(_distinct_by_port.values()), None)
        _distinct_by_port[port] = DistinctWords(known.words if known is not None else None)
    return _distinct_by_port[port]


def concrete(path: str, words: DistinctWords) -> str:
    """``path`` with its ``{word}`` (DISTINCT_QUERY) replaced by the next distinct word of ``words``."""
    return path.replace("{word}", urllib.parse.quote(words.next())) if "{word}" in path else path


def nocache(path: str, miss_by: str, words: DistinctWords) -> tuple[str, str]:
    """(path, extra header lines) of one cache-missing request."""
    path = concrete(path, words)
    n = next(_counter)
    if miss_by == "cookie":
        return path, f"Cookie: portal_sid=bench{n:012d}{secrets.token_hex(8)}\r\n"
    return f"{path}{'&' if '?' in path else '?'}_nc={n}", ""


class SetupError(Exception):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_timed(args: list[str], env: dict) -> float:
    """Run a command; its wall seconds. Raises SetupError when it fails."""
    start = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, env=env, timeout=3600, check=False)  # noqa: S603
    if proc.returncode != 0:
        raise SetupError(f"{' '.join(args[:2])} failed ({proc.returncode}):\n"
                         f"{proc.stdout.decode()}{proc.stderr.decode()[-3000:]}")
    return time.perf_counter() - start


def peak_rss_of(args: list[str], env: dict) -> tuple[float, float, str]:
    """Like run_timed, but the peak RSS of exactly this child (os.wait4)."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=err, env=env)  # noqa: S603
        out = proc.stdout.read()
        _pid, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            err.seek(0)
            raise SetupError(f"{' '.join(args[:2])} failed ({proc.returncode}):\n{out.decode()[-2000:]}"
                             f"{err.read().decode(errors='replace')[-3000:]}")
    return wall, usage.ru_maxrss / 1024, out.decode()


def get_status(port: int, path: str = "/", timeout: float = 10) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status
    except OSError:
        return 0
    finally:
        conn.close()


class Server(ChildProcess):
    """A server child process; start() waits for the first 200 on ``/`` and returns the seconds that took."""

    def __init__(self, name: str, args: list[str], port: int, log: Path, env: dict):
        self.name, self.args, self.port, self.log, self.env = name, args, port, log, env
        self.proc: subprocess.Popen | None = None
        self.startup = 0.0

    def start(self, timeout: float = 180) -> float:
        start = time.perf_counter()
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT, env=self.env,  # noqa: S603
                                         cwd=self.log.parent, start_new_session=True)
        while time.perf_counter() - start < timeout:
            if self.proc.poll() is not None:
                raise SetupError(f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}")
            if get_status(self.port, "/", timeout=30) == 200:
                self.startup = time.perf_counter() - start
                return self.startup
            time.sleep(0.02)
        raise SetupError(f"{self.name} did not answer / within {timeout:.0f} s:\n{self.log_tail()}")



# -- the client ---------------------------------------------------------------------------------------------------


@dataclass
class CellResult:
    rates: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    bad: int = 0
    statuses: dict[int, int] = field(default_factory=dict)


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one whole response; (status, keep-alive)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lower = head.lower()
    keep = b"connection: close" not in lower
    at = lower.find(b"content-length:")
    if at >= 0:
        end = lower.index(b"\r\n", at)
        await reader.readexactly(int(lower[at + 15:end]))
    elif b"transfer-encoding: chunked" in lower:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    else:
        await reader.read()
        keep = False
    return status, keep


async def _connection(port: int, make_request, stop_at: float, result: CellResult, budget: list[float]) -> int:
    done = 0
    reader = writer = None
    while time.perf_counter() < stop_at and budget[0] > 0:
        budget[0] -= 1
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            path, extra = make_request()
            started = time.perf_counter()
            writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{extra}\r\n".encode())
            status, keep = await _read_response(reader)
            result.latencies.append(time.perf_counter() - started)
            result.statuses[status] = result.statuses.get(status, 0) + 1
            if status != 200:
                result.bad += 1
            done += 1
            if not keep:
                writer.close()
                writer = None
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            result.bad += 1
            result.statuses[0] = result.statuses.get(0, 0) + 1
            if writer is not None:
                writer.close()
            writer = None
            await asyncio.sleep(0.01)
    if writer is not None:
        writer.close()
    return done


def load(port: int, make_request, connections: int, seconds: float, result: CellResult | None = None,
         max_requests: int | None = None) -> float:
    """Closed-loop load for ``seconds`` (or until ``max_requests`` were sent); adds latencies to ``result`` and
    returns responses per second over the time it ran."""
    target = result if result is not None else CellResult()
    budget = [float("inf") if max_requests is None else max_requests]  # shared by the connections (one event loop)

    async def main() -> float:
        start = time.perf_counter()
        stop_at = start + seconds
        counts = await asyncio.gather(*(_connection(port, make_request, stop_at, target, budget)
                                        for _ in range(connections)))
        return sum(counts) / (time.perf_counter() - start)

    return asyncio.run(main())


# -- sites --------------------------------------------------------------------------------------------------------


def production_ini(path: Path, db_url: str, content_dir: Path, workdir: Path, port: int, env: dict) -> None:
    """production.ini with only the database, paths and port replaced (everything else as production runs; the
    secrets and addresses come from the PORTAL_* variables in ``env``, as in production: portal.environment)."""
    ini = configparser.RawConfigParser(strict=False)
    ini.optionxform = str
    ini.read(ROOT / "production.ini", encoding="utf-8")
    app = ini["app:main"]
    app["sqlalchemy.url"] = db_url.replace("%", "%%")
    app["portal.content_dir"] = str(content_dir)
    app["search.index_dir"] = str(workdir / "index")
    ini["server:main"]["listen"] = f"127.0.0.1:{port}"
    with open(path, "w", encoding="utf-8") as out:
        out.write("# Written by bench/web.py from production.ini: database, paths and port replaced.\n")
        ini.write(out)


def production_threads() -> int:
    """The waitress threads production.ini sets (the hello-worlds run with as many as the portal)."""
    ini = configparser.RawConfigParser(strict=False)
    ini.read(ROOT / "production.ini", encoding="utf-8")
    return int(ini["server:main"].get("threads", "4"))


def pg_reachable() -> str | None:
    """None when PostgreSQL answers, else the reason."""
    try:
        import psycopg

        with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres", connect_timeout=3):
            return None
    except Exception as exc:  # any failure means: skip PostgreSQL
        return f"{exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


def pg_admin(statement: str) -> None:
    import psycopg

    with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres", autocommit=True) as conn:
        conn.execute(statement)


class Site:
    def __init__(self, db: str, label: str, content_dir: Path, workdir: Path):
        self.db, self.label, self.content_dir = db, label, content_dir
        self.workdir = workdir / f"{label}-{db}"
        self.workdir.mkdir(parents=True)
        self.port = free_port()
        self.pg_name: str | None = None
        if db == "sqlite":
            self.db_url = f"sqlite:///{self.workdir / 'portal.sqlite'}"
        else:
            self.pg_name = f"portal_web_{os.getpid()}_{label}"
            pg_admin(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')
            pg_admin(f'CREATE DATABASE "{self.pg_name}"')
            self.db_url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{self.pg_name}"
        self.env = {
            **os.environ,
            "PORTAL_DATABASE_URL": self.db_url,
            "PORTAL_SECRET": secrets.token_urlsafe(32),
            "PORTAL_BASE_URL": "https://kennisportaal.example.nl",
            "PORTAL_SMTP_HOST": "127.0.0.1",
            "PORTAL_MAIL_SENDER": "kennisportaal@example.nl",
        }
        self.ini = self.workdir / "bench.ini"
        production_ini(self.ini, self.db_url, content_dir, self.workdir, self.port, self.env)
        self.server = Server(f"portal ({label}, {db})", [str(BIN / "pserve"), str(self.ini)], self.port,
                             self.workdir / "pserve.log", self.env)
        self.timings: dict[str, tuple[float, float]] = {}

    @property
    def name(self) -> str:
        return f"portal {self.db}"

    def build(self) -> None:
        run_timed([str(BIN / "portal-init"), str(self.ini)], self.env)
        self.timings["portal-load"] = peak_rss_of([str(BIN / "portal-load"), str(self.ini)], self.env)[:2]
        self.timings["portal-load unchanged"] = peak_rss_of([str(BIN / "portal-load"), str(self.ini)],
                                                            self.env)[:2]
        self.timings["portal-reindex"] = peak_rss_of([str(BIN / "portal-reindex"), str(self.ini)], self.env)[:2]

    def in_process(self, requests: int, miss_by: str) -> dict:
        args = [str(PYTHON), str(Path(__file__).resolve()), "--in-process", str(self.ini), "--requests", str(requests),
                "--miss-by", miss_by]
        with open(self.workdir / "in-process.log", "ab") as log:
            out = subprocess.run(args, stdout=subprocess.PIPE, stderr=log, env=self.env, timeout=3600,  # noqa: S603
                                 check=False)
        if out.returncode != 0:
            tail = (self.workdir / "in-process.log").read_text(errors="replace")[-3000:]
            raise SetupError(f"in-process timing failed for {self.label}/{self.db}:\n{tail}")
        return json.loads(out.stdout.decode().strip().splitlines()[-1])

    def teardown(self) -> None:
        self.server.stop()
        if self.pg_name:
            try:
                pg_admin(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')
            except Exception as exc:  # report, carry on cleaning up
                print(f"  (could not drop database {self.pg_name}: {exc})")


# -- in-process timing (runs in a child process: python bench/web.py --in-process INI) -----------------------------


def in_process_main(ini: str, requests: int, miss_by: str) -> int:
    from pyramid.paster import get_app, setup_logging
    from sqlalchemy import event
    from webob import Request

    setup_logging(ini)
    app = get_app(ini)
    engine = app.registry["db_engine"]
    # As the servers are measured only once their start-up work is done: the frequent words are prepared in a
    # background thread (up to 5 s of CPU at 10,000 examples), which would otherwise share the GIL with the calls.
    service = app.registry.get("search_service")
    deadline = time.monotonic() + 300
    while service is not None and service.preparing and time.monotonic() < deadline:
        time.sleep(0.1)
    me = threading.get_ident()
    statements = [0]

    @event.listens_for(engine, "before_cursor_execute")
    def _count(*_args, **_kw):
        if threading.get_ident() == me:
            statements[0] += 1

    def call(path: str, headers: dict | None = None) -> tuple[float, int, int, float]:
        request = Request.blank(path, base_url="http://127.0.0.1", headers=headers or {})
        before = statements[0]
        start, cpu = time.perf_counter(), time.thread_time()
        response = request.get_response(app)
        elapsed, cpu = time.perf_counter() - start, time.thread_time() - cpu
        return elapsed * 1000, statements[0] - before, response.status_int, cpu * 1000

    words = DistinctWords()  # this child process is a portal of its own
    out: dict[str, dict] = {}
    for label, path in TARGETS:
        statuses = set()
        for _ in range(3):
            statuses.add(call(concrete(path, words))[2])
        miss = []
        for _ in range(requests):
            miss_path, header = nocache(path, miss_by, words)
            name, _, value = header.strip().partition(": ")
            miss.append(call(miss_path, {name: value} if header else None))
        fixed = concrete(path, words)  # the distinct-query row's "hit": one of its queries asked again
        hit = [call(fixed) for _ in range(requests)]
        statuses |= {c[2] for c in miss + hit}
        out[label] = {
            "miss_ms": statistics.median(c[0] for c in miss),
            "miss_cpu": statistics.median(c[3] for c in miss),
            "miss_sql": statistics.median(c[1] for c in miss),
            "hit_ms": statistics.median(c[0] for c in hit),
            "hit_cpu": statistics.median(c[3] for c in hit),
            "hit_sql": statistics.median(c[1] for c in hit),
            "statuses": sorted(statuses),
        }
    closer = getattr(app.registry, "portal_close", None)
    if callable(closer):
        closer()
    engine.dispose()
    print(json.dumps(out))
    return 0


# -- the run ------------------------------------------------------------------------------------------------------


@dataclass
class Cell:
    server: str
    label: str
    path: str
    mode: str  # "hit" | "miss" | "-"
    port: int
    result: CellResult = field(default_factory=CellResult)

    def word_budget(self, repetitions_left: int, warm_up: bool = False) -> int | None:
        """Requests this cell may send now so that every distinct query stays new (None: no limit): in the warm-up
        DISTINCT_WARM_UP, then an equal share of the words left for each of the remaining runs of the cell."""
        if self.path != DISTINCT_QUERY:
            return None
        if warm_up:
            return DISTINCT_WARM_UP
        words = distinct_words(self.port)
        return max(1, (len(words.words) - words.used) // max(1, repetitions_left))

    def requests(self, miss_by: str):
        if self.mode == "miss":
            words = distinct_words(self.port)
            return lambda: nocache(self.path, miss_by, words)
        fixed = (self.path, "")
        return lambda: fixed


def percentile(ordered: list[float], q: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def wait_quiet(pid: int, limit: float = 900.0) -> float:
    """Wait until the process uses under 5% of a core over a second (at most ``limit`` s); the seconds waited."""
    start = time.perf_counter()
    try:
        before = _cpu_seconds(pid)
        while time.perf_counter() - start < limit:
            time.sleep(1.0)
            now = _cpu_seconds(pid)
            if now - before < 0.05:
                break
            before = now
    except (OSError, IndexError, ValueError):  # not Linux, or the process is gone: nothing to wait for
        pass
    return time.perf_counter() - start


def run_round(title: str, baselines: list[Server], sites: list[Site], args) -> None:
    cells = [Cell(s.name, s.name, "/", "-", s.port) for s in baselines]
    for site in sites:
        for label, path in TARGETS:
            for mode in ("hit", "miss") if path != DISTINCT_QUERY else ("miss",):
                cells.append(Cell(site.name, label, path, mode, site.port))
    for cell in cells:  # warm-up: templates compiled, database connections open, caches filled; not measured
        load(cell.port, cell.requests(args.miss_by), args.connections, min(0.5, args.duration),
             max_requests=cell.word_budget(args.repetitions, warm_up=True))
    total = len(cells) * args.repetitions * args.duration
    print(f"\n## {title}: {len(cells)} cells x {args.repetitions} x {args.duration:g} s = {total / 60:.1f} min of load,"
          f" {args.connections} connections, load average before {os.getloadavg()[0]:.1f}", flush=True)
    for rep in range(args.repetitions):
        order = cells if rep % 2 == 0 else list(reversed(cells))
        for cell in order:
            rate = load(cell.port, cell.requests(args.miss_by), args.connections, args.duration, cell.result,
                        max_requests=cell.word_budget(args.repetitions - rep))
            cell.result.rates.append(rate)
        print(f"  repetition {rep + 1}/{args.repetitions} done (load average {os.getloadavg()[0]:.1f})", flush=True)
    bare = statistics.median(cells[0].result.rates)
    print(f"\n{'target':<22} {'server':<20} {'mode':<5} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'% bare':>7} "
          f"{'non-200':>8}")
    for cell in cells:
        r = cell.result
        rate = statistics.median(r.rates)
        ordered = sorted(r.latencies)
        bad = f"{r.bad}" + (f" {dict(sorted(r.statuses.items()))}" if r.bad else "")
        print(f"{cell.label:<22} {cell.server:<20} {cell.mode:<5} {rate:>8.1f} {percentile(ordered, .5) * 1000:>8.2f} "
              f"{percentile(ordered, .95) * 1000:>8.2f} {rate / bare * 100:>6.1f}% {bad:>8}", flush=True)
    for site in sites:
        words = distinct_words(site.port)
        print(f"distinct queries to {site.name}: {words.used} asked of {len(words.words)} words ({words.repeats} "
              "after the list started again)", flush=True)


def print_in_process(site: Site, figures: dict) -> None:
    print(f"\nin-process ({site.label}, {site.db}): direct WSGI call, median of {figures['_requests']} calls; "
          "SQL = statements per call (median)")
    print(f"{'target':<22} {'miss ms':>8} {'miss cpu':>9} {'miss SQL':>9} {'hit ms':>8} {'hit cpu':>8} "
          f"{'hit SQL':>8}  statuses")
    for label, _path in TARGETS:
        f = figures[label]
        print(f"{label:<22} {f['miss_ms']:>8.2f} {f['miss_cpu']:>9.2f} {f['miss_sql']:>9g} {f['hit_ms']:>8.2f} "
              f"{f['hit_cpu']:>8.2f} {f['hit_sql']:>8g}  {','.join(map(str, f['statuses']))}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--examples", type=int, default=None)
    parser.add_argument("--duration", type=float, default=None)
    parser.add_argument("--repetitions", type=int, default=None)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--requests", type=int, default=None)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--miss-by", choices=("param", "cookie"), default="param")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--in-process", metavar="INI", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    quick = args.quick
    args.examples = args.examples if args.examples is not None else (300 if quick else 10_000)
    args.duration = args.duration if args.duration is not None else (1.0 if quick else 5.0)
    args.repetitions = args.repetitions if args.repetitions is not None else (1 if quick else 3)
    args.requests = args.requests if args.requests is not None else (10 if quick else 50)
    if args.in_process:
        return in_process_main(args.in_process, args.requests, args.miss_by)
    if min(args.examples, args.connections - 1, args.repetitions - 1, args.requests - 1) < 0 or args.duration <= 0:
        parser.error("--examples must be >= 0; --connections, --repetitions, --requests and --duration > 0")

    dbs = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    if "postgresql" in dbs and (reason := pg_reachable()):
        print(f"PostgreSQL at 127.0.0.1:5432 does not answer ({reason}): SQLite only.")
        dbs.remove("postgresql")
    workdir = Path(tempfile.mkdtemp(prefix="bench-web-"))
    print(f"# web benchmark ({workdir}); {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; "
          f"client: asyncio HTTP/1.1 keep-alive in this process; miss by {args.miss_by}", flush=True)
    baselines: list[Server] = []
    sites: list[Site] = []
    try:
        for name, code in (("waitress hello-world", BARE_APP), ("pyramid hello-world", PYRAMID_APP)):
            port = free_port()
            baselines.append(Server(name, [str(PYTHON), "-c", code, str(port), str(production_threads())], port,
                                    workdir / f"{name.split()[0]}.log", dict(os.environ)))
        rounds: list[tuple[str, Path]] = [("real content", ROOT / "content")]
        if args.examples:
            sys.path.insert(0, str(ROOT / "bench"))
            from generate import make_content_dir

            start = time.perf_counter()
            generated = workdir / f"content-{args.examples}"
            make_content_dir(args.examples, generated)
            print(f"generated {args.examples} examples in {time.perf_counter() - start:.1f} s", flush=True)
            rounds.append((f"{args.examples} generated examples", generated))
        round_sites: list[tuple[str, list[Site]]] = []
        for label, content in rounds:
            slug = "real" if content == ROOT / "content" else f"gen{args.examples}"
            these = []
            for db in dbs:
                site = Site(db, slug, content, workdir)
                sites.append(site)
                these.append(site)
                site.build()
                print(f"{label}, {db}: " + "; ".join(f"{k} {t:.1f} s ({m:.0f} MB peak)"
                                                     for k, (t, m) in site.timings.items()), flush=True)
                figures = site.in_process(args.requests, args.miss_by)
                figures["_requests"] = args.requests
                print_in_process(site, figures)
            round_sites.append((label, these))
        print("\nstart-up to the first 200 on /:", flush=True)
        for server in baselines:
            print(f"  {server.name:<40} {server.start():.2f} s", flush=True)
        for label, these in round_sites:
            # A round's portals run only during their round, and only once their start-up work in the background
            # (frequent words) is done: it would otherwise load the machine under other cells.
            for site in these:
                print(f"  {site.server.name:<40} {site.server.start():.2f} s", end="", flush=True)
                print(f" (then busy in the background for {wait_quiet(site.server.proc.pid):.1f} s)", flush=True)
            run_round(label, baselines, these, args)
            for site in these:
                site.server.stop()
    except SetupError as exc:
        print(f"FOUT: {exc}", file=sys.stderr)
        return 1
    finally:
        for server in baselines:
            server.stop()
        for site in sites:
            site.teardown()
        if args.keep:
            print(f"kept {workdir}")
        else:
            with contextlib.suppress(OSError):
                shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
