"""Example and article cards for lists, read as plain columns instead of ORM objects.

A card needs a handful of columns of the example, its themes, school types, provincie, jeugdregio and source. The
vocabulary (themes, school types, regions, sources) is read once per content generation (``vocabulary``); a list
of cards then costs two statements whatever its length: the rows, and the theme/school-type links of those rows.
Cards are frozen, so memoized lists of them can be shared between requests and threads.

The card macro (templates/macros/cards.jinja2) reads the same attribute names from a card as from a
PracticeExample, so both can be shown.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import Select, bindparam, literal, select, union_all
from sqlalchemy.orm import Session

from portal.content.memo import Term, memoized
from portal.content.models import (
    Article,
    PracticeExample,
    Region,
    SchoolType,
    Source,
    Status,
    Theme,
    article_themes,
    example_school_types,
    example_themes,
    local_date,
)


@dataclass(frozen=True)
class SourceRef:
    id: int
    slug: str
    title: str
    year: int | None


@dataclass(frozen=True)
class RegionInfo:
    """A region as its page shows it: with its aliases and the regions it lies in."""

    id: int
    slug: str
    name: str
    kind: str
    aliases: tuple[str, ...]
    province_id: int | None
    youth_region_id: int | None
    province: Term | None
    youth_region: Term | None


@dataclass(frozen=True)
class Vocabulary:
    """Themes, school types, regions and published sources by id, in the editors' order; one per generation."""

    themes: dict[int, Term]
    school_types: dict[int, Term]
    regions: dict[int, Term]
    sources: dict[int, SourceRef]
    theme_order: dict[int, int]
    school_type_order: dict[int, int]
    #: slug -> term, for looking up what a URL names without a query
    theme_slugs: dict[str, Term]
    school_type_slugs: dict[str, Term]
    region_slugs: dict[str, Term]
    #: slug -> the region for its page
    region_pages: dict[str, RegionInfo]
    #: example id -> (themes, school types), filled by cards_terms. Kept with the vocabulary because both belong to
    #: one content generation (linking a theme to a published example advances it): a new generation reads anew.
    card_terms: dict[int, tuple[tuple[Term, ...], tuple[Term, ...]]] = field(default_factory=dict, compare=False,
                                                                             repr=False)

    def label(self, facet: str, slug: str) -> str | None:
        """The display name of a filter value (catalog.FACETS), or None for an unknown one."""
        table = {"thema": self.theme_slugs, "schooltype": self.school_type_slugs}.get(facet, self.region_slugs)
        found = table.get(slug)
        return found.name if found is not None else None


def read_vocabulary(db: Session) -> Vocabulary:
    themes = db.execute(select(Theme.id, Theme.slug, Theme.name, Theme.description).order_by(Theme.position,
                                                                                             Theme.id)).all()
    school_types = db.execute(select(SchoolType.id, SchoolType.slug, SchoolType.name, SchoolType.description)
                              .order_by(SchoolType.position, SchoolType.id)).all()
    regions = db.execute(select(Region.id, Region.slug, Region.name, Region.kind, Region.aliases,
                                Region.province_id, Region.youth_region_id)).all()
    # Every source, not only published ones: an example card names its source whatever the source's state, as the
    # ORM relationship did.
    sources = db.execute(select(Source.id, Source.slug, Source.title, Source.year)).all()
    theme_terms = {i: Term(i, s, n, d or "") for i, s, n, d in themes}
    school_type_terms = {i: Term(i, s, n, d or "") for i, s, n, d in school_types}
    region_terms = {i: Term(i, s, n, "", k or "") for i, s, n, k, *_rest in regions}
    return Vocabulary(
        themes=theme_terms, school_types=school_type_terms, regions=region_terms,
        sources={i: SourceRef(i, s, t, y) for i, s, t, y in sources},
        theme_order={row[0]: n for n, row in enumerate(themes)},
        school_type_order={row[0]: n for n, row in enumerate(school_types)},
        theme_slugs={t.slug: t for t in theme_terms.values()},
        school_type_slugs={t.slug: t for t in school_type_terms.values()},
        region_slugs={t.slug: t for t in region_terms.values()},
        region_pages={s: RegionInfo(i, s, n, k or "", tuple(aliases or ()), p, y, region_terms.get(p),
                                    region_terms.get(y))
                      for i, s, n, k, aliases, p, y in regions},
    )


def vocabulary(request) -> Vocabulary:
    db = request.dbsession
    return memoized(request, "card_vocabulary", lambda: read_vocabulary(db))


