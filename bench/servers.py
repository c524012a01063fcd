"""What the benchmarks' server wrappers share: stopping a child process and reading the end of its log.

Imported by bench/web.py and bench/load.py (run as scripts, so this directory is on ``sys.path``).
"""

from __future__ import annotations

import subprocess
from pathlib import Path


class ChildProcess:
    """A server child process (``self.proc``) writing to ``self.log``."""

    proc: subprocess.Popen | None
    log: Path

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""
