"""Read-side queries over published content: filtering, facet counts, sorting and paging.

Facets follow the usual rule for faceted browsing: values within one facet combine with OR, facets combine with AND,
and the counts of a facet are computed with every filter except its own, so each offered choice has results.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, aliased, joinedload, selectinload

from portal.content.cards import Card, RegionInfo, Vocabulary, card_query, cards
from portal.content.detail import ExampleDetail, published_example
from portal.content.files import MAX_SLUG, SLUG_RE
from portal.content.models import (
    Article,
    PracticeExample,
    Region,
    RegionKind,
    SchoolType,
    Source,
    Status,
    Theme,
    article_themes,
    example_school_types,
    example_themes,
)

FACETS = ("thema", "regio", "provincie", "schooltype")
SORTS = {
    "titel": "Titel (A-Z)",
    "nieuwste": "Nieuwste eerst",
    "plaats": "Plaats (A-Z)",
}
DEFAULT_SORT = "titel"


class InvalidQuery(ValueError):
    """A query parameter that cannot be honoured; the message is Dutch and shown to the visitor."""


@dataclasses.dataclass(frozen=True)
class ExampleFilters:
    thema: tuple[str, ...] = ()
    regio: tuple[str, ...] = ()
    provincie: tuple[str, ...] = ()
    schooltype: tuple[str, ...] = ()

    def get(self, facet: str) -> tuple[str, ...]:
        return getattr(self, facet)

    def without(self, facet: str) -> ExampleFilters:
        return dataclasses.replace(self, **{facet: ()})

    def toggled(self, facet: str, value: str) -> ExampleFilters:
        current = self.get(facet)
        values = tuple(v for v in current if v != value) if value in current else (*current, value)
        return dataclasses.replace(self, **{facet: values})

    def as_params(self) -> list[tuple[str, str]]:
        return [(facet, value) for facet in FACETS for value in self.get(facet)]

    @property
    def active(self) -> bool:
        return any(self.get(f) for f in FACETS)


@dataclasses.dataclass
class FacetValue:
    value: str
    label: str
    count: int
    selected: bool


@dataclasses.dataclass
class ExamplePage:
    items: list[PracticeExample] | list[Card]
    total: int
    page: int
    per_page: int
    facets: dict[str, list[FacetValue]]

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def published_examples() -> Select:
    return select(PracticeExample).where(PracticeExample.status == Status.PUBLISHED)


def parse_filters(params: Mapping, dbsession: Session,
                  known: Mapping[str, frozenset[str]] | None = None) -> ExampleFilters:
    """Read repeatable facet parameters (``thema=a&thema=b``); unknown values are a clear error.

    ``known``: the vocabulary_slugs() to check against, when the caller already has them (memoized per generation).
    """
    known = known if known is not None else vocabulary_slugs(dbsession)
    values = {}
    for facet in FACETS:
        raw = params.getall(facet) if hasattr(params, "getall") else params.get(facet, [])
        chosen: list[str] = []
        for value in raw if isinstance(raw, list) else [raw]:
            value = (value or "").strip()
            if not value:
                continue
            if value not in known[facet]:
                raise InvalidQuery(f"Onbekende waarde voor '{facet}': {value[:80]!r}.")
            if value not in chosen:
                chosen.append(value)
        values[facet] = tuple(chosen)
    return ExampleFilters(**values)


def parse_int(params: Mapping, name: str, default: int, minimum: int = 1, maximum: int | None = None) -> int:
    raw = params.get(name)
    if raw in (None, ""):
        return default
    # only ASCII digits: int() would also take "९" or "1_000"
    if not isinstance(raw, str) or not re.fullmatch(r"[0-9]{1,9}", raw.strip()):
        raise InvalidQuery(f"'{name}' moet een geheel getal zijn.")
    value = int(raw)
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"tussen {minimum} en {maximum}" if maximum is not None else f"minstens {minimum}"
        raise InvalidQuery(f"'{name}' moet {bound} zijn.")
    return value


def parse_sort(params: Mapping) -> str:
    sort = params.get("sort") or DEFAULT_SORT
    if sort not in SORTS:
        raise InvalidQuery(f"Onbekende sortering {sort[:40]!r}; kies uit: {', '.join(SORTS)}.")
    return sort


def vocabulary_slugs(dbsession: Session) -> dict[str, frozenset[str]]:
    regions = dbsession.execute(select(Region.slug, Region.kind)).all()
    return {
        "thema": frozenset(dbsession.scalars(select(Theme.slug))),
        "schooltype": frozenset(dbsession.scalars(select(SchoolType.slug))),
        "provincie": frozenset(slug for slug, kind in regions if kind == RegionKind.PROVINCE),
        "regio": frozenset(slug for slug, kind in regions if kind != RegionKind.PROVINCE),
    }


def _apply_filters(query: Select, filters: ExampleFilters) -> Select:
    if filters.thema:
        query = query.where(PracticeExample.id.in_(
            select(example_themes.c.example_id).join(Theme).where(Theme.slug.in_(filters.thema))))
    if filters.schooltype:
        query = query.where(PracticeExample.id.in_(
            select(example_school_types.c.example_id).join(SchoolType).where(SchoolType.slug.in_(filters.schooltype))))
    if filters.regio:
        region_ids = select(Region.id).where(Region.slug.in_(filters.regio))
        query = query.where(or_(PracticeExample.youth_region_id.in_(region_ids),
                                PracticeExample.gemeente_id.in_(region_ids)))
    if filters.provincie:
        province_ids = select(Region.id).where(Region.slug.in_(filters.provincie))
        query = query.where(PracticeExample.province_id.in_(province_ids))
    return query


def _ordered(query: Select, sort: str) -> Select:
    if sort == "nieuwste":
        # NULLS LAST explicitly: SQLite and PostgreSQL disagree on where NULLs go in a DESC sort.
        return query.order_by(PracticeExample.published_at.desc().nulls_last(),
                              PracticeExample.start_year.desc().nulls_last(), PracticeExample.title)
    # lower(): A-Z for people, the same on every database (a binary collation puts "SJSO" before "School").
    if sort == "plaats":
        return query.order_by(func.lower(PracticeExample.place), func.lower(PracticeExample.title),
                              PracticeExample.slug)
    return query.order_by(func.lower(PracticeExample.title), PracticeExample.slug)


def facet_counts(dbsession: Session, filters: ExampleFilters) -> dict[str, list[FacetValue]]:
    """Counts per facet value under all other facets' filters; values with zero results are left out."""
    facets: dict[str, list[FacetValue]] = {}
    for facet in FACETS:
        matching = _apply_filters(published_examples(), filters.without(facet)).with_only_columns(
            PracticeExample.id).scalar_subquery()
        if facet == "thema":
            rows = dbsession.execute(
                select(Theme.slug, Theme.name, func.count()).join(example_themes)
                .where(example_themes.c.example_id.in_(matching))
                .group_by(Theme.slug, Theme.name, Theme.position).order_by(Theme.position)).all()
        elif facet == "schooltype":
            rows = dbsession.execute(
                select(SchoolType.slug, SchoolType.name, func.count()).join(example_school_types)
                .where(example_school_types.c.example_id.in_(matching))
                .group_by(SchoolType.slug, SchoolType.name, SchoolType.position).order_by(SchoolType.position)).all()
        else:
            column = PracticeExample.province_id if facet == "provincie" else PracticeExample.youth_region_id
            region = aliased(Region)
            rows = dbsession.execute(
                select(region.slug, region.name, func.count(PracticeExample.id))
                .join(PracticeExample, column == region.id)
                .where(PracticeExample.id.in_(matching))
                .group_by(region.slug, region.name).order_by(region.name)).all()
        selected = filters.get(facet)
        facets[facet] = [FacetValue(slug, name, count, slug in selected) for slug, name, count in rows if count]
    return facets


