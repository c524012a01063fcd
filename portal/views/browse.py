"""Browse pages: themes, regions, knowledge articles and sources."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from pyramid.httpexceptions import HTTPNotFound
from pyramid.view import view_config

from portal.accounts import coordination
from portal.content import cards, catalog
from portal.content.facets import FacetIndex, facet_index
from portal.content.memo import Term, memoized
from portal.content.models import RegionKind
from portal.security import Permissions
from portal.views.examples import example_count
from portal.views.helpers import crumbs


@view_config(route_name="themas", renderer="portal:templates/themes.jinja2", permission=Permissions.VIEW)
def theme_list(request):
    return {"themes": theme_counts(request),
            "breadcrumbs": crumbs(request, ("Thema's", None))}


#: Example cards on a theme or region page at most (a row count of 2, 3 and 4 columns); the heading says how many
#: there are and a link leads to all of them in /voorbeelden, filtered and paged. 100 cards made a page of 10,000
#: examples cost 8-10 ms of CPU per miss, most of it on cards nobody scrolls to.
LIST_EXAMPLES = 24


@view_config(route_name="thema", renderer="portal:templates/theme.jinja2", permission=Permissions.VIEW)
def theme_detail(request):
    vocab = cards.vocabulary(request)
    theme = vocab.theme_slugs.get(request.matchdict["slug"])
    if theme is None:
        raise HTTPNotFound("Dit thema bestaat niet.")
    filters = catalog.ExampleFilters(thema=(theme.slug,))
    examples = catalog.example_cards(request.dbsession, vocab, filters, per_page=LIST_EXAMPLES)
    return {"theme": theme, "examples": examples, "total": example_count(request, filters),
            "articles": [a for a in cards.article_cards(request) if theme.id in a.theme_ids],
            "breadcrumbs": crumbs(request, ("Thema's", request.route_url("themas")), (theme.name, None))}


def regions_with_content(tree: Sequence[Mapping]) -> list[dict]:
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


@dataclass(frozen=True)
class RegionCounts:
    """The region tree (catalog.region_tree) with Terms instead of ORM objects, and each region's subregions with
    content: read once per content generation."""

    tree: tuple[Mapping, ...]
    #: region id -> the jeugdregio's of a provincie, or the gemeenten of a jeugdregio, that have published examples
    subregions: dict[int, tuple[Term, ...]]


def region_counts(request) -> RegionCounts:
    vocab, index = cards.vocabulary(request), facet_index(request)
    return memoized(request, "region_counts", lambda: _region_counts(vocab, index))


def _region_counts(vocab: cards.Vocabulary, index: FacetIndex) -> RegionCounts:
    """catalog.region_tree from the vocabulary and the generation's counts: no statement, no ORM objects."""
    regions = [vocab.region_pages[slug] for slug, _name in index.order["regio"]]  # the database's name order

    def entry(region: cards.RegionInfo, **below) -> MappingProxyType:
        count = index.region_counts.get((region.kind, region.id), 0)
        return MappingProxyType({"region": vocab.regions[region.id], "count": count, **below})

    children: dict[tuple[str, int | None], list[cards.RegionInfo]] = {}
    for region in regions:
        if region.kind == RegionKind.YOUTH_REGION:
            children.setdefault((region.kind, region.province_id), []).append(region)
        elif region.kind == RegionKind.MUNICIPALITY:
            children.setdefault((region.kind, region.youth_region_id), []).append(region)
    tree, below = [], {}
    for province in (r for r in regions if r.kind == RegionKind.PROVINCE):
        youth = []
        for region in children.get((RegionKind.YOUTH_REGION, province.id), ()):
            gemeenten = tuple(entry(g) for g in children.get((RegionKind.MUNICIPALITY, region.id), ()))
            youth.append(entry(region, gemeenten=gemeenten))
            below[region.id] = tuple(g["region"] for g in gemeenten if g["count"])
        tree.append(entry(province, jeugdregios=tuple(youth)))
        below[province.id] = tuple(y["region"] for y in youth if y["count"])
    return RegionCounts(tuple(tree), below)


def theme_counts(request) -> tuple[tuple[Term, int, int], ...]:
    """catalog.themes_with_counts from the vocabulary and the generation's counts (no statement)."""
    vocab, index, articles = cards.vocabulary(request), facet_index(request), cards.article_cards(request)

    def compute():
        return tuple((theme, index.theme_counts.get(theme.id, 0), sum(theme.id in a.theme_ids for a in articles))
                     for theme in vocab.themes.values())
    return memoized(request, "theme_counts", compute)


@view_config(route_name="regios", renderer="portal:templates/regions.jinja2", permission=Permissions.VIEW)
def region_list(request):
    return {"tree": regions_with_content(region_counts(request).tree),
            "breadcrumbs": crumbs(request, ("Regio's", None))}


REGION_KIND_LABELS = {RegionKind.PROVINCE: "Provincie", RegionKind.YOUTH_REGION: "Jeugdregio",
                      RegionKind.MUNICIPALITY: "Gemeente"}
REGION_FILTER = {RegionKind.PROVINCE: "provincie", RegionKind.YOUTH_REGION: "regio", RegionKind.MUNICIPALITY: "regio"}


@view_config(route_name="regio", renderer="portal:templates/region.jinja2", permission=Permissions.VIEW)
def region_detail(request):
    region = cards.vocabulary(request).region_pages.get(request.matchdict["slug"])
    if region is None:
        raise HTTPNotFound("Deze regio bestaat niet.")
    trail = [("Regio's", request.route_url("regios"))]
    for parent in (region.province, region.youth_region if region.kind == RegionKind.MUNICIPALITY else None):
        if parent is not None:
            trail.append((parent.name, request.route_url("regio", slug=parent.slug)))
    return {"region": region, "kind_label": REGION_KIND_LABELS[region.kind],
            "filter_name": REGION_FILTER[region.kind],
            "examples": catalog.region_cards(request.dbsession, cards.vocabulary(request), region, LIST_EXAMPLES),
            "total": example_count(request, catalog.ExampleFilters(**{REGION_FILTER[region.kind]: (region.slug,)})),
            # Only those with content; a region without content still answers (200) with a short note.
            "subregions": region_counts(request).subregions.get(region.id, ()),
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
