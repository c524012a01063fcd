"""Search: the results page (/zoeken), the JSON API (/api/zoeken) and autocomplete (/api/suggesties)."""

from __future__ import annotations

from functools import lru_cache
from types import SimpleNamespace
from urllib.parse import urlencode

from markupsafe import Markup, escape
from pyramid.httpexceptions import HTTPBadRequest
from pyramid.view import view_config

from portal.search.service import FACETS, SORTS, TYPE_LABELS, Filters
from portal.security import Permissions
from portal.views.helpers import crumbs

FACET_TITLES = {
    "type": "Soort",
    "thema": "Thema",
    "regio": "Jeugdregio",
    "provincie": "Provincie",
    "schooltype": "Schooltype",
}
#: Facets in the order the page shows them.
FACET_ORDER = ("type", "thema", "regio", "provincie", "schooltype")
PARAMS = ("q", *FACETS, "sort", "page")
#: A facet with more values than this folds away unless one of them is chosen.
FACET_OPEN_MAX = 6


def _params(request):
    """The GET parameters, or a 400 for input that is not even text (invalid UTF-8)."""
    try:
        return request.GET
    except UnicodeDecodeError as exc:
        raise HTTPBadRequest("De zoekopdracht bevat tekens die we niet kunnen lezen.") from exc


def _current(params) -> list[tuple[str, str]]:
    pairs = []
    for name in PARAMS:
        for value in params.getall(name):
            if value not in ("", None) and name != "page":
                pairs.append((name, str(value)[:2000]))
    return pairs


def _url(base: str, pairs: list[tuple[str, str]]) -> str:
    query = urlencode(pairs)
    return base + (f"?{query}" if query else "")


@lru_cache(maxsize=4096)
def _checkbox(name: str, value: str, label: str) -> tuple[Markup, Markup, Markup]:
    """The escaped id, value and label of one facet checkbox (the same few hundred come back on every page)."""
    return escape(f"f-{name}-{value}"), escape(value), escape(label)


def _facet_groups(outcome) -> list[SimpleNamespace]:
    """The facet block: per facet its name and its values as (id, value, label, count, chosen) tuples, escaped.

    The template writes the checkboxes without autoescaping: with some sixty of them, escaping each id, name, value,
    label and count there (a Markup object each) took 0.15 ms, some 5% of the CPU of a results page. So everything
    here is HTML already: strings escaped (and remembered per value), the count an int, chosen a bool. Tuples, not
    dicts: Jinja2 reads a dict's keys only after trying, and failing, an attribute of that name.
    """
    groups = []
    for name in FACET_ORDER:
        values = outcome.facets.get(name)
        if not values:
            continue
        entries = [(*_checkbox(name, e["value"], e["label"]), int(e["count"]), bool(e["selected"])) for e in values]
        groups.append(
            SimpleNamespace(
                name=escape(name),
                title=FACET_TITLES[name],
                open=len(entries) <= FACET_OPEN_MAX or any(e["selected"] for e in values),
                entries=entries,
            )
        )
    return groups


@view_config(route_name="zoeken", renderer="portal:templates/search.jinja2", permission=Permissions.VIEW)
def search_page(request):
    params = _params(request)
    search = request.search
    outcome = search.outcome(params)
    pairs = _current(params)
    base = request.route_path("zoeken")

    def without(name: str, value: str | None = None) -> str:
        return _url(base, [(k, v) for k, v in pairs if not (k == name and (value is None or v == value))])

    def with_page(page: int) -> str:
        return _url(base, [*pairs, ("page", str(page))])

    chosen = outcome_filters(params)

    active = [
        {
            "name": name,
            "title": FACET_TITLES[name],
            "value": value,
            "label": next((e["label"] for e in outcome.facets.get(name, []) if e["value"] == value), value),
            "remove_url": without(name, value),
        }
        for name in FACET_ORDER
        for value in chosen.get(name, [])
    ]
    without_counts = [
        {"title": FACET_TITLES[name], "count": count, "url": without(name)}
        for name, count in outcome.without.items()
        if count > outcome.total
    ]
    suggestion_url = (
        _url(base, [("q", outcome.suggestion), *[(k, v) for k, v in pairs if k != "q"]])
        if outcome.suggestion
        else None
    )
    popular = search.popular_themes() if outcome.total == 0 else []
    # Namespaces, not dicts: Jinja2 reads a dict's keys only after trying (and failing) an attribute of that name.
    results = [SimpleNamespace(**r, type_label=TYPE_LABELS.get(r["type"], r["type"])) for r in search.results(outcome)]
    return {
        "q": outcome.parsed.text,
        "outcome": outcome,
        "results": results,
        "facets": _facet_groups(outcome),
        "active": active,
        "without_counts": without_counts,
        "suggestion_url": suggestion_url,
        "popular": [
            {"label": t["label"], "count": t["count"], "url": _url(base, [("thema", t["value"])])} for t in popular
        ],
        "sorts": SORTS,
        "sort_urls": {s: _url(base, [*[(k, v) for k, v in pairs if k != "sort"], ("sort", s)]) for s in SORTS},
        "prev_url": with_page(outcome.page - 1) if outcome.page > 1 else None,
        "next_url": with_page(outcome.page + 1) if outcome.page < outcome.pages else None,
        "breadcrumbs": crumbs(request, ("Zoeken", None)),
    }


def outcome_filters(params) -> dict[str, list[str]]:
    return Filters.from_params(params).values


@view_config(route_name="api_zoeken", renderer="json", permission=Permissions.VIEW, request_method="GET")
def api_search(request):
    return request.search.search(_params(request))


@view_config(route_name="api_suggesties", renderer="json", permission=Permissions.VIEW, request_method="GET")
def api_suggestions(request):
    params = _params(request)
    return request.search.suggest(params.get("q"))
