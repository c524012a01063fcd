"""Home and about pages."""

from __future__ import annotations

from pyramid.view import view_config

from portal.content import catalog
from portal.security import Permissions
from portal.views.helpers import crumbs


@view_config(route_name="home", renderer="portal:templates/home.jinja2", permission=Permissions.VIEW)
def home(request):
    db = request.dbsession
    return {
        "themes": [t for t in catalog.themes_with_counts(db) if t[1] or t[2]],
        "school_types": [t for t in catalog.school_types_with_counts(db) if t[1]],
        "provinces": [p for p in catalog.region_tree(db) if p["count"]],
        "featured": catalog.featured_examples(db),
        "recent": catalog.recent_examples(db),
        "featured_articles": [a for a in catalog.published_articles(db) if a.featured],
        "total": catalog.example_page(db, catalog.ExampleFilters(), per_page=1, with_facets=False).total,
    }


@view_config(route_name="over", renderer="portal:templates/about.jinja2", permission=Permissions.VIEW)
def about(request):
    return {"sources": catalog.published_sources(request.dbsession),
            "breadcrumbs": crumbs(request, ("Over dit portaal", None))}
