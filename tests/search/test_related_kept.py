"""Related examples are computed when examples are indexed (portal.search.related), not per page view, and a kept
list never shows a withdrawn example or an old title."""

from __future__ import annotations

import pytest
from conftest import wait_for
from sqlalchemy import select

from portal.content.models import PracticeExample, Status
from portal.search import SearchService

SLUG = "koesterklas-nunspeet"


def service_of(site) -> SearchService:
    return site.registry["search_service"]


def kept(site, slug: str) -> tuple[str, ...] | None:
    service = service_of(site)
    return service.queries._related.get(service.generation.name, slug)


def all_kept(site) -> bool:
    service = service_of(site)
    return all(kept(site, slug) is not None for slug in service.queries.example_slugs())


@pytest.fixture
def site(site_factory):
    """A site that warms the related lists up at start, as production does (the test default is off)."""
    return site_factory(**{"search.warmup": "true"})


def test_lists_are_computed_after_start_up_without_a_page_view(site):
    assert wait_for(lambda: all_kept(site), timeout=10.0) < 10.0
    assert len(kept(site, SLUG)) > 0
    assert SLUG not in kept(site, SLUG)


def test_page_shows_current_titles_and_never_a_withdrawn_example(site):
    wait_for(lambda: all_kept(site), timeout=10.0)
    service = service_of(site)
    first = service.related(SLUG, limit=5)[0]["slug"]
    with site.session() as s:
        s.scalars(select(PracticeExample).where(PracticeExample.slug == first)).one().title = "Hernoemd voorbeeld"
    assert wait_for(lambda: service.related(SLUG, limit=5)[0]["title"] == "Hernoemd voorbeeld", timeout=3.0) < 3.0

    with site.session() as s:
        s.scalars(select(PracticeExample).where(PracticeExample.slug == first)).one().status = Status.WITHDRAWN
    # Hidden at commit, before the writer removed it from the index.
    assert first not in [r["slug"] for r in service.related(SLUG, limit=5)]
    page = site.testapp().get(f"/voorbeelden/{SLUG}", status=200)
    assert f"/voorbeelden/{first}\"" not in page.text


def test_a_new_similar_example_enters_the_lists_of_its_neighbours(site):
    wait_for(lambda: all_kept(site), timeout=10.0)
    with site.session() as s:
        original = s.scalars(select(PracticeExample).where(PracticeExample.slug == SLUG)).one()
        twin = PracticeExample(
            slug="koesterklas-tweede-locatie", title=original.title + " (tweede locatie)",
            # Another region: lists put examples from other regions first.
            summary=original.summary, place="Elders", gemeente_id=None, youth_region_id=None, province_id=None,
            target_group=original.target_group, background=original.background, approach=original.approach,
            results=original.results, lessons=original.lessons, financing=original.financing,
            status=Status.PUBLISHED,
        )
        twin.themes = list(original.themes)
        s.add(twin)
    assert wait_for(lambda: "koesterklas-tweede-locatie" in (kept(site, SLUG) or ()), timeout=5.0) < 5.0
    assert "koesterklas-tweede-locatie" in [r["slug"] for r in service_of(site).related(SLUG, limit=5)]


def test_without_warm_up_a_list_is_computed_on_first_view(site_factory):
    site = site_factory(**{"search.warmup": "false"})
    assert kept(site, SLUG) is None
    assert service_of(site).related(SLUG, limit=5) and kept(site, SLUG) is not None


def test_without_the_worker_a_list_is_computed_on_first_view(site_factory):
    site = site_factory(**{"search.related_worker": "false"})
    assert kept(site, SLUG) is None
    related = service_of(site).related(SLUG, limit=5)
    assert related and kept(site, SLUG) is not None
    assert [r["slug"] for r in related] == [r["slug"] for r in service_of(site).related(SLUG, limit=5)]


def test_the_whole_index_pass_waits_while_requests_are_served(site_factory):
    """Start-up work in the background runs in idle time only (portal.activity): a request in flight holds it
    back, and it finishes once the process is idle; the service reports it as preparing until then."""
    import threading

    from portal.activity import Activity

    entered, release = threading.Event(), threading.Event()

    def slow_app(environ, start_response):  # a request that stays in flight until the test releases it
        entered.set()
        release.wait(10)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    site = site_factory(**{"search.warmup": "true", "search.related_worker": "false"})
    service = service_of(site)
    activity = Activity(slow_app, site.registry)
    service.idle = activity.idle
    caller = threading.Thread(target=lambda: activity({"REQUEST_METHOD": "GET"}, lambda *a: None))
    caller.start()
    try:
        assert entered.wait(5)
        service.start_related_worker(warm_up=True)
        assert wait_for(lambda: service.preparing, timeout=1.0) < 1.0
        threading.Event().wait(0.5)
        assert not any(kept(site, slug) is not None for slug in service.queries.example_slugs())
        assert service.preparing
    finally:
        release.set()
        caller.join(5)
    assert wait_for(lambda: all_kept(site), timeout=10.0) < 10.0
    assert wait_for(lambda: not service.preparing, timeout=5.0) < 5.0
