"""What the browser tests need besides the virtualenv: Debian's Chromium and axe-core from npm.

``python tests/browser/prerequisites.py`` prints one line naming what is missing and the command that installs it,
and exits 1 (``make test`` runs it before the tests); the browser conftest stops a pytest run the same way.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"


def missing() -> str | None:
    """One line saying what is missing and how to install it, or None when everything is there."""
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        return (f"Browser tests: {CHROMIUM} is missing; install it with "
                "'sudo apt-get update && sudo apt-get install -y chromium'.")
    if not AXE_JS.is_file():
        return f"Browser tests: {AXE_JS.relative_to(ROOT)} is missing; install it with 'npm ci' in {ROOT}."
    return None


if __name__ == "__main__":
    message = missing()
    if message:
        print(message, file=sys.stderr)
        sys.exit(1)
