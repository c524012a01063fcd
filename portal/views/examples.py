"""Practice examples: the browsable, filterable list and the detail page."""

from __future__ import annotations

import logging

from markupsafe import Markup
from pyramid.httpexceptions import HTTPNotFound
from pyramid.view import view_config
from pyramid_jinja2 import IJinja2Environment

from portal.content import cards, catalog
from portal.content.facets import facet_index
from portal.content.memo import memoized
from portal.security import Permissions
from portal.views.helpers import FACET_LABELS, crumbs, filters_url, page_window

log = logging.getLogger(__name__)

PER_PAGE = 12


@view_config(route_name="voorbeelden", renderer="portal:templates/examples.jinja2", permission=Permissions.VIEW)
def example_list(request):
    params = request.GET
    db = request.dbsession
    vocab = cards.vocabulary(request)
    filters = catalog.parse_filters(params, db, known_slugs(request))
    sort = catalog.parse_sort(params)
    page_number = catalog.parse_int(params, "page", 1, maximum=10_000)
    # Total and counts depend only on the filters (not on page or sort): once per generation and filter combination.
    total = example_count(request, filters)
    facets, facets_html = memoized(request, "facets?" + repr(filters.as_params()),
                                   lambda: _facets(request, facet_index(request).facets(filters)))
    result = catalog.ExamplePage([], total, page_number, PER_PAGE, facets)
    if page_number > result.pages:
        raise HTTPNotFound(f"Pagina {page_number} bestaat niet; er zijn {result.pages} pagina's.")
    if total:
        result.items = catalog.example_cards(db, vocab, filters, page=page_number, per_page=PER_PAGE, sort=sort)
    return {
        # every chosen value, also one that has no results with the other filters (and so is not among the facets)
        "active_filters": [(facet, value, vocab.label(facet, value) or value) for facet, value in filters.as_params()],
        "page": result,
        "page_numbers": page_window(result.page, result.pages),
        "filters": filters,
        "sort": sort,
        "sorts": catalog.SORTS,
        "facet_labels": FACET_LABELS,
        "facet_groups": facets_html,
        "toggle_url": lambda facet, value: filters_url(
            request, "voorbeelden", filters.toggled(facet, value), sort=sort if sort != catalog.DEFAULT_SORT else None),
        "page_url": lambda n: filters_url(
            request, "voorbeelden", filters, sort=sort if sort != catalog.DEFAULT_SORT else None,
            page=n if n > 1 else None),
        "clear_url": request.route_path("voorbeelden"),
        "breadcrumbs": crumbs(request, ("Praktijkvoorbeelden", None)),
    }


@view_config(route_name="voorbeeld", renderer="portal:templates/example.jinja2", permission=Permissions.VIEW)
def example_detail(request):
    example = catalog.get_example_detail(request.dbsession, cards.vocabulary(request), request.matchdict["slug"])
    if example is None:
        raise HTTPNotFound("Dit praktijkvoorbeeld bestaat niet of is niet (meer) gepubliceerd.")
    return {
        "example": example,
        "related": related_examples(request, example.slug),
        "breadcrumbs": crumbs(request, ("Praktijkvoorbeelden", request.route_url("voorbeelden")),
                              (example.title, None)),
    }


def _facets(request, facets: dict[str, list[catalog.FacetValue]]) -> tuple[dict, Markup]:
    """The facet counts and their checkboxes as HTML (templates/macros/facets.jinja2), kept together."""
    env = request.registry.queryUtility(IJinja2Environment, name=".jinja2")
    macros = env.get_template("portal:templates/macros/facets.jinja2").module
    return facets, Markup(macros.facet_groups(facets, FACET_LABELS))  # noqa: S704 - rendered with autoescape


def known_slugs(request) -> dict[str, frozenset[str]]:
    """Every filter value that exists (catalog.vocabulary_slugs), once per generation."""
    db = request.dbsession
    return memoized(request, "vocabulary_slugs", lambda: catalog.vocabulary_slugs(db))


def example_count(request, filters: catalog.ExampleFilters) -> int:
    """Published examples matching ``filters`` (portal.content.facets: no statement once the generation's bitsets
    are built)."""
    return facet_index(request).count(filters)


def related_examples(request, slug: str) -> list[dict]:
    """"Vergelijkbare voorbeelden" from the search engine; the page still works when search is unavailable."""
    try:
        return list(request.search.related(slug, limit=5))
    except Exception:  # search is an enhancement here; the example page must never fail because of it
        log.exception("Vergelijkbare voorbeelden voor %s konden niet worden bepaald", slug)
        return []
