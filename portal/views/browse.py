"""Browse pages: themes, regions, knowledge articles and sources."""

from __future__ import annotations

from pyramid.httpexceptions import HTTPNotFound
from pyramid.view import view_config
from sqlalchemy import func, select

from portal.accounts import coordination
from portal.content import cards, catalog
from portal.content.models import PracticeExample, RegionKind, Status
from portal.security import Permissions
from portal.views.helpers import crumbs


@view_config(route_name="themas", renderer="portal:templates/themes.jinja2", permission=Permissions.VIEW)
def theme_list(request):
    return {"themes": catalog.themes_with_counts(request.dbsession),
            "breadcrumbs": crumbs(request, ("Thema's", None))}


#: Example cards on a theme page at most.
THEME_EXAMPLES = 100


@view_config(route_name="thema", renderer="portal:templates/theme.jinja2", permission=Permissions.VIEW)
def theme_detail(request):
    vocab = cards.vocabulary(request)
    theme = vocab.theme_slugs.get(request.matchdict["slug"])
    if theme is None:
        raise HTTPNotFound("Dit thema bestaat niet.")
    filters = catalog.ExampleFilters(thema=(theme.slug,))
    examples = catalog.example_cards(request.dbsession, vocab, filters, per_page=THEME_EXAMPLES)
    return {"theme": theme, "examples": examples,
            "articles": [a for a in cards.article_cards(request) if theme.id in a.theme_ids],
            "breadcrumbs": crumbs(request, ("Thema's", request.route_url("themas")), (theme.name, None))}


def regions_with_content(tree: list[dict]) -> list[dict]:
    """The region tree (catalog.region_tree) without the regions that have no published example: all 342 gemeenten
    can be chosen in the contribution form, but lists, the sitemap and the overview show only regions with content.
    A province or jeugdregio stays when something below it has content."""
    quiet = []
    for province in tree:
        youth = []
        for region in province["jeugdregios"]:
            gemeenten = [g for g in region["gemeenten"] if g["count"]]
            if region["count"] or gemeenten:
                youth.append({**region, "gemeenten": gemeenten})
        if province["count"] or youth:
            quiet.append({**province, "jeugdregios": youth})
    return quiet


def _subregions_with_content(dbsession, region) -> list:
    """The jeugdregio's of a provincie, or the gemeenten of a jeugdregio, that have published examples (one query)."""
    below = catalog.subregions(dbsession, region)
    if not below:
        return []
    column = (PracticeExample.youth_region_id if region.kind == RegionKind.PROVINCE
              else PracticeExample.gemeente_id)
    query = (select(column, func.count()).where(PracticeExample.status == Status.PUBLISHED,
                                                column.in_([r.id for r in below])).group_by(column))
    counted = dict(dbsession.execute(query).all())
    return [r for r in below if counted.get(r.id)]


@view_config(route_name="regios", renderer="portal:templates/regions.jinja2", permission=Permissions.VIEW)
def region_list(request):
    return {"tree": regions_with_content(catalog.region_tree(request.dbsession)),
            "breadcrumbs": crumbs(request, ("Regio's", None))}


REGION_KIND_LABELS = {RegionKind.PROVINCE: "Provincie", RegionKind.YOUTH_REGION: "Jeugdregio",
                      RegionKind.MUNICIPALITY: "Gemeente"}
REGION_FILTER = {RegionKind.PROVINCE: "provincie", RegionKind.YOUTH_REGION: "regio", RegionKind.MUNICIPALITY: "regio"}


@view_config(route_name="regio", renderer="portal:templates/region.jinja2", permission=Permissions.VIEW)
def region_detail(request):
    region = catalog.get_region(request.dbsession, request.matchdict["slug"])
    if region is None:
        raise HTTPNotFound("Deze regio bestaat niet.")
    trail = [("Regio's", request.route_url("regios"))]
    for parent in (region.province, region.youth_region if region.kind == RegionKind.MUNICIPALITY else None):
        if parent is not None:
            trail.append((parent.name, request.route_url("regio", slug=parent.slug)))
    return {"region": region, "kind_label": REGION_KIND_LABELS[region.kind],
            "filter_name": REGION_FILTER[region.kind],
            "examples": catalog.region_cards(request.dbsession, cards.vocabulary(request), region),
            # Only those with content; a region without content still answers (200) with a short note.
            "subregions": _subregions_with_content(request.dbsession, region),
            # Named only with their consent (portal.accounts.coordination.public_coordinators).
            "coordinators": coordination.public_coordinators(request.dbsession, region),
            "breadcrumbs": crumbs(request, *trail, (region.name, None))}


@view_config(route_name="kennis", renderer="portal:templates/articles.jinja2", permission=Permissions.VIEW)
def article_list(request):
    return {"articles": catalog.published_articles(request.dbsession),
            "breadcrumbs": crumbs(request, ("Kennis", None))}


@view_config(route_name="kennisartikel", renderer="portal:templates/article.jinja2", permission=Permissions.VIEW)
def article_detail(request):
    article = catalog.get_published_article(request.dbsession, request.matchdict["slug"])
    if article is None:
        raise HTTPNotFound("Dit kennisartikel bestaat niet of is niet (meer) gepubliceerd.")
    return {"article": article,
            "related": [e for e in article.related_examples if e.is_published],
            "breadcrumbs": crumbs(request, ("Kennis", request.route_url("kennis")), (article.title, None))}


@view_config(route_name="bronnen", renderer="portal:templates/sources.jinja2", permission=Permissions.VIEW)
def source_list(request):
    return {"sources": catalog.published_sources(request.dbsession),
            "breadcrumbs": crumbs(request, ("Bronnen", None))}


@view_config(route_name="bron", renderer="portal:templates/source.jinja2", permission=Permissions.VIEW)
def source_detail(request):
    source = catalog.get_published_source(request.dbsession, request.matchdict["slug"])
    if source is None:
        raise HTTPNotFound("Deze bron bestaat niet.")
    return {"source": source,
            "examples": catalog.examples_from_source(request.dbsession, source),
            "articles": catalog.articles_from_source(request.dbsession, source),
            "breadcrumbs": crumbs(request, ("Bronnen", request.route_url("bronnen")), (source.title, None))}
