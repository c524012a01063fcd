"""Load benchmark: readers and writers against a real ``pserve`` process, then a kill -9 in the middle of publishing.

Usage: ``.venv/bin/python bench/load.py [--seconds 60] [--db sqlite|postgresql|both] [--readers 16] [--keep]``

Per database (SQLite, and PostgreSQL at 127.0.0.1:5432 as user ``postgres`` in a fresh database
``portal_load_<pid>`` that is dropped WITH (FORCE) afterwards) the script builds a site in a temporary directory: an
ini file shaped like development.ini (database, search index and maildir in the temporary directory, a free port),
``portal-init``, ``portal-load`` of the repository's content/, ``portal-reindex``, a contributor and an editor made with
``portal-user ... add`` (generated passwords), and ``pserve <ini>`` as a child process; it waits until ``/`` answers.

Load phase (``--seconds``): ``--readers`` threads read without pause, each request picked at random from ``/``,
``/voorbeelden``, ``/voorbeelden/<slug>`` (slugs from ``/api/voorbeelden``), ``/zoeken?q=...``, ``/api/zoeken?q=...``
and ``/api/voorbeelden`` (Dutch query words such as thuiszitters, jeugdhulp, samenwerking). Two writers run alongside,
each an HTTP client with its own cookies and a kept-alive connection, logged in through the ``/inloggen`` form (CSRF
token from the page's hidden field, which equals the ``portal_csrf`` cookie):

* the contributor opens the ``/bijdragen`` form, fills in every field a submission needs (title, summary, place,
  province, theme, target group, background, approach, results, financing, lessons, source note) and posts the
  form's own hidden fields and Deform's ``__start__``/``__end__`` markers back as multipart/form-data with
  "opslaan"; then it opens the saved draft and posts it again with "indienen";
* the editor reads the queue at ``/redactie``, opens the oldest submitted benchmark item and posts its decision
  form (``/redactie/voorbeelden/<id>/besluit``) with ``action=publish``.

Every write has a unique title (``Loadproef lp<pid><s|p><n> ...``, a token the search analyzer keeps whole).
A write counts as **acknowledged** only when the server answered with the success redirect: 303 to
``/bijdragen/<id>`` for a saved draft, 303 to ``/mijn-bijdragen`` for a submission, 303 to ``/redactie`` for a
publication. Anything else (another status, a form shown again, a lost connection) is not acknowledged.

After the load phase (writers stopped, server still running) it prints requests, requests/s, 5xx, 4xx and lost
connections with the most frequent non-2xx/3xx statuses per path, p50/p95 latency per request kind, and the
acknowledged writes. **Missing writes** are found by reading the database directly with SQLAlchemy (not through the
app): every acknowledged draft must exist, every acknowledged submission must exist with status ingediend or
gepubliceerd, every acknowledged publication must have status gepubliceerd. **Missing from search**: every
acknowledged publication must be found (its slug or exact title among the results) by ``/api/zoeken?q="<title>"``;
the check starts when the writers have stopped and polls each title for at most 5 s.

Crash phase: readers and both writers start again; after 3 acknowledged publications in this phase the script waits
(up to 5 s) until the editor has a publish POST in flight and sends SIGKILL to the pserve process (no shutdown, no
after-commit hooks, no search-outbox drain: whatever was only in memory is gone). Then it starts ``pserve`` on the
same ini again, waits for ``/``, and checks all acknowledged writes of both phases against the database again (0 may
be missing), and that every published benchmark item (acknowledged, or published in the database) is found through
``/api/zoeken`` within 10 s of the restarted server answering.

Violations are printed as lines starting with ``FOUT``. This is a benchmark that prints figures, not a test: the exit
code is 0 unless setting up a site fails.
"""

from __future__ import annotations

import argparse
import contextlib
import html
import http.client
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from pathlib import Path

from servers import ChildProcess

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BIN = ROOT / ".venv" / "bin"

from sqlalchemy import create_engine, make_url, select, text  # noqa: E402

from portal.content.models import PracticeExample, Status  # noqa: E402

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
QUERY_WORDS = [
    "thuiszitters", "jeugdhulp", "samenwerking", "passend onderwijs", "wijkteam", "schoolverzuim", "autisme",
    "hoogbegaafdheid", "onderwijszorgarrangement", "jeugdhulp in de school", "ouders", "trauma", "financiering",
    "zorg in onderwijstijd", "gedrag", "SWV", "nieuwkomers", "Zwolle", "speciaal onderwijs", "angst",
]
READER_MIX = [("home", 2), ("list", 2), ("example", 3), ("search_page", 2), ("search_api", 2), ("list_api", 1)]
PLACES = [("Zwolle", "overijssel"), ("Deventer", "overijssel"), ("Apeldoorn", "gelderland"),
          ("Tilburg", "noord-brabant"), ("Utrecht", "utrecht-provincie"), ("Emmen", "drenthe"),
          ("Rotterdam", "zuid-holland"), ("Alkmaar", "noord-holland")]
