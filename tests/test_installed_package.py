"""The wheel works on its own: built, installed into a fresh virtualenv, run in an empty folder.

The folder holds only an ini file and a copy of content/. ``portal-init`` and ``portal-load`` of the new virtualenv
set up the database, the real pserve serves the portal on a free port, and the pages, the stylesheet and search
answer. Templates, static files, migrations, thesaurus and word list must come from the installed package: the
source tree is not importable there, and a process of the new virtualenv that renders pages may open no file of
the source tree. (Also here: the ``alembic`` command of the development virtualenv works from the repository root.)

Offline and fast: the wheel is built without build isolation and installed with ``--no-deps``; the dependencies
come from the development virtualenv through a ``.pth`` file. A path line in a ``.pth`` file only adds that
directory to ``sys.path``: the ``.pth`` files inside it (among them the editable install's finder, which would make
the source tree importable) are not processed. The test checks that this holds.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import urljoin

import pytest
from conftest import CONTENT_DIR, DB_KIND, PG_URL, ROOT
from sqlalchemy import create_engine, make_url, text

pytestmark = pytest.mark.slow

#: Left out of the copy the wheel is built from: top-level folders that are not part of the package or are build
#: output that must not leak into it, and (at any depth) caches and metadata of earlier builds.
NOT_COPIED_TOP = {".git", ".venv", "var", "build", "dist", ".pytest_cache", ".ruff_cache", "bench", "tests", "content"}
NOT_COPIED_ANYWHERE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")


def not_copied(directory: str, names: list[str]) -> set[str]:
    ignored = set(NOT_COPIED_ANYWHERE(directory, names))
    if Path(directory) == ROOT:
        ignored |= NOT_COPIED_TOP & set(names)
    return ignored

#: Runs in the new virtualenv, in the site folder: builds the app from the ini file, renders pages and reports
#: where everything came from, including every file the process opened (an audit hook sees each open()).
INSPECT = """
import json, sys
opened = set()
def audit(event, args):
    if event == "open" and isinstance(args[0], str):
        opened.add(args[0])
sys.addaudithook(audit)

import importlib.metadata, os
import webtest
from pyramid.paster import get_appsettings
import portal
from alembic.script import ScriptDirectory
from portal.scripts.init import alembic_config

settings = {**get_appsettings(sys.argv[1]), "search.writer": "false", "portal.secure_cookies": "false"}  # plain http
app = webtest.TestApp(portal.main({}, **settings), extra_environ={"HTTP_HOST": "localhost"})
for path in ("/", "/static/portal.css", "/zoeken?q=thuiszitters", "/voorbeeld-aanmelden", "/bestaat-niet"):
    app.get(path, status=404 if path == "/bestaat-niet" else 200)
login = app.get("/inloggen", status=200)
form = login.forms[next(key for key, form in login.forms.items() if form.action == "/inloggen")]
form["email"], form["password"] = sys.argv[2], sys.argv[3]
form.submit(status=303)
app.get("/bijdragen", status=200)  # the contribution form: deform with the portal's own widget templates
print(json.dumps({
    "portal": portal.__file__,
    "modules": {name: getattr(module, "__file__", None) for name, module in sys.modules.items()
                if name == "portal" or name.startswith("portal.")},
    "sys_path": sys.path,
    "meta_path": [type(finder).__module__ + "." + type(finder).__qualname__ for finder in sys.meta_path],
    "distribution": str(importlib.metadata.distribution("portal").locate_file("portal/__init__.py")),
    "migrations": ScriptDirectory.from_config(alembic_config()).dir,
    "opened": sorted(os.path.realpath(path) for path in opened),
}))
"""


def run(args: list[str], env: dict, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)  # noqa: S603
    assert done.returncode == 0, f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (http://127.0.0.1 only)
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read()


@pytest.fixture
def database_url(tmp_path) -> str:
    """SQLite: a file in the site folder. PostgreSQL: a fresh, empty database, dropped afterwards."""
    if DB_KIND == "sqlite":
        yield "sqlite:///%(here)s/portal.sqlite"
        return
    name = f"portal_wheel_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextlib.contextmanager
def serving(args: list[str], env: dict, cwd: Path, base: str):
    """The server process, until it answers /gezondheid (or dies); stopped afterwards."""
    out, err = cwd / "pserve.out", cwd / "pserve.err"
    with out.open("w") as stdout, err.open("w") as stderr:
        process = subprocess.Popen(args, cwd=cwd, env=env, stdout=stdout, stderr=stderr)  # noqa: S603
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, f"pserve stopped ({process.returncode}):\n{err.read_text()}"
            with contextlib.suppress(OSError):
                if fetch(base + "/gezondheid")[0] == 200:
                    break
            assert time.monotonic() < deadline, f"pserve did not answer in time:\n{err.read_text()}"
            time.sleep(0.2)
        yield err
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


def test_wheel_installs_and_serves_from_an_empty_folder(tmp_path, database_url):
    # 1. The wheel, built from a copy of the working tree (an in-place build would write build/ and *.egg-info into
    # the shared tree, and setuptools' build/lib keeps files deleted from the source, which then end up in wheels).
    source, dist = tmp_path / "source", tmp_path / "dist"
    shutil.copytree(ROOT, source, ignore=not_copied)
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
         "--wheel-dir", str(dist), str(source)], env, tmp_path)
    wheels = list(dist.glob("portal-*.whl"))
    assert len(wheels) == 1, wheels

    # 2. A fresh virtualenv with the wheel and nothing else; the dependencies through a .pth path line.
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], env, tmp_path)
    python, bin_dir = venv / "bin" / "python", venv / "bin"
    run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheels[0])], env, tmp_path)
    site_packages = Path(run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                             env, tmp_path).stdout.strip())
    dev_site_packages = Path(sysconfig.get_path("purelib"))
    assert site_packages.is_relative_to(venv) and not site_packages.is_relative_to(ROOT)
    (site_packages / "portal_dev_dependencies.pth").write_text(f"{dev_site_packages}\n")
    for script in ("portal-init", "portal-load", "portal-reindex", "portal-user", "portal-export"):
        assert (bin_dir / script).is_file(), script
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)

    # 3. An empty folder with only the ini file and content/.
    site = tmp_path / "site"
    site.mkdir()
    shutil.copytree(CONTENT_DIR, site / "content")
    port = free_port()
    ini = site / "portal.ini"
    ini.write_text(f"""[app:main]
