"""JSON API for practice examples. Only published items; errors are JSON with a Dutch message."""

from __future__ import annotations

from pyramid.httpexceptions import HTTPNotFound
from pyramid.view import view_config

from portal.content import cards, catalog
from portal.content.cards import Card
from portal.content.detail import ExampleDetail
from portal.content.models import PracticeExample, iso_utc
from portal.rendering import render_markdown
from portal.security import Permissions
from portal.views.examples import example_count, known_slugs

MAX_PER_PAGE = 100


def example_summary(request, example: PracticeExample | Card) -> dict:
    return {
        "slug": example.slug,
        "title": example.title,
        "summary": example.summary,
        "url": request.route_url("voorbeeld", slug=example.slug),
        "place": example.place,
        "province": example.province.name if example.province else None,
        "region": example.youth_region.name if example.youth_region else None,
        "school_types": [t.slug for t in example.school_types],
        "themes": [t.slug for t in example.themes],
        "source": example.source.title if example.source else None,
    }


def example_full(request, example: PracticeExample | ExampleDetail) -> dict:
    body = example.body_markdown()
    return {
        **example_summary(request, example),
        "gemeente": example.gemeente.name if example.gemeente else None,
        "target_group": example.target_group,
        "partners": list(example.partners),
        "financing": example.financing,
        "start_year": example.start_year,
        "status": example.project_status or None,
        "sections": [{"field": f, "heading": h, "markdown": text, "html": str(render_markdown(text))}
                     for f, h, text in example.sections()],
        "body_markdown": body,
        "body_html": str(render_markdown(body)),
        "tips": [tip.text for tip in example.tips],
        # Only public contacts, and an address only with consent or as an organisation mailbox (issue 10); the
        # others are reached through the contact form (contact_url).
        "contacts": [{"name": c.name, "role": c.role or None, "organisation": c.organisation or None,
                      "email": c.public_email or None} for c in example.public_contacts],
        "contact_url": request.route_url("voorbeeld_contact", slug=example.slug),
        "source_chapter": example.source_chapter or None,
        "source_url": request.route_url("bron", slug=example.source.slug) if example.source else None,
        "published_at": example.published_at.isoformat() if example.published_at else None,
        # Issue 10, ISO 8601 in UTC: first publication on the portal, last real change, the source's year.
        "published": iso_utc(example.published_at),
        "updated": iso_utc(max(filter(None, (example.updated_at, example.published_at)), default=None)),
        "source_year": example.source_year,
    }


@view_config(route_name="api_voorbeelden", renderer="json", permission=Permissions.VIEW, request_method="GET")
def api_examples(request):
    params = request.GET
    filters = catalog.parse_filters(params, request.dbsession, known_slugs(request))
    page = catalog.parse_int(params, "page", 1, maximum=100_000)
    per_page = catalog.parse_int(params, "per_page", 20, maximum=MAX_PER_PAGE)
    sort = catalog.parse_sort(params)
    total = example_count(request, filters)
    items = catalog.example_cards(request.dbsession, cards.vocabulary(request), filters, page=page,
                                  per_page=per_page, sort=sort) if (page - 1) * per_page < total else []
    return {"total": total, "page": page, "per_page": per_page,
            "items": [example_summary(request, e) for e in items]}


@view_config(route_name="api_voorbeeld", renderer="json", permission=Permissions.VIEW, request_method="GET")
def api_example(request):
    example = catalog.get_example_detail(request.dbsession, cards.vocabulary(request), request.matchdict["slug"])
    if example is None:
        raise HTTPNotFound("Dit praktijkvoorbeeld bestaat niet of is niet gepubliceerd.")
    return example_full(request, example)