THEMES = ["thuiszitters", "jeugdhulp-in-de-school", "regie-en-samenwerking", "zorg-in-onderwijstijd", "preventie"]
KILL_AFTER_PUBLICATIONS = 3
INI_TEMPLATE = """\
# Written by bench/load.py: the shape of development.ini, with everything in one temporary directory.
[app:main]
use = egg:portal

pyramid.reload_templates = false
pyramid.debug_authorization = false
pyramid.debug_notfound = false
pyramid.debug_routematch = false
pyramid.default_locale_name = nl

sqlalchemy.url = {db_url}
portal.content_dir = {content_dir}
search.index_dir = {workdir}/index
retry.attempts = 3

portal.secret = {secret}
portal.secure_cookies = false
portal.base_url = http://127.0.0.1:{port}
portal.max_body_bytes = 2000000

mail.queue_path =
portal.maildir = {workdir}/mail
mail.default_sender = kennisportaal@localhost

[server:main]
use = egg:waitress#main
listen = 127.0.0.1:{port}

[loggers]
keys = root, portal, sqlalchemy

[handlers]
keys = console

[formatters]
keys = generic

[logger_root]
level = INFO
handlers = console

[logger_portal]
level = INFO
handlers =
qualname = portal

[logger_sqlalchemy]
level = WARN
handlers =
qualname = sqlalchemy.engine

[handler_console]
class = StreamHandler
args = (sys.stderr,)
level = NOTSET
formatter = generic

[formatter_generic]
format = %(asctime)s %(levelname)-5.5s [%(name)s:%(lineno)s][%(threadName)s] %(message)s
"""


class SetupError(Exception):
    pass


# --- HTTP client --------------------------------------------------------------------------------------------------

@dataclass
class Response:
    status: int  # 0: no answer (connection refused, reset, timeout)
    headers: dict[str, str]
    body: str
    seconds: float

    @property
    def location(self) -> str:
        """The path (and query) of a redirect target, '' when there is none."""
        parts = urllib.parse.urlsplit(self.headers.get("location", ""))
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def json(self):
        return json.loads(self.body)


class Stats:
    """Thread-safe request log: (label, status, seconds) per request."""

    def __init__(self):
        self.lock = threading.Lock()
        self.samples: list[tuple[str, int, float]] = []
        self.started = time.monotonic()
        self.stopped: float | None = None

    def record(self, label: str, status: int, seconds: float) -> None:
        with self.lock:
            self.samples.append((label, status, seconds))

    def stop(self) -> None:
        self.stopped = time.monotonic()

    @property
    def duration(self) -> float:
        return (self.stopped or time.monotonic()) - self.started


class Client:
    """One browser: a kept-alive connection, its own cookies, no automatic redirects."""

    def __init__(self, port: int, stats: Stats | None, timeout: float = 60):
        self.port, self.stats, self.timeout = port, stats, timeout
        self.conn: http.client.HTTPConnection | None = None
        self.cookies: dict[str, str] = {}

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def request(self, method: str, path: str, label: str, *, params: dict | None = None,
                fields: list[tuple[str, str]] | None = None, multipart: bool = False) -> Response:
        if params:
            path += "?" + urllib.parse.urlencode(params)
        headers = {"Accept": "text/html,application/json"}
        body = None
        if fields is not None:
            if multipart:
                body, headers["Content-Type"] = encode_multipart(fields)
            else:
                body = urllib.parse.urlencode(fields).encode()
                headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        # A GET on a reused connection that the server closed meanwhile is retried once (as browsers do); a POST
        # never is, so a lost answer to a write stays a lost answer.
        attempts = 2 if method == "GET" else 1
        start = time.perf_counter()
        for attempt in range(attempts):
            reused = self.conn is not None
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            try:
                self.conn.request(method, path, body=body, headers=headers)
                raw = self.conn.getresponse()
                data = raw.read()
                header_map = {k.lower(): v for k, v in raw.getheaders()}
                for value in raw.headers.get_all("Set-Cookie") or []:
                    self._store_cookie(value)
                if raw.getheader("Connection", "").lower() == "close":
                    self.close()
                response = Response(raw.status, header_map, data.decode("utf-8", "replace"),
                                    time.perf_counter() - start)
                break
            except (OSError, http.client.HTTPException):
                self.close()
                if reused and attempt + 1 < attempts:
                    continue
                response = Response(0, {}, "", time.perf_counter() - start)
                break
        if self.stats is not None:
            self.stats.record(label, response.status, response.seconds)
        return response

    def get(self, path: str, label: str, **kw) -> Response:
        return self.request("GET", path, label, **kw)

    def _store_cookie(self, header: str) -> None:
        jar = SimpleCookie()
        jar.load(header)
        for name, morsel in jar.items():
            if morsel["max-age"] == "0" or not morsel.coded_value.strip('"'):
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = morsel.coded_value


def encode_multipart(fields: list[tuple[str, str]]) -> tuple[bytes, str]:
    boundary = "----portal-load-" + secrets.token_hex(12)
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
             for name, value in fields]
    parts.append(f"--{boundary}--\r\n")
    return "".join(parts).encode("utf-8"), f"multipart/form-data; boundary={boundary}"


# --- HTML forms ---------------------------------------------------------------------------------------------------

@dataclass
class Control:
    tag: str
    type: str
    name: str
    value: str = ""
    checked: bool = False
    options: list[list] = field(default_factory=list)  # select: [value, selected]


