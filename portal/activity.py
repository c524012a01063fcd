"""Whether this process is serving requests: background work (the search warm-up) waits for a pause.

A WSGI layer around the whole application counts requests in flight and remembers when the last one ended. The
process counts as idle when none is in flight and none ended in the last ``QUIET_SECONDS`` (so a steady stream of
short requests with tiny gaps is not mistaken for a pause). Python threads share one interpreter lock: a CPU-bound
background thread would otherwise delay every request by up to the switch interval each time it waits for a query.
"""

from __future__ import annotations

import threading
import time

QUIET_SECONDS = 0.05


class Activity:
    def __init__(self, app, registry):
        self.app = app
        self.registry = registry
        self._in_flight = 0
        self._last_end = 0.0
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self._lock:
            self._in_flight += 1
        try:
            return self.app(environ, start_response)
        finally:
            with self._lock:
                self._in_flight -= 1
                self._last_end = time.monotonic()

    def idle(self) -> bool:
        return self._in_flight == 0 and time.monotonic() - self._last_end >= QUIET_SECONDS


def wrap(app):
    """The application counted by an Activity, which the search service asks before background work."""
    activity = Activity(app, app.registry)
    service = app.registry.get("search_service")
    if service is not None:
        service.idle = activity.idle
    app.registry["activity"] = activity
    return activity
