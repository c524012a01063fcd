"""The background warm-up (SearchService.start_warm_up_worker): the frequent words after start-up wait for idle
time (portal.activity), so they never compete with a request for the interpreter."""

from __future__ import annotations

import threading

from conftest import wait_for

from portal.activity import Activity


def test_the_frequent_words_wait_while_requests_are_served(site_factory):
    entered, release = threading.Event(), threading.Event()

    def slow_app(environ, start_response):  # a request that stays in flight until the test releases it
        entered.set()
        release.wait(10)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    site = site_factory()  # search.warmup is off in tests: no worker yet
    service = site.registry["search_service"]
    prepared = service.queries._ranker.cache  # the ranking planes of the words prepared (and of the warm-up search)
    assert prepared._used == 0
    activity = Activity(slow_app, site.registry)
    service.idle = activity.idle
    caller = threading.Thread(target=lambda: activity({"REQUEST_METHOD": "GET"}, lambda *a: None))
    caller.start()
    try:
        assert entered.wait(5)
        service.start_warm_up_worker()
        threading.Event().wait(0.5)
        assert service.preparing and prepared._used == 0
    finally:
        release.set()
        caller.join(5)
    assert wait_for(lambda: not service.preparing, timeout=10.0) < 10.0
    assert prepared._used > 0
