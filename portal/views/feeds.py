"""Machine-readable ways in: an Atom feed of published examples, a sitemap and robots.txt.

Absolute URLs come from ``portal.base_url`` (request.route_url uses it; see portal.inputs), never from the Host
header. Text goes into XML only through portal.inputs.xml_text, so one stray control character in a title can never
make the feed unreadable.
"""

from __future__ import annotations

from pyramid.view import view_config

from portal.content import cards, catalog
from portal.content.models import RegionKind, iso_utc
from portal.inputs import xml_text
from portal.security import Permissions
from portal.views.browse import region_counts, regions_with_content

FEED_SIZE = 30


@view_config(route_name="feed_voorbeelden", renderer="portal:templates/feed.jinja2", permission=Permissions.VIEW)
def examples_feed(request):
    examples = catalog.recent_examples(request.dbsession, limit=FEED_SIZE)
    request.response.content_type = "application/atom+xml"
    entries = [{
        "title": xml_text(e.title), "summary": xml_text(e.summary),
        "url": xml_text(request.route_url("voorbeeld", slug=e.slug)),
        # The item's own dates (issue 10), never the time of the request; updated is never before published.
        "published": iso_utc(e.published_at),
        "updated": iso_utc(max(filter(None, (e.updated_at, e.published_at)))),
        "categories": [(xml_text(t.slug), xml_text(t.name)) for t in e.themes],
    } for e in examples]
    updated = max((entry["updated"] for entry in entries), default=None)  # same format, so text order is time order
    return {"entries": entries, "updated": updated,
            "feed_url": xml_text(request.route_url("feed_voorbeelden")),
            "html_url": xml_text(request.route_url("voorbeelden"))}


@view_config(route_name="sitemap", renderer="portal:templates/sitemap.jinja2", permission=Permissions.VIEW)
def sitemap(request):
    db = request.dbsession
    overviews = ("home", "voorbeelden", "themas", "regios", "kennis", "bronnen", "over")
    urls = [request.route_url(name) for name in overviews]
    urls += [request.route_url("voorbeeld", slug=slug) for slug in catalog.published_example_slugs(db)]
    urls += [request.route_url("kennisartikel", slug=a.slug) for a in cards.article_cards(request)]
    urls += [request.route_url("bron", slug=s.slug) for s in catalog.published_sources(db)]
    urls += [request.route_url("thema", slug=t.slug) for t in cards.vocabulary(request).themes.values()]
    for province in regions_with_content(region_counts(request).tree):  # regions without content stay out
        urls.append(request.route_url("regio", slug=province["region"].slug))
        for youth in province["jeugdregios"]:
            urls.append(request.route_url("regio", slug=youth["region"].slug))
            urls += [request.route_url("regio", slug=g["region"].slug) for g in youth["gemeenten"]
                     if g["region"].kind == RegionKind.MUNICIPALITY]
    request.response.content_type = "application/xml"
    return {"urls": [xml_text(url) for url in urls]}


@view_config(route_name="robots", permission=Permissions.VIEW)
def robots(request):
    response = request.response
    response.content_type = "text/plain"
    response.text = (
        "User-agent: *\nDisallow: /redactie\nDisallow: /bijdragen\nDisallow: /mijn-bijdragen\n"
        "Disallow: /account\nDisallow: /beheer\n"
        f"Sitemap: {request.route_url('sitemap')}\n"
    )
    return response
