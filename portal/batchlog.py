"""A log handler that writes to a stream in batches from its own thread: the ini files use it for the lines that
come once per request (the access log, waitress's queue warnings).

Why: logging.StreamHandler writes and flushes every record in the thread that logs it. A write releases the
interpreter lock, so under load each line hands the lock to another request thread and back, and request threads
queue on the handler's lock behind a thread that waits for the lock it released: 0.11 ms of CPU per request on an
8-thread waitress, half of what the whole answer of a cached page costs (0.22 ms without a log line); batched,
0.05 ms. Here a request thread only formats its line and appends it to a deque (thread-safe, no lock of ours); a
writer thread writes whatever came in, as one write, every ``interval`` seconds.

What that costs: a line appears up to ``interval`` seconds late, and a process killed with SIGKILL loses the lines of
its last interval. A normal exit loses nothing: logging.shutdown (at interpreter exit) flushes and closes every
handler. Use it for high-volume, low-severity lines only; warnings and errors keep their synchronous handler.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections import deque

DEFAULT_INTERVAL = 0.2
#: ThrottledBatchedHandler: seconds between two lines of the same message.
DEFAULT_EVERY = 10.0


class BatchedStreamHandler(logging.Handler):
    def __init__(self, stream=None, interval: float = DEFAULT_INTERVAL):
        super().__init__()
        self.stream = stream if stream is not None else sys.stderr
        self.interval = float(interval)
        self._lines: deque[str] = deque()
        self._writing = threading.Lock()
        self._stopped = threading.Event()
        self._writer: threading.Thread | None = None
        self._starting = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._lines.append(self.format(record))
        except Exception:  # as logging.StreamHandler: report the broken record, never fail the request
            self.handleError(record)
            return
        if self._writer is None:
            self._start()

    def _start(self) -> None:
        # Started on the first line, not at configuration: scripts that configure logging but log no access
        # lines (portal-load, portal-reindex) get no extra thread.
        with self._starting:
            if self._writer is None and not self._stopped.is_set():
                self._writer = threading.Thread(target=self._run, name="log-writer", daemon=True)
                self._writer.start()

    def _run(self) -> None:
        while not self._stopped.wait(self.interval):
            self.flush()

    def flush(self) -> None:
        """Write every line that came in so far (one write), then flush the stream."""
        with self._writing:
            lines = []
            try:
                while True:
                    lines.append(self._lines.popleft())
            except IndexError:
                pass
            if not lines:
                return
            try:
                self.stream.write("\n".join(lines) + "\n")
                self.stream.flush()
            except Exception:  # a closed or full stream must not kill the writer thread
                self.handleError(logging.makeLogRecord({"msg": "%d regels niet geschreven", "args": (len(lines),)}))

    def close(self) -> None:
        self._stopped.set()
        writer = self._writer
        if writer is not None and writer is not threading.current_thread():
            writer.join(timeout=self.interval + 1.0)
        self.flush()
        super().close()


class ThrottledBatchedHandler(BatchedStreamHandler):
    """A BatchedStreamHandler that writes a message (by logger and format string) at most once per ``every``
    seconds; the next line it writes of that message says how many it left out, and so does close().

    For waitress's "Task queue depth is N": waitress warns for every request that finds no idle thread, so a
    process whose threads are all busy (any load above the thread count) logs one per request. The signal stays
    (the first line at once, then at most one per ``every`` seconds while it lasts), the flood goes.
    Handler.handle calls emit under the handler's lock, so the counts need no lock of their own.
    """

    def __init__(self, stream=None, every: float = DEFAULT_EVERY, interval: float = DEFAULT_INTERVAL):
        super().__init__(stream, interval)
        self.every = float(every)
        self._next_at: dict[tuple[str, object], float] = {}
        self._left_out: dict[tuple[str, object], tuple[int, logging.LogRecord]] = {}

    def emit(self, record: logging.LogRecord) -> None:
        key = (record.name, record.msg)
        now = time.monotonic()
        if now < self._next_at.get(key, 0.0):
            count, _last = self._left_out.get(key, (0, None))
            self._left_out[key] = (count + 1, record)
            return
        self._next_at[key] = now + self.every
        count, _last = self._left_out.pop(key, (0, None))
        super().emit(_with_count(record, count, "eerdere niet geschreven") if count else record)

    def close(self) -> None:
        self.acquire()
        try:
            for count, last in self._left_out.values():
                super().emit(_with_count(last, count, "niet geschreven, de laatste hier"))
            self._left_out.clear()
        finally:
            self.release()
        super().close()


def _with_count(record: logging.LogRecord, count: int, what: str) -> logging.LogRecord:
    """A copy of ``record`` whose message ends with ``(count what)``."""
    return logging.makeLogRecord({**record.__dict__, "msg": f"{record.getMessage()} ({count} {what})", "args": None})