use = egg:portal
sqlalchemy.url = {database_url}
portal.secret = wheel-test-{uuid.uuid4().hex}
portal.base_url = http://127.0.0.1:{port}
portal.content_dir = %(here)s/content
search.index_dir = %(here)s/var/index
portal.maildir = %(here)s/var/mail

[server:main]
use = egg:waitress#main
listen = 127.0.0.1:{port}
""")
    assert sorted(p.name for p in site.iterdir()) == ["content", "portal.ini"]

    init = run([str(bin_dir / "portal-init"), "portal.ini"], env, site)
    assert "Database is bijgewerkt" in init.stdout
    load = run([str(bin_dir / "portal-load"), "portal.ini"], env, site)
    assert "Inhoud geladen" in load.stdout

    user = run([str(bin_dir / "portal-user"), "portal.ini", "add", "bijdrager@example.nl", "--role", "bijdrager",
                "--name", "Bea Bijdrager"], env, site)
    password = re.search(r"Tijdelijk wachtwoord: (\S+)", user.stdout)[1]

    # 4. Everything came from the installed package, nothing from the source tree.
    inspect = [str(python), "-c", INSPECT, "portal.ini", "bijdrager@example.nl", password]
    report = json.loads(run(inspect, env, site).stdout.splitlines()[-1])
    package = site_packages / "portal"
    assert Path(report["portal"]).is_relative_to(package), report["portal"]
    assert Path(report["distribution"]).is_relative_to(package), report["distribution"]
    assert Path(report["migrations"]) == package / "migrations", report["migrations"]
    outside = {name: path for name, path in report["modules"].items()
               if path is not None and not Path(path).is_relative_to(package)}
    assert not outside, outside
    assert str(dev_site_packages) in report["sys_path"]
    assert not [entry for entry in report["sys_path"]
                if entry and Path(entry).resolve().is_relative_to(ROOT) and Path(entry) != dev_site_packages]
    assert not [finder for finder in report["meta_path"] if "editable" in finder.lower()], report["meta_path"]
    opened = [Path(path) for path in report["opened"]]
    from_source_tree = [path for path in opened
                        if path.is_relative_to(ROOT) and not path.is_relative_to(dev_site_packages.resolve())]
    assert not from_source_tree, from_source_tree
    installed = {path.relative_to(package.resolve()).as_posix() for path in opened
                 if path.is_relative_to(package.resolve())}
    for data_file in ("templates/layout.jinja2", "templates/home.jinja2", "templates/search.jinja2",
                      "templates/error.jinja2", "templates/workflow/edit.jinja2", "static/portal.css",
                      "search/thesaurus.yaml", "search/wordlist.txt"):
        assert data_file in installed, (data_file, sorted(installed))
    assert any(name.startswith("deform_templates/") for name in installed), sorted(installed)

    # 5. The real pserve of the new virtualenv serves the portal.
    base = f"http://127.0.0.1:{port}"
    with serving([str(python), "-m", "pyramid.scripts.pserve", "portal.ini"], env, site, base) as err:
        status, content_type, body = fetch(base + "/")
        assert status == 200 and content_type.startswith("text/html")
        home = body.decode()
        assert '<html lang="nl">' in home
        stylesheets = re.findall(r'<link\b[^>]*\brel="stylesheet"[^>]*\bhref="([^"]+)"', home)
        assert stylesheets, home[:2000]
        status, content_type, css = fetch(urljoin(base + "/", stylesheets[0]))
        assert status == 200 and content_type.startswith("text/css")
        assert css == (package / "static" / "portal.css").read_bytes()

        status, _content_type, body = fetch(base + "/zoeken?q=thuiszitters")
        assert status == 200
        page = body.decode()
        assert page.count('<li class="result">') >= 1, page[:3000]
        assert re.search(r"\b(1 resultaat|[1-9]\d* resultaten) voor", page), page[:3000]

        status, content_type, body = fetch(base + "/gezondheid")
        assert status == 200 and content_type.startswith("application/json")
        health = json.loads(body)
        assert health["database"] == "ok" and health["index"] == "ok" and health["documents"] > 0
    assert "Traceback" not in err.read_text(), err.read_text()


def test_alembic_command_works_from_the_repository_root(tmp_path, database_url):
    """alembic.ini at the root points at portal:migrations; env.py takes the database from the ini given with -x."""
    from alembic.script import ScriptDirectory

    from portal.scripts.init import alembic_config

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    ini = tmp_path / "portal.ini"
    ini.write_text(f"[app:main]\nuse = egg:portal\nsqlalchemy.url = {database_url}\n")
    alembic = str(Path(sys.executable).parent / "alembic")
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    run([alembic, "-x", f"ini={ini}", "upgrade", "head"], env, ROOT)
    current = run([alembic, "-x", f"ini={ini}", "current"], env, ROOT)
    assert f"{head} (head)" in current.stdout, current.stdout + current.stderr