@dataclass(frozen=True)
class Card:
    """What lists show of a practice example (and the JSON API's summary)."""

    id: int
    slug: str
    title: str
    summary: str
    place: str
    province: Term | None
    youth_region: Term | None
    source: SourceRef | None
    published_at: dt.datetime | None
    published_date: dt.date | None
    themes: tuple[Term, ...]
    school_types: tuple[Term, ...]
    featured: bool = False


#: The columns of practice_examples a card is made of, in the order _card() reads them.
CARD_COLUMNS = (PracticeExample.id, PracticeExample.slug, PracticeExample.title, PracticeExample.summary,
                PracticeExample.place, PracticeExample.province_id, PracticeExample.youth_region_id,
                PracticeExample.source_id, PracticeExample.published_at, PracticeExample.featured)


def card_query() -> Select:
    """Published examples as card columns; add filters, order and limit, then hand it to ``cards``."""
    return select(*CARD_COLUMNS).where(PracticeExample.status == Status.PUBLISHED)


# Built once: constructing a statement costs more than running it from SQLAlchemy's compiled cache.
_LINKS = union_all(
    select(example_themes.c.example_id, literal(0), example_themes.c.theme_id)
    .where(example_themes.c.example_id.in_(bindparam("ids", expanding=True))),
    select(example_school_types.c.example_id, literal(1), example_school_types.c.school_type_id)
    .where(example_school_types.c.example_id.in_(bindparam("ids", expanding=True))))


def cards_terms(db: Session, vocab: Vocabulary, ids: list[int]
                ) -> tuple[dict[int, tuple[Term, ...]], dict[int, tuple[Term, ...]]]:
    """({example id: themes}, {example id: school types}) of the examples ``ids``, in the editors' order: one
    statement for the examples this generation's vocabulary has not seen in a list yet, none for the others."""
    known = vocab.card_terms
    missing = [i for i in ids if i not in known]
    if missing:
        found: tuple[dict[int, list[int]], dict[int, list[int]]] = ({}, {})
        for example_id, kind, term_id in db.execute(_LINKS, {"ids": missing}):
            found[kind].setdefault(example_id, []).append(term_id)
        for i in missing:
            known[i] = (ordered_terms(found[0].get(i, []), vocab.themes, vocab.theme_order),
                        ordered_terms(found[1].get(i, []), vocab.school_types, vocab.school_type_order))
    return {i: known[i][0] for i in ids}, {i: known[i][1] for i in ids}


def ordered_terms(ids: list[int], table: dict[int, Term], order: dict[int, int]) -> tuple[Term, ...]:
    """The terms of ``ids`` (themes or school types) in the editors' order; ids no longer in the vocabulary left out."""
    return tuple(table[i] for i in sorted(ids, key=lambda i: (order.get(i, 0), i)) if i in table)


def cards(db: Session, vocab: Vocabulary, query: Select) -> list[Card]:
    """The cards for the rows of ``query`` (a card_query()), in its order: two statements."""
    rows = db.execute(query).all()
    if not rows:
        return []
    themes, school_types = cards_terms(db, vocab, [row[0] for row in rows])
    regions = vocab.regions
    return [
        Card(id=i, slug=slug, title=title, summary=summary or "", place=place or "",
             province=regions.get(province_id), youth_region=regions.get(youth_id),
             source=vocab.sources.get(source_id), published_at=published_at,
             published_date=local_date(published_at),
             themes=themes.get(i, ()), school_types=school_types.get(i, ()),
             featured=bool(featured))
        for i, slug, title, summary, place, province_id, youth_id, source_id, published_at, featured in rows
    ]


@dataclass(frozen=True)
class ArticleCard:
    id: int
    slug: str
    title: str
    summary: str
    kind: str
    featured: bool
    theme_ids: frozenset[int]


def read_article_cards(db: Session) -> tuple[ArticleCard, ...]:
    """Every published article, by title (A-Z for people, as catalog.published_articles)."""
    from sqlalchemy import func

    rows = db.execute(select(Article.id, Article.slug, Article.title, Article.summary, Article.kind, Article.featured)
                      .where(Article.status == Status.PUBLISHED).order_by(func.lower(Article.title), Article.id)).all()
    themes: dict[int, set[int]] = {}
    for article_id, theme_id in db.execute(select(article_themes.c.article_id, article_themes.c.theme_id)):
        themes.setdefault(article_id, set()).add(theme_id)
    return tuple(ArticleCard(i, s, t, summary or "", kind or "", bool(f), frozenset(themes.get(i, ())))
                 for i, s, t, summary, kind, f in rows)


def article_cards(request) -> tuple[ArticleCard, ...]:
    """Published article cards, once per content generation (there are few, and every list of them is a filter)."""
    db = request.dbsession
    return memoized(request, "article_cards", lambda: read_article_cards(db))