@dataclass
class Form:
    attrs: dict[str, str]
    controls: list[Control] = field(default_factory=list)

    @property
    def action(self) -> str:
        return self.attrs.get("action", "")

    @property
    def multipart(self) -> bool:
        return self.attrs.get("enctype", "").lower() == "multipart/form-data"

    def set(self, name: str, value: str, index: int = 0) -> None:
        matches = [c for c in self.controls if c.name == name and c.tag in ("input", "textarea")]
        if len(matches) <= index:
            raise KeyError(f"no field {name}[{index}] in form {self.action}")
        matches[index].value = value

    def select(self, name: str, value: str) -> None:
        control = next((c for c in self.controls if c.tag == "select" and c.name == name), None)
        if control is None or value not in [v for v, _s in control.options]:
            raise KeyError(f"no option {name}={value} in form {self.action}")
        for option in control.options:
            option[1] = option[0] == value

    def check(self, name: str, value: str) -> None:
        control = next((c for c in self.controls if c.type == "checkbox" and c.name == name and c.value == value),
                       None)
        if control is None:
            raise KeyError(f"no checkbox {name}={value} in form {self.action}")
        control.checked = True

    def submission(self, button: tuple[str, str] | None = None) -> list[tuple[str, str]]:
        """The successful controls in document order (as a browser sends them), plus the clicked button."""
        out = []
        for c in self.controls:
            if not c.name or c.tag == "button" or c.type in ("submit", "button", "image", "reset", "file"):
                continue
            if c.type in ("checkbox", "radio"):
                if c.checked:
                    out.append((c.name, c.value or "on"))
            elif c.tag == "select":
                chosen = [v for v, s in c.options if s] or [v for v, _s in c.options[:1]]
                out.extend((c.name, v) for v in chosen[:1])
            else:
                out.append((c.name, c.value))
        if button is not None:
            out.append(button)
        return out


class FormParser(HTMLParser):
    """Collects every <form> with its inputs, textareas, selects and buttons."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.form: Form | None = None
        self.text_target: Control | None = None
        self.option: list | None = None
        self.select: Control | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self.form = Form(a)
            self.forms.append(self.form)
            return
        if self.form is None:
            return
        if tag == "input":
            self.form.controls.append(Control("input", a.get("type", "text").lower(), a.get("name", ""),
                                              a.get("value", ""), "checked" in a))
        elif tag == "textarea":
            self.text_target = Control("textarea", "textarea", a.get("name", ""))
            self.form.controls.append(self.text_target)
        elif tag == "select":
            self.select = Control("select", "select", a.get("name", ""))
            self.form.controls.append(self.select)
        elif tag == "option" and self.select is not None:
            self.option = [a.get("value"), "selected" in a, ""]
            self.select.options.append(self.option)
        elif tag == "button":
            self.form.controls.append(Control("button", a.get("type", "submit"), a.get("name", ""),
                                              a.get("value", "")))

    def handle_endtag(self, tag):
        if tag == "form":
            self.form = None
        elif tag == "textarea" and self.text_target is not None:
            value = self.text_target.value
            self.text_target.value = value[1:] if value.startswith("\n") else value
            self.text_target = None
        elif tag == "select" and self.select is not None:
            for option in self.select.options:  # an option without a value attribute submits its text
                if option[0] is None:
                    option[0] = option[2].strip()
                del option[2:]
            self.select = None
            self.option = None

    def handle_data(self, data):
        if self.text_target is not None:
            self.text_target.value += data
        elif self.option is not None:
            self.option[2] += data


def parse_forms(page: str) -> list[Form]:
    parser = FormParser()
    parser.feed(page)
    parser.close()
    return parser.forms


def find_form(page: str, predicate) -> Form | None:
    return next((f for f in parse_forms(page) if predicate(f)), None)


# --- the actors ---------------------------------------------------------------------------------------------------

@dataclass
class Ledger:
    """Acknowledged writes: title -> (phase, example id)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    drafts: dict[str, tuple[str, int]] = field(default_factory=dict)
    submits: dict[str, tuple[str, int]] = field(default_factory=dict)
    publications: dict[str, tuple[str, int]] = field(default_factory=dict)
    lost: Counter = field(default_factory=Counter)  # writes without a success answer, by kind

    def add(self, book: str, title: str, phase: str, example_id: int) -> None:
        with self.lock:
            getattr(self, book)[title] = (phase, example_id)

    def count(self, book: str, phase: str | None = None) -> int:
        with self.lock:
            return sum(1 for p, _i in getattr(self, book).values() if phase is None or p == phase)

    def lose(self, kind: str) -> None:
        with self.lock:
            self.lost[kind] += 1


class Actor(threading.Thread):
    def __init__(self, name: str, port: int, stats: Stats, stop: threading.Event):
        super().__init__(name=name, daemon=True)
        self.client = Client(port, stats)
        self.stop_event = stop
        self.rng = random.Random(f"{name}-{os.getpid()}")
        self.crashed: BaseException | None = None

    def run(self):
        try:
            self.work()
        except BaseException as exc:  # a bug in the benchmark itself: shown, never hidden
            self.crashed = exc
        finally:
            self.client.close()

    def pause(self, seconds: float) -> None:
        self.stop_event.wait(seconds)