def count_examples(dbsession: Session, filters: ExampleFilters) -> int:
    query = _apply_filters(select(func.count(PracticeExample.id)).where(PracticeExample.status == Status.PUBLISHED),
                           filters)
    return dbsession.scalar(query) or 0


def example_cards(dbsession: Session, vocab: Vocabulary, filters: ExampleFilters, page: int = 1, per_page: int = 20,
                  sort: str = DEFAULT_SORT) -> list[Card]:
    """One page of the filtered, sorted list as cards (portal.content.cards): two statements."""
    query = _ordered(_apply_filters(card_query(), filters), sort).limit(per_page).offset((page - 1) * per_page)
    return cards(dbsession, vocab, query)


def _possible_slug(slug: str) -> bool:
    """Only well-formed slugs reach the database: a NUL byte in a URL would make PostgreSQL raise, not miss."""
    return isinstance(slug, str) and len(slug) <= MAX_SLUG and SLUG_RE.match(slug) is not None


def get_published_example(dbsession: Session, slug: str) -> PracticeExample | None:
    if not _possible_slug(slug):
        return None
    return dbsession.scalar(published_examples().where(PracticeExample.slug == slug).options(
        joinedload(PracticeExample.source), joinedload(PracticeExample.gemeente),
        joinedload(PracticeExample.youth_region), joinedload(PracticeExample.province),
        selectinload(PracticeExample.themes), selectinload(PracticeExample.school_types),
        selectinload(PracticeExample.contacts), selectinload(PracticeExample.tips)))


def get_example_detail(dbsession: Session, vocab: Vocabulary, slug: str) -> ExampleDetail | None:
    """The published example as its page shows it (portal.content.detail), or None."""
    if not _possible_slug(slug):
        return None
    return published_example(dbsession, vocab, slug)


def card_loading() -> tuple:
    """What an example card shows besides the row itself, loaded in one query each for the whole list."""
    return (selectinload(PracticeExample.themes), selectinload(PracticeExample.school_types),
            joinedload(PracticeExample.province))


def recent_examples(dbsession: Session, limit: int = 6) -> list[PracticeExample]:
    return list(dbsession.scalars(_ordered(published_examples(), "nieuwste").options(*card_loading()).limit(limit)))


def published_example_slugs(dbsession: Session) -> list[str]:
    return list(dbsession.scalars(published_examples().with_only_columns(PracticeExample.slug)
                                  .order_by(PracticeExample.slug)))


