"""Keep what lives as long as the process out of the garbage collector's full collections (``portal.gc_freeze``).

A web process holds 130,000 (the real content) to 230,000 (10,000 examples) objects that stay until it ends:
modules, templates, mappers, the search index's caches and the frequent words prepared at start-up. A full
collection walks all of them, 65 ms and 150-170 ms of CPU on the bench machine, with the interpreter lock held: every
thread of the process stands still, every few thousand requests. ``gc.freeze()`` moves the objects alive at that
moment into a generation the collector never walks (CPython's advice for long-running servers).

Done once per stage of a process: when the application is built, and when the search warm-up has prepared the
frequent words. Frozen objects that later become garbage are still freed by reference counting; only reference
cycles among them stay, so at most what existed at a freeze.
"""

from __future__ import annotations

import gc
import logging
import threading
import time

log = logging.getLogger(__name__)

_lock = threading.Lock()
_stages_done: set[str] = set()


def freeze(stage: str) -> bool:
    """Collect, then freeze what is alive; once per ``stage`` per process. False when the stage was done before."""
    with _lock:
        if stage in _stages_done:
            return False
        _stages_done.add(stage)
        started = time.perf_counter()
        gc.collect()
        gc.freeze()
    log.info("geheugenbeheer: %d objecten vastgezet (%s) in %.0f ms", gc.get_freeze_count(), stage,
             (time.perf_counter() - started) * 1000)
    return True
