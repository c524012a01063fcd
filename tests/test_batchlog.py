"""The access log's batching handler: every line arrives whole and in order, soon, and nothing is lost on close."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
import threading
import time

import pytest
from conftest import ROOT

from portal.batchlog import BatchedStreamHandler, ThrottledBatchedHandler


class CountingStream(io.StringIO):
    def __init__(self):
        super().__init__()
        self.writes = 0

    def write(self, text):
        self.writes += 1
        return super().write(text)


@pytest.fixture
def logger():
    log = logging.getLogger(f"test.batchlog.{time.monotonic_ns()}")
    log.setLevel(logging.INFO)
    log.propagate = False
    yield log
    for handler in list(log.handlers):
        log.removeHandler(handler)
        handler.close()


def attach(logger, stream, interval=0.05) -> BatchedStreamHandler:
    handler = BatchedStreamHandler(stream, interval=interval)
    handler.setFormatter(logging.Formatter("%(threadName)s %(message)s"))
    logger.addHandler(handler)
    return handler


def test_lines_of_many_threads_arrive_whole_in_order_and_batched(logger):
    stream = CountingStream()
    handler = attach(logger, stream)
    per_thread, threads = 2000, 8

    def work(n):
        for i in range(per_thread):
            logger.info("regel %d", i)

    workers = [threading.Thread(target=work, args=(n,), name=f"t{n}") for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    handler.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == per_thread * threads
    for n in range(threads):
        assert [line for line in lines if line.startswith(f"t{n} ")] == [f"t{n} regel {i}" for i in range(per_thread)]
    # Written in batches, not a write per line.
    assert stream.writes < len(lines) / 10


def test_a_line_appears_without_anyone_flushing(logger):
    stream = io.StringIO()
    attach(logger, stream, interval=0.05)
    logger.info("zichtbaar")
    deadline = time.monotonic() + 10
    while "zichtbaar" not in stream.getvalue() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert stream.getvalue() == "MainThread zichtbaar\n"


def test_close_writes_what_is_left_and_stops_the_writer(logger):
    stream = io.StringIO()
    handler = attach(logger, stream, interval=60)  # the writer would not come round by itself
    logger.info("een")
    logger.info("twee")
    writer = handler._writer
    assert writer is not None and writer.is_alive()
    handler.close()
    assert stream.getvalue() == "MainThread een\nMainThread twee\n"
    assert not writer.is_alive()


def test_no_thread_until_the_first_line(logger):
    handler = attach(logger, io.StringIO())
    assert handler._writer is None
    logger.debug("onder het niveau")
    assert handler._writer is None


def test_a_broken_stream_never_reaches_the_logging_thread(logger, capsys):
    class Broken(io.StringIO):
        def write(self, text):
            raise OSError("schijf vol")

    handler = attach(logger, Broken(), interval=60)
    logger.info("verloren")  # must not raise here ...
    handler.flush()  # ... nor here
    assert "schijf vol" in capsys.readouterr().err  # reported as logging reports a broken handler
    logger.info("daarna")
    handler.close()


def throttled(logger, stream, every) -> ThrottledBatchedHandler:
    handler = ThrottledBatchedHandler(stream, every=every, interval=0.05)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    return handler


def test_a_flood_of_one_warning_gives_one_line_per_period_with_a_count(logger):
    stream = io.StringIO()
    handler = throttled(logger, stream, every=0.5)
    for depth in range(1, 201):  # waitress under load: one warning per queued request
        logger.warning("Task queue depth is %d", depth)
    logger.warning("Iets anders: %s", "x")  # another message has its own period
    handler.flush()
    assert stream.getvalue().splitlines() == ["Task queue depth is 1", "Iets anders: x"]
    time.sleep(0.6)
    logger.warning("Task queue depth is %d", 7)
    handler.flush()
    assert stream.getvalue().splitlines()[-1] == "Task queue depth is 7 (199 eerdere niet geschreven)"
    logger.warning("Task queue depth is %d", 8)
    logger.warning("Task queue depth is %d", 9)
    handler.close()  # what was left out is counted at the end, with the last one left out
    assert stream.getvalue().splitlines()[-1] == "Task queue depth is 9 (2 niet geschreven, de laatste hier)"
    assert len(stream.getvalue().splitlines()) == 4


CONFIGURED = """
import json, logging, sys
from pyramid.paster import setup_logging

setup_logging(sys.argv[1])
out = {}
for name in ("portal.access", "waitress.queue", "portal"):
    logger = logging.getLogger(name)
    out[name] = [type(h).__name__ for h in logger.handlers], logger.propagate
logging.getLogger("waitress.queue").warning("Task queue depth is %d", 3)
print(json.dumps(out))
"""


@pytest.mark.parametrize("ini", ["development.ini", "production.ini"])
def test_ini_files_batch_the_per_request_lines_only(ini):
    """The access log and waitress's per-request queue warnings are batched and not also written by the root's
    console handler; everything else (the portal's warnings and errors) stays synchronous."""
    done = subprocess.run([sys.executable, "-c", CONFIGURED, str(ROOT / ini)],  # noqa: S603
                          capture_output=True, text=True, timeout=60, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr
    handlers = json.loads(done.stdout)
    assert handlers["portal.access"] == [["BatchedStreamHandler"], False]
    assert handlers["waitress.queue"] == [["ThrottledBatchedHandler"], False]
    assert handlers["portal"] == [[], True]  # through the root's synchronous console handler
    # Written at exit (logging.shutdown), once.
    assert done.stderr.count("Task queue depth is 3") == 1, done.stderr