def published_articles(dbsession: Session, theme: Theme | None = None) -> list[Article]:
    query = select(Article).where(Article.status == Status.PUBLISHED).order_by(func.lower(Article.title))
    if theme is not None:
        query = query.where(Article.themes.contains(theme))
    return list(dbsession.scalars(query))


def get_published_article(dbsession: Session, slug: str) -> Article | None:
    if not _possible_slug(slug):
        return None
    return dbsession.scalar(select(Article).where(Article.slug == slug, Article.status == Status.PUBLISHED))


def published_sources(dbsession: Session) -> list[Source]:
    return list(dbsession.scalars(
        select(Source).where(Source.status == Status.PUBLISHED)
        .order_by(Source.year.desc().nulls_last(), func.lower(Source.title))))


def get_published_source(dbsession: Session, slug: str) -> Source | None:
    if not _possible_slug(slug):
        return None
    return dbsession.scalar(select(Source).where(Source.slug == slug, Source.status == Status.PUBLISHED))


def _published_counts(dbsession: Session, key, model) -> dict[int, int]:
    """Number of published ``model`` rows per value of ``key``: a column of a link table or of the model itself."""
    query = select(key, func.count()).where(model.status == Status.PUBLISHED).group_by(key)
    if key.table is not model.__table__:
        query = query.select_from(key.table).join(model)
    return dict(dbsession.execute(query).all())


def themes_with_counts(dbsession: Session) -> list[tuple[Theme, int, int]]:
    """Every theme with its number of published examples and articles (themes without content included)."""
    examples = _published_counts(dbsession, example_themes.c.theme_id, PracticeExample)
    articles = _published_counts(dbsession, article_themes.c.theme_id, Article)
    themes = dbsession.scalars(select(Theme).order_by(Theme.position))
    return [(t, examples.get(t.id, 0), articles.get(t.id, 0)) for t in themes]


def region_tree(dbsession: Session) -> list[dict]:
    """Provinces with their youth-care regions and municipalities, each with a count of published examples."""
    regions = list(dbsession.scalars(select(Region).order_by(Region.name)))
    counts = {
        RegionKind.PROVINCE: _published_counts(dbsession, PracticeExample.province_id, PracticeExample),
        RegionKind.YOUTH_REGION: _published_counts(dbsession, PracticeExample.youth_region_id, PracticeExample),
        RegionKind.MUNICIPALITY: _published_counts(dbsession, PracticeExample.gemeente_id, PracticeExample),
    }

    def count(region: Region) -> int:
        return counts[region.kind].get(region.id, 0)

    tree = []
    for province in (r for r in regions if r.kind == RegionKind.PROVINCE):
        youth = [
            {"region": y, "count": count(y),
             "gemeenten": [{"region": g, "count": count(g)} for g in regions
                           if g.kind == RegionKind.MUNICIPALITY and g.youth_region_id == y.id]}
            for y in regions if y.kind == RegionKind.YOUTH_REGION and y.province_id == province.id
        ]
        tree.append({"region": province, "count": count(province), "jeugdregios": youth})
    return tree


def examples_in_region(dbsession: Session, region: Region) -> list[PracticeExample]:
    column = {RegionKind.PROVINCE: PracticeExample.province_id,
              RegionKind.YOUTH_REGION: PracticeExample.youth_region_id,
              RegionKind.MUNICIPALITY: PracticeExample.gemeente_id}[region.kind]
    return list(dbsession.scalars(published_examples().where(column == region.id).options(*card_loading())
                                  .order_by(PracticeExample.title)))


def region_cards(dbsession: Session, vocab: Vocabulary, region: Region | RegionInfo, limit: int) -> list[Card]:
    """The first ``limit`` of examples_in_region as cards (portal.content.cards)."""
    column = {RegionKind.PROVINCE: PracticeExample.province_id,
              RegionKind.YOUTH_REGION: PracticeExample.youth_region_id,
              RegionKind.MUNICIPALITY: PracticeExample.gemeente_id}[region.kind]
    return cards(dbsession, vocab, card_query().where(column == region.id).order_by(PracticeExample.title)
                 .limit(limit))


def subregions(dbsession: Session, region: Region) -> Sequence[Region]:
    if region.kind == RegionKind.PROVINCE:
        return list(dbsession.scalars(select(Region).where(
            Region.province_id == region.id, Region.kind == RegionKind.YOUTH_REGION).order_by(Region.name)))
    if region.kind == RegionKind.YOUTH_REGION:
        return list(dbsession.scalars(select(Region).where(Region.youth_region_id == region.id).order_by(Region.name)))
    return []


def examples_from_source(dbsession: Session, source: Source) -> list[PracticeExample]:
    return list(dbsession.scalars(
        published_examples().where(PracticeExample.source_id == source.id).options(*card_loading())
        .order_by(PracticeExample.title)))


def articles_from_source(dbsession: Session, source: Source) -> list[Article]:
    return list(dbsession.scalars(select(Article).where(
        Article.source_id == source.id, Article.status == Status.PUBLISHED).order_by(Article.title)))