class Reader(Actor):
    def __init__(self, name, port, stats, stop, slugs: list[str]):
        super().__init__(name, port, stats, stop)
        self.slugs = slugs
        kinds, weights = zip(*READER_MIX, strict=True)
        self.kinds, self.weights = list(kinds), list(weights)

    def work(self):
        c = self.client
        while not self.stop_event.is_set():
            kind = self.rng.choices(self.kinds, self.weights)[0]
            q = self.rng.choice(QUERY_WORDS)
            if kind == "home":
                r = c.get("/", "GET /")
            elif kind == "list":
                r = c.get("/voorbeelden", "GET /voorbeelden")
            elif kind == "example":
                r = c.get(f"/voorbeelden/{self.rng.choice(self.slugs)}", "GET /voorbeelden/<slug>")
            elif kind == "search_page":
                r = c.get("/zoeken", "GET /zoeken?q=", params={"q": q})
            elif kind == "search_api":
                r = c.get("/api/zoeken", "GET /api/zoeken?q=", params={"q": q})
            else:
                r = c.get("/api/voorbeelden", "GET /api/voorbeelden")
            if r.status == 0:
                self.pause(0.05)  # server gone (the kill): do not spin


class Writer(Actor):
    def __init__(self, name, port, stats, stop, ledger: Ledger, phase: str, email: str, password: str):
        super().__init__(name, port, stats, stop)
        self.ledger, self.phase, self.email, self.password = ledger, phase, email, password
        self.logged_in = False
        self.problems: Counter = Counter()

    def problem(self, what: str) -> None:
        self.problems[what] += 1
        self.pause(0.2)

    def login(self) -> bool:
        page = self.client.get("/inloggen", "GET /inloggen")
        form = find_form(page.body, lambda f: f.action.endswith("/inloggen")) if page.status == 200 else None
        if form is None:
            self.problem(f"login page {page.status}")
            return False
        form.set("email", self.email)
        form.set("password", self.password)
        r = self.client.request("POST", "/inloggen", "POST /inloggen", fields=form.submission())
        if r.status != 303:
            self.problem(f"login {r.status}")
            return False
        self.logged_in = True
        return True

    def work(self):
        while not self.stop_event.is_set():
            if not self.logged_in and not self.login():
                continue
            self.step()


class Contributor(Writer):
    def __init__(self, *args, title_prefix: str, counter, **kw):
        super().__init__(*args, **kw)
        self.title_prefix, self.counter = title_prefix, counter

    def fill(self, form: Form, title: str) -> None:
        place, province = self.rng.choice(PLACES)
        values = {
            "title": title,
            "summary": f"Een school en het wijkteam in {place} werken samen zodat geen leerling thuis komt te zitten.",
            "place": place,
            "target_group": "Leerlingen van 12 tot 18 jaar die dreigen uit te vallen",
            "background": "Te veel **thuiszitters** in de regio; jeugdhulp kwam pas laat op gang.",
            "approach": "Een jeugdhulpverlener werkt *elke dag* op school.\n\n- korte lijnen\n- snelle hulp",
            "results": "Minder verzuim en snellere samenwerking tussen school en jeugdhulp.",
            "financing": "Gemeente en samenwerkingsverband betalen samen.",
            "financing_text": "De gemeente betaalt de jeugdhulpverlener uit Jeugdwet-middelen.",
            "lessons": "Begin klein en spreek vooraf af wie de regie heeft.",
            "source_note": "https://example.nl/loadproef",
        }
        for name, value in values.items():
            form.set(name, value)
        form.select("provincie", province)
        form.check("checkbox", self.rng.choice(THEMES))  # the themes sequence (Deform names checkboxes "checkbox")

    def step(self):
        c = self.client
        page = c.get("/bijdragen", "GET /bijdragen")
        if page.status in (302, 303, 401, 403):
            self.logged_in = False
            return self.problem(f"form {page.status}")
        form = find_form(page.body, lambda f: f.attrs.get("id") == "bijdrage") if page.status == 200 else None
        if form is None:
            return self.problem(f"form {page.status}")
        title = f"{self.title_prefix}{next(self.counter)} samen sterk tegen thuiszitten"
        self.fill(form, title)
        saved = c.request("POST", "/bijdragen", "POST /bijdragen (opslaan)",
                          fields=form.submission(("opslaan", "opslaan")), multipart=form.multipart)
        match = re.fullmatch(r"/bijdragen/(\d+)", saved.location) if saved.status == 303 else None
        if match is None:
            self.ledger.lose("draft")
            return self.problem(f"save {saved.status}")
        example_id = int(match.group(1))
        self.ledger.add("drafts", title, self.phase, example_id)
        page = c.get(saved.location, "GET /bijdragen/<id>")
        form = find_form(page.body, lambda f: f.attrs.get("id") == "bijdrage") if page.status == 200 else None
        if form is None:
            return self.problem(f"draft page {page.status}")
        submitted = c.request("POST", saved.location, "POST /bijdragen/<id> (indienen)",
                              fields=form.submission(("indienen", "indienen")), multipart=form.multipart)
        if submitted.status != 303 or submitted.location != "/mijn-bijdragen":
            self.ledger.lose("submit")
            return self.problem(f"submit {submitted.status}")
        self.ledger.add("submits", title, self.phase, example_id)
        c.get("/mijn-bijdragen", "GET /mijn-bijdragen")  # the redirect, followed as a browser does
        return None


