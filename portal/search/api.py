"""``request.search``: the search service bound to one request (for URLs); what views and templates use."""

from __future__ import annotations

import logging
from typing import Any

from portal.content.cards import vocabulary
from portal.content.memo import memoized
from portal.search.labels import facet_labels
from portal.search.query import parse
from portal.search.service import FACETS, Filters, Outcome, SearchService

log = logging.getLogger(__name__)

#: Popular starting points offered on an empty result page.
POPULAR_LIMIT = 6
#: Paths of result items per application (as portal.links keeps the layout's) by (script name, route, slug): every
#: result links one, and Pyramid's URL generation cost more than a look-up. Starts over when full.
ITEM_PATHS_SIZE = 50_000


def _int(value: Any, default: int = 1) -> int:
    try:
        return int(str(value).strip()[:6])
    except (TypeError, ValueError):
        return default


class RequestSearch:
    """Search for one request. All methods accept raw user input and never raise on it."""

    def __init__(self, service: SearchService, request):
        self.service = service
        self.request = request

    # -- URLs ---------------------------------------------------------------------------------

    def url_for(self, route: str, slug: str, fragment: str = "") -> str:
        key = (self.request.script_name, route, slug)
        item_paths = self.service.item_paths
        url = item_paths.get(key)
        if url is None:
            try:
                url = self.request.route_path(route, slug=slug)
            except KeyError:  # a route that this deployment does not have
                url = f"/{route}/{slug}"
            if len(item_paths) >= ITEM_PATHS_SIZE:
                item_paths.clear()
            item_paths[key] = url
        return f"{url}#{fragment}" if fragment else url

    # -- searching ---------------------------------------------------------------------------------

    def labels(self) -> dict[str, dict[str, str]]:
        """The facets' names in this request's content generation: one object per generation, shared."""
        return memoized(self.request, "search_facet_labels", lambda: facet_labels(vocabulary(self.request)))

    def outcome(self, params) -> Outcome:
        """Run the search described by request parameters (q, thema, regio, provincie, schooltype...).

        A failing index (not user input: input never fails) gives an empty "not available" outcome, logged.
        """
        try:
            return self.service.search(
                params.get("q"),
                Filters.from_params(params),
                page=max(1, _int(params.get("page"), 1)),
                sort=str(params.get("sort") or "relevantie"),
                labels=self.labels(),
            )
        except Exception:
            log.exception("zoeken mislukt")
            return Outcome(parse(params.get("q")), 0, [], {}, None, [], ready=False)

    def results(self, outcome: Outcome) -> list[dict]:
        out = []
        for hit in outcome.hits:
            item = {k: v for k, v in hit.items() if k not in ("route", "fragment", "updated")}
            item["url"] = self.url_for(hit["route"], hit["slug"], hit["fragment"])
            out.append(item)
        return out

    def as_json(self, outcome: Outcome) -> dict:
        """The /api/zoeken document (see issue 4 for its shape)."""
        return {
            "query": outcome.parsed.text,
            "total": outcome.total,
            "page": outcome.page,
            "pages": outcome.pages,
            "sort": outcome.sort,
            "results": self.results(outcome),
            "facets": {
                name: [
                    {"value": e["value"], "label": e["label"], "count": e["count"]}
                    for e in outcome.facets.get(name, [])
                ]
                for name in FACETS
            },
            "suggestion": outcome.suggestion,
            "corrected": outcome.corrected,
            "expanded": outcome.expanded,
        }

    def search(self, params) -> dict:
        return self.as_json(self.outcome(params))

    def popular_themes(self, limit: int = POPULAR_LIMIT) -> list[dict]:
        """The themes with most items: where an empty result page sends people."""
        everything = self.service.search("", Filters(), page_size=1, labels=self.labels())
        return everything.facets.get("thema", [])[:limit]

    def suggest(self, q: str | None, limit: int = 8) -> list[dict]:
        """Autocomplete entries: {"label", "type", "url"}; type is thema, plaats or a document type."""
        out = []
        for entry in self.service.suggest(q, limit=limit):
            if entry["type"] == "thema":
                url = self.url_for("thema", entry["value"])
            elif entry["type"] == "plaats":
                url = self.url_for("regio", entry["value"])
            else:
                url = self.url_for(entry["route"], entry["slug"])
            out.append({"label": entry["label"], "type": entry["type"], "url": url})
        return out

    def related(self, slug: str, limit: int = 5) -> list[dict]:
        """Related examples ("Vergelijkbare voorbeelden"), other regions first.

        Returns [{"slug", "title", "url", "place", "summary"}].
        """
        return [
            {
                "slug": r["slug"],
                "title": r["title"],
                "url": self.url_for(r["route"], r["slug"]),
                "place": r["place"],
                "summary": r["summary"],
            }
            for r in self.service.related(str(slug or "")[:80], limit=max(0, min(int(limit), 20)))
        ]
