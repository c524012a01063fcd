"""Is the PostgreSQL server of the tests reachable? One clear line when it is not (used by conftest.py and make).

    python tests/postgresql_check.py postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import sys

import psycopg
from sqlalchemy import make_url

CONNECT_TIMEOUT = 3  # seconds
HINT = ("start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, "
        "or run `make test-sqlite`")


def unreachable(url: str) -> str | None:
    """None when a connection to ``url`` (an SQLAlchemy URL) succeeds, else the one-line message to show."""
    parsed = make_url(url)
    where = f"{parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database or ''}"
    try:
        conninfo = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(conninfo, connect_timeout=CONNECT_TIMEOUT):
            return None
    except Exception as exc:
        first_line = (str(exc).strip().splitlines() or [""])[0]
        reason = " ".join(first_line.rsplit(" failed: ", 1)[-1].split()) or type(exc).__name__
        return f"PostgreSQL for the tests is not reachable at {where} ({reason}): {HINT}."


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: postgresql_check.py SQLALCHEMY_URL")
    message = unreachable(sys.argv[1])
    if message:
        print(message, file=sys.stderr)
        sys.exit(1)