QUEUE_LINK = re.compile(r'<a href="/redactie/voorbeelden/(\d+)">([^<]*)</a>')


class Editor(Writer):
    def __init__(self, *args, marker: str, **kw):
        super().__init__(*args, **kw)
        self.marker = marker
        self.publishing = threading.Event()  # set while a publish POST is on its way
        self.in_flight_at_kill: str | None = None

    def step(self):
        c = self.client
        page = c.get("/redactie", "GET /redactie")
        if page.status in (302, 303, 401, 403):
            self.logged_in = False
            return self.problem(f"queue {page.status}")
        if page.status != 200:
            return self.problem(f"queue {page.status}")
        waiting = page.body.split('id="tips-title"', 1)[0]
        items = [(int(i), html.unescape(t)) for i, t in QUEUE_LINK.findall(waiting)
                 if self.marker in html.unescape(t)]
        if not items:
            return self.pause(0.1)
        example_id, title = items[0]
        path = f"/redactie/voorbeelden/{example_id}"
        review = c.get(path, "GET /redactie/voorbeelden/<id>")
        form = find_form(review.body, lambda f: f.action.endswith("/besluit")) if review.status == 200 else None
        if form is None:
            return self.problem(f"review {review.status}")
        self.publishing.set()
        try:
            r = c.request("POST", form.action, "POST /redactie/voorbeelden/<id>/besluit (publish)",
                          fields=form.submission(("action", "publish")), multipart=form.multipart)
        finally:
            self.publishing.clear()
        if r.status != 303 or r.location != "/redactie":
            if r.status == 0:
                self.in_flight_at_kill = title
            self.ledger.lose("publication")
            return self.problem(f"publish {r.status}")
        self.ledger.add("publications", title, self.phase, example_id)
        return None


