"""Small helpers shared by page views: breadcrumbs and URLs that keep the current filters."""

from __future__ import annotations

from urllib.parse import urlencode

from portal.content.catalog import FACETS, ExampleFilters


def crumbs(request, *trail: tuple[str, str | None]) -> list[tuple[str, str | None]]:
    """Breadcrumbs from home; the last entry has no link (it is the current page)."""
    return [("Home", request.route_url("home")), *trail]


def filters_url(request, route: str, filters: ExampleFilters, **extra) -> str:
    params = filters.as_params() + [(k, str(v)) for k, v in extra.items() if v not in (None, "")]
    query = urlencode(params)
    return request.route_path(route) + (f"?{query}" if query else "")


def page_window(current: int, pages: int, around: int = 2) -> list[int | None]:
    """Page numbers to link: the first, the last and ``around`` on each side of the current one; None marks a gap.

    Bounded (at most 2 * around + 5 entries) however many pages there are.
    """
    wanted = {1, pages, *range(max(1, current - around), min(pages, current + around) + 1)}
    window: list[int | None] = []
    for number in sorted(wanted):
        if window and number - window[-1] > 1:
            window.append(None)
        window.append(number)
    return window


FACET_LABELS = {"thema": "Thema", "regio": "Jeugdregio", "provincie": "Provincie", "schooltype": "Schooltype"}
assert set(FACET_LABELS) == set(FACETS)
