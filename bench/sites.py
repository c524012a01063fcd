"""A portal site for the search benchmarks: an ini file over SQLite in a work directory, initialised and loaded.

Imported by bench/search.py and bench/related.py (run as scripts, so this directory is on ``sys.path``).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

BIN = Path(__file__).resolve().parents[1] / ".venv" / "bin"


def loaded_sqlite_site(work: Path, content: Path, secret: str) -> Path:
    """Write ``work/bench.ini`` (SQLite ``work/portal.sqlite``, index ``work/index``, no mail sent), run
    portal-init and portal-load on it; its path. Raises RuntimeError with the script's output when one fails."""
    ini = work / "bench.ini"
    ini.write_text(
        "[app:main]\nuse = egg:portal\n"
        f"sqlalchemy.url = sqlite:///{work / 'portal.sqlite'}\nportal.content_dir = {content}\n"
        f"search.index_dir = {work / 'index'}\n"
        f"portal.secret = {secret}\nportal.secure_cookies = false\nportal.base_url = http://127.0.0.1\n"
        f"mail.queue_path =\nportal.maildir = {work / 'mail'}\nmail.default_sender = kennisportaal@localhost\n",
        encoding="utf-8")
    for script in ("portal-init", "portal-load"):
        done = subprocess.run([str(BIN / script), str(ini)], capture_output=True, text=True, timeout=3600,  # noqa: S603
                              check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{script} failed:\n{done.stdout}{done.stderr[-3000:]}")
    return ini
