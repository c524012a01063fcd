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


FACET_LABELS = {"thema": "Thema", "regio": "Jeugdregio", "provincie": "Provincie", "schooltype": "Schooltype"}
assert set(FACET_LABELS) == set(FACETS)
