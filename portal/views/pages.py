"""Home, about and the information pages (privacy, colofon, toegankelijkheid)."""

from __future__ import annotations

from pyramid.view import view_config

from portal.content import cards, catalog
from portal.content.facets import facet_index
from portal.content.memo import memoized
from portal.content.models import PracticeExample
from portal.mail import editors_address
from portal.rendering import idle_text
from portal.security import Permissions
from portal.views.browse import region_counts, theme_counts
from portal.views.helpers import crumbs

#: Example cards in each list of the home page.
HOME_CARDS = 6


@view_config(route_name="home", renderer="portal:templates/home.jinja2", permission=Permissions.VIEW)
def home(request):
    db = request.dbsession
    vocab = cards.vocabulary(request)
    return {
        **memoized(request, "home", lambda: _home_vocabulary(request)),
        **memoized(request, "home_cards", lambda: _home_cards(db, vocab)),
        "featured_articles": [a for a in cards.article_cards(request) if a.featured],
    }


def _home_cards(db, vocab) -> dict:
    """The featured and the most recent example cards: the same for every request of a generation."""
    newest = catalog.example_cards(db, vocab, catalog.ExampleFilters(), per_page=HOME_CARDS, sort="nieuwste")
    featured = cards.cards(db, vocab, cards.card_query().where(PracticeExample.featured.is_(True))
                           .order_by(PracticeExample.title).limit(HOME_CARDS))
    return {"featured": tuple(featured), "recent": tuple(newest)}


def _home_vocabulary(request) -> dict:
    """Themes, provinces and school types with content, and the total: the same for every request of a generation."""
    vocab, index = cards.vocabulary(request), facet_index(request)
    school_types = [(t, index.school_type_counts.get(t.id, 0)) for t in vocab.school_types.values()]
    return {
        "themes": [(t, n_ex, n_art) for t, n_ex, n_art in theme_counts(request) if n_ex or n_art],
        "school_types": [(t, n) for t, n in school_types if n],
        "provinces": [{"region": p["region"], "count": p["count"]} for p in region_counts(request).tree if p["count"]],
        "total": index.everything.bit_count(),
    }


@view_config(route_name="over", renderer="portal:templates/about.jinja2", permission=Permissions.VIEW)
def about(request):
    return {"sources": catalog.published_sources(request.dbsession),
            "breadcrumbs": crumbs(request, ("Over dit portaal", None))}


PLACEHOLDER_CONTACT = "redactie@kennisportaal.example.nl"


def editors_contact(settings) -> tuple[str, bool]:
    """The editors' address (``mail.default_sender``) and whether it is only a placeholder.

    A missing address or one on ``localhost`` (development, tests) is no address a visitor can write to, so the
    pages then show a clearly marked example address instead.
    """
    sender = editors_address(settings) if (settings.get("mail.default_sender") or "").strip() else ""
    if not sender or "@" not in sender or sender.rsplit("@", 1)[1].lower() in ("localhost", "localhost.localdomain"):
        return PLACEHOLDER_CONTACT, True
    return sender, False


def _info_page(request, label: str) -> dict:
    contact, placeholder = editors_contact(request.registry.settings)
    return {"contact_email": contact, "contact_placeholder": placeholder,
            "idle": idle_text(request.registry.settings), "breadcrumbs": crumbs(request, (label, None))}


@view_config(route_name="privacy", renderer="portal:templates/privacy.jinja2", permission=Permissions.VIEW)
def privacy(request):
    return _info_page(request, "Privacyverklaring")


@view_config(route_name="colofon", renderer="portal:templates/colofon.jinja2", permission=Permissions.VIEW)
def colofon(request):
    return {**_info_page(request, "Colofon"), "sources": catalog.published_sources(request.dbsession)}


@view_config(route_name="toegankelijkheid", renderer="portal:templates/accessibility.jinja2",
             permission=Permissions.VIEW)
def accessibility(request):
    return _info_page(request, "Toegankelijkheidsverklaring")