# --- the site under test ------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_script(*args: str) -> str:
    result = subprocess.run([str(BIN / args[0]), *args[1:]], capture_output=True, text=True, timeout=600)  # noqa: S603
    if result.returncode != 0:
        raise SetupError(f"{' '.join(args[:2])} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return result.stdout


class Server(ChildProcess):
    """``pserve <ini>`` as a child process, its output appended to a log file."""

    def __init__(self, ini: Path, port: int, log: Path):
        self.ini, self.port, self.log = ini, port, log
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 120) -> float:
        """Start and wait until ``/`` answers 200; returns the seconds that took."""
        start = time.monotonic()
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([str(BIN / "pserve"), str(self.ini)], cwd=self.ini.parent,  # noqa: S603
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        probe = Client(self.port, None, timeout=10)
        while time.monotonic() - start < timeout:
            if self.proc.poll() is not None:
                raise SetupError(f"pserve exited with {self.proc.returncode}:\n{self.log_tail()}")
            if probe.get("/", "probe").status == 200:
                probe.close()
                return time.monotonic() - start
            time.sleep(0.1)
        raise SetupError(f"pserve did not answer / within {timeout:.0f} s:\n{self.log_tail()}")

    def kill9(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


    def error_summary(self) -> Counter:
        """Logged errors: the exception line that ends each traceback, else the ERROR line itself."""
        found: Counter = Counter()
        try:
            lines = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return found
        in_trace = False
        for i, line in enumerate(lines):
            if line.startswith("Traceback"):
                in_trace = True
            elif in_trace and line and not line.startswith((" ", "\t", "Traceback", "During handling",
                                                              "The above exception")):
                found[line[:160]] += 1
                in_trace = False
            elif " ERROR " in line and not (i + 1 < len(lines) and lines[i + 1].startswith("Traceback")):
                found[line.split("]", 2)[-1].strip()[:160]] += 1
        return found


class Site:
    def __init__(self, kind: str, keep: bool, pg_admin_url: str):
        self.kind, self.keep, self.pg_admin_url = kind, keep, pg_admin_url
        self.workdir = Path(tempfile.mkdtemp(prefix=f"bench-load-{kind}-"))
        self.pg_name: str | None = None
        self.server: Server | None = None
        self.accounts: dict[str, tuple[str, str]] = {}

    def _pg_admin(self, statement: str) -> None:
        engine = create_engine(self.pg_admin_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text(statement))
        finally:
            engine.dispose()

    def setup(self) -> None:
        if self.kind == "sqlite":
            self.db_url = f"sqlite:///{self.workdir / 'portal.sqlite'}"
        else:
            self.pg_name = f"portal_load_{os.getpid()}"
            self._pg_admin(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')
            self._pg_admin(f'CREATE DATABASE "{self.pg_name}"')
            self.db_url = make_url(self.pg_admin_url).set(database=self.pg_name).render_as_string(
                hide_password=False)
        self.port = free_port()
        self.ini = self.workdir / "load.ini"
        self.ini.write_text(INI_TEMPLATE.format(db_url=self.db_url.replace("%", "%%"), content_dir=ROOT / "content",
                                                workdir=self.workdir, port=self.port,
                                                secret=secrets.token_urlsafe(32)))
        run_script("portal-init", str(self.ini))
        run_script("portal-load", str(self.ini), str(ROOT / "content"))
        run_script("portal-reindex", str(self.ini))
        for role, email, name in (("bijdrager", "bijdrager.load@example.nl", "Bram Bijdrager"),
                                  ("redacteur", "redacteur.load@example.nl", "Rik Redacteur")):
            out = run_script("portal-user", str(self.ini), "add", email, "--name", name, "--role", role)
            match = re.search(r"wachtwoord: (\S+)", out)
            if match is None:
                raise SetupError(f"no generated password in portal-user's output: {out!r}")
            self.accounts[role] = (email, match.group(1))
        self.server = Server(self.ini, self.port, self.workdir / "pserve.log")
        self.server.start()

    def teardown(self) -> None:
        if self.server is not None:
            self.server.stop()
        if self.pg_name is not None:
            try:
                self._pg_admin(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')
            except Exception as exc:
                print(f"  (could not drop database {self.pg_name}: {exc})")
        if self.keep:
            print(f"  kept {self.workdir}")
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def db_rows(self, prefix: str) -> dict[str, tuple[str, str]]:
        """title -> (status, slug) of the benchmark's items, read directly from the database."""
        engine = create_engine(self.db_url)
        try:
            with engine.connect() as conn:
                rows = conn.execute(select(PracticeExample.title, PracticeExample.status, PracticeExample.slug)
                                    .where(PracticeExample.title.startswith(prefix))).all()
        finally:
            engine.dispose()
        return {t: (s, slug) for t, s, slug in rows}


# --- the run ------------------------------------------------------------------------------------------------------

def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p95 * 1000


def kind_of(label: str) -> str:
    if label.startswith("POST"):
        return "write (POST)"
    if "zoeken" in label:
        return "search"
    if "/api/" in label:
        return "api"
    if any(p in label for p in ("/bijdragen", "/redactie", "/mijn-bijdragen", "/inloggen")):
        return "writer pages"
    return "pages"


def print_stats(stats: Stats) -> dict:
    samples = stats.samples
    total = len(samples)
    statuses = Counter(s for _l, s, _t in samples)
    five = sum(n for s, n in statuses.items() if s >= 500)
    four = sum(n for s, n in statuses.items() if 400 <= s < 500)
    lost = statuses.get(0, 0)
    rate = total / stats.duration if stats.duration else 0
    print(f"  requests {total} in {stats.duration:.1f} s = {rate:.1f} req/s; 5xx {five}, 4xx {four}, "
          f"no answer {lost}")
    by_label: dict[str, list] = defaultdict(list)
    by_kind: dict[str, list] = defaultdict(list)
    for label, status, seconds in samples:
        by_label[label].append((status, seconds))
        by_kind[kind_of(label)].append(seconds)
    print("  latency in ms (all answers), p50/p95, by kind:")
    for kind in ("pages", "search", "api", "writer pages", "write (POST)"):
        if by_kind.get(kind):
            p50, p95 = percentiles(by_kind[kind])
            print(f"    {kind:<14} {len(by_kind[kind]):>7} {p50:>8.1f} /{p95:>8.1f}")
    print(f"  per path: {'count':>7} {'p50 ms':>8} {'p95 ms':>9}  statuses other than 2xx/3xx (most frequent first)")
    for label in sorted(by_label):
        rows = by_label[label]
        p50, p95 = percentiles([t for _s, t in rows])
        bad = Counter("no answer" if s == 0 else str(s) for s, _t in rows if s == 0 or s >= 400)
        tops = ", ".join(f"{s}×{n}" for s, n in bad.most_common(3)) or "-"
        print(f"    {label:<48} {len(rows):>7} {p50:>8.1f} {p95:>9.1f}  {tops}")
    return {"requests": total, "rate": rate, "5xx": five, "4xx": four, "lost": lost}


def fout(message: str, items: list[str] | None = None, show: int = 8) -> None:
    print(f"  FOUT {message}")
    for item in (items or [])[:show]:
        print(f"       - {item}")
    if items and len(items) > show:
        print(f"       ... and {len(items) - show} more")


def check_database(site: Site, ledger: Ledger, prefix: str) -> int:
    """Acknowledged writes that the database does not hold as acknowledged; prints FOUT lines."""
    rows = site.db_rows(prefix)
    ok_submitted = (Status.SUBMITTED, Status.PUBLISHED)
    with ledger.lock:
        drafts, submits, pubs = dict(ledger.drafts), dict(ledger.submits), dict(ledger.publications)
    missing_drafts = [t for t in drafts if t not in rows]
    missing_submits = [f"{t} ({rows[t][0] if t in rows else 'not in the database'})" for t in submits
                       if t not in rows or rows[t][0] not in ok_submitted]
    missing_pubs = [f"{t} ({rows[t][0] if t in rows else 'not in the database'})" for t in pubs
                    if t not in rows or rows[t][0] != Status.PUBLISHED]
    for what, items in (("acknowledged drafts missing", missing_drafts),
                        ("acknowledged submissions missing or not submitted/published", missing_submits),
                        ("acknowledged publications missing or not published", missing_pubs)):
        if items:
            fout(f"{len(items)} {what}:", items)
    total = len(missing_drafts) + len(missing_submits) + len(missing_pubs)
    print(f"  database check: {len(drafts)} drafts, {len(submits)} submissions, {len(pubs)} publications "
          f"acknowledged; missing: {total}")
    return total


def check_search(port: int, wanted: dict[str, str], deadline: float) -> list[str]:
    """Titles (title -> slug, '' if unknown) that /api/zoeken?q="<title>" does not find before the deadline."""
    client = Client(port, None, timeout=30)
    pending = dict(wanted)
    try:
        while pending:
            for title, slug in list(pending.items()):
                r = client.get("/api/zoeken", "check", params={"q": f'"{title}"'})
                if r.status == 200:
                    results = r.json().get("results", [])
                    if any(hit.get("slug") == slug or hit.get("title") == title for hit in results):
                        del pending[title]
            if not pending or time.monotonic() >= deadline:
                break
            time.sleep(0.25)
    finally:
        client.close()
    return sorted(pending)


def start_actors(site: Site, stats: Stats, stop: threading.Event, ledger: Ledger, phase: str, readers: int,
                 slugs: list[str], prefix: str, counter) -> tuple[list[Actor], Editor]:
    email, password = site.accounts["bijdrager"]
    contributor = Contributor("contributor", site.port, stats, stop, ledger, phase, email, password,
                              title_prefix=prefix, counter=counter)
    email, password = site.accounts["redacteur"]
    editor = Editor("editor", site.port, stats, stop, ledger, phase, email, password, marker=prefix)
    actors: list[Actor] = [Reader(f"reader-{i}", site.port, stats, stop, slugs) for i in range(readers)]
    actors += [contributor, editor]
    for actor in actors:
        actor.start()
    return actors, editor


def finish(actors: list[Actor], stop: threading.Event, stats: Stats) -> None:
    stop.set()
    stats.stop()
    for actor in actors:
        actor.join(90)
        if actor.crashed is not None:
            print(f"  (benchmark thread {actor.name} failed: {actor.crashed!r})")
        if isinstance(actor, Writer) and actor.problems:
            print(f"  {actor.name}: unsuccessful steps {dict(actor.problems)}")


def print_log_errors(server: Server) -> None:
    errors = server.error_summary()
    if errors:
        print(f"  server log: {sum(errors.values())} logged errors; most frequent:")
        for line, n in errors.most_common(5):
            print(f"    {n:>5}× {line}")


def bench_database(kind: str, args) -> dict | None:
    print(f"\n## {kind}", flush=True)
    site = Site(kind, args.keep, args.pg_admin_url)
    try:
        try:
            site.setup()
        except Exception as exc:
            print(f"  setup failed: {exc}")
            return None
        print(f"  site: {site.workdir}, port {site.port}, {site.db_url.split('://')[0]}", flush=True)
        setup_client = Client(site.port, None)
        listing = setup_client.get("/api/voorbeelden", "setup", params={"per_page": 100}).json()
        setup_client.close()
        slugs = [item["slug"] for item in listing["items"]]
        prefix = f"Loadproef lp{os.getpid()}{kind[0]}n"
        counter = iter(range(1, 10**9))
        ledger = Ledger()

        # 1. Load.
        print(f"  load: {args.readers} readers, 1 contributor, 1 editor for {args.seconds:g} s "
              f"(load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} cores)", flush=True)
        stats, stop = Stats(), threading.Event()
        actors, _editor = start_actors(site, stats, stop, ledger, "load", args.readers, slugs, prefix, counter)
        time.sleep(args.seconds)
        finish(actors, stop, stats)
        figures = print_stats(stats)
        figures.update(submits=ledger.count("submits"), pubs=ledger.count("publications"),
                       drafts=ledger.count("drafts"))
        print(f"  acknowledged writes: {figures['drafts']} drafts saved, {figures['submits']} submissions, "
              f"{figures['pubs']} publications; without a success answer: {dict(ledger.lost) or 0}")
        figures["missing"] = check_database(site, ledger, prefix)
        rows = site.db_rows(prefix)
        with ledger.lock:
            published = {t: rows.get(t, ("", ""))[1] for t in ledger.publications}
        not_found = check_search(site.port, published, time.monotonic() + 5)
        if not_found:
            fout(f"{len(not_found)} of {len(published)} acknowledged publications not found by /api/zoeken "
                 "within 5 s:", not_found)
        print(f"  search check: {len(published) - len(not_found)} of {len(published)} publications found")
        figures["not_found"] = len(not_found)
        print_log_errors(site.server)

        # 2. Crash: kill -9 while publishing, restart, check again.
        print(f"\n  crash: publishing again; kill -9 after {KILL_AFTER_PUBLICATIONS} acknowledged publications",
              flush=True)
        stats2, stop2 = Stats(), threading.Event()
        actors, editor = start_actors(site, stats2, stop2, ledger, "crash", args.readers, slugs, prefix, counter)
        deadline = time.monotonic() + max(90.0, args.seconds)
        while ledger.count("publications", "crash") < KILL_AFTER_PUBLICATIONS and time.monotonic() < deadline:
            time.sleep(0.01)
        wait_until = time.monotonic() + 5
        while not editor.publishing.is_set() and time.monotonic() < wait_until:
            time.sleep(0.0005)
        publishing_at_kill = editor.publishing.is_set()
        site.server.kill9()
        killed_at = time.monotonic()
        pubs_before_kill = ledger.count("publications", "crash")
        time.sleep(0.5)  # let the clients see the dead server
        finish(actors, stop2, stats2)
        crash_stats = {"requests": len(stats2.samples),
                       "5xx": sum(1 for _l, s, _t in stats2.samples if s >= 500),
                       "lost": sum(1 for _l, s, _t in stats2.samples if s == 0)}
        moment = "while a publish POST was in flight" if publishing_at_kill else "(no publish POST in flight)"
        print(f"  killed pserve {moment} after {ledger.count('publications', 'crash')} acknowledged publications and "
              f"{ledger.count('submits', 'crash')} submissions in this phase; "
              f"{crash_stats['requests']} requests, 5xx {crash_stats['5xx']}, no answer {crash_stats['lost']}")
        if editor.in_flight_at_kill:
            print(f"  publication without an answer (in flight at the kill): {editor.in_flight_at_kill}")
        restart = site.server.start()
        ready_at = time.monotonic()
        print(f"  restarted: / answers {restart:.1f} s after the restart "
              f"({ready_at - killed_at:.1f} s after the kill)", flush=True)
        figures["crash_missing"] = check_database(site, ledger, prefix)
        rows = site.db_rows(prefix)
        with ledger.lock:
            wanted = {t: rows.get(t, ("", ""))[1] for t in ledger.publications}
        wanted.update({t: slug for t, (status, slug) in rows.items() if status == Status.PUBLISHED})
        unacked = sorted(t for t, (status, _s) in rows.items()
                         if status == Status.PUBLISHED and t not in ledger.publications)
        if unacked:
            print(f"  published in the database without an acknowledgement (answer lost in the kill): {unacked}")
        not_found = check_search(site.port, wanted, ready_at + 10)
        if not_found:
            fout(f"{len(not_found)} of {len(wanted)} published items not found by /api/zoeken within 10 s of the "
                 "restart:", not_found)
        print(f"  search check after restart: {len(wanted) - len(not_found)} of {len(wanted)} published items found")
        figures.update(crash_pubs=pubs_before_kill, crash_not_found=len(not_found), crash_wanted=len(wanted),
                       restart=restart, in_flight=publishing_at_kill)
        print_log_errors(site.server)
        return figures
    finally:
        site.teardown()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60, help="length of the load phase (default 60)")
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--readers", type=int, default=16)
    parser.add_argument("--pg-admin-url", default=PG_ADMIN_URL,
                        help="PostgreSQL server to create the benchmark database on (default %(default)s)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directories (ini, logs, SQLite)")
    args = parser.parse_args(argv)
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    print(f"# load benchmark: {args.readers} readers + 2 writers, {args.seconds:g} s, then kill -9 and restart "
          f"({', '.join(kinds)})", flush=True)
    results = {kind: bench_database(kind, args) for kind in kinds}

    print("\n## summary")
    head = (f"{'database':<11} {'req':>7} {'req/s':>7} {'5xx':>5} {'4xx':>5} {'lost':>5} {'submits':>8} "
            f"{'pubs':>5} {'missing':>8} {'!search':>8} │ {'crash pubs':>10} {'missing':>8} {'!search':>8} "
            f"{'restart s':>9}")
    print(head)
    setup_failed = False
    for kind, f in results.items():
        if f is None:
            setup_failed = True
            print(f"{kind:<11} setup failed")
            continue
        print(f"{kind:<11} {f['requests']:>7} {f['rate']:>7.1f} {f['5xx']:>5} {f['4xx']:>5} {f['lost']:>5} "
              f"{f['submits']:>8} {f['pubs']:>5} {f['missing']:>8} {f['not_found']:>8} │ {f['crash_pubs']:>10} "
              f"{f['crash_missing']:>8} {f['crash_not_found']:>8} {f['restart']:>9.1f}")
    print("req/s, 5xx, 4xx, lost (no answer): load phase. missing: acknowledged writes not in the database as "
          "acknowledged.\n!search: acknowledged publications not found by /api/zoeken (5 s after the load; after the "
          "crash: every\npublished item, 10 s after the restart). crash pubs: acknowledged publications before the "
          "kill -9.")
    for kind, f in results.items():
        if f is None:
            continue
        for key, what in (("missing", "acknowledged writes missing after the load"),
                          ("not_found", "publications not found by search after the load"),
                          ("crash_missing", "acknowledged writes missing after kill -9 + restart"),
                          ("crash_not_found", "published items not found by search after kill -9 + restart")):
            if f[key]:
                print(f"FOUT {kind}: {f[key]} {what}")
        if f["5xx"]:
            print(f"FOUT {kind}: {f['5xx']} server errors (5xx) under load")
    return 1 if setup_failed else 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
