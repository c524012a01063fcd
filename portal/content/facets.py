"""Totals and facet counts of published examples from bitsets, built once per content generation.

Each published example is a bit (its id); each filter value (a theme, school type, provincie, jeugdregio or gemeente) a
mask of the examples it selects. A filter combination is then a few ANDs and ORs of masks, and a facet count one
AND and a bit count: microseconds whatever the number of examples, instead of SQL that scans the examples for
every combination. The masks are read from the database in three statements when a generation is first used, so
they always match what the list pages show (the search index may lag behind the database).

Semantics are those of catalog.facet_counts: values within a facet combine with OR, facets with AND, a facet's
counts use every filter except its own, values without results are left out.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, String, cast, func, select
from sqlalchemy.orm import Session

from portal.content.catalog import FACETS, ExampleFilters, FacetValue
from portal.content.memo import memoized
from portal.content.models import (
    PracticeExample,
    Region,
    SchoolType,
    Status,
    Theme,
    example_school_types,
    example_themes,
)


@dataclass(frozen=True)
class FacetIndex:
    #: every published example
    everything: int
    #: facet -> value -> the examples the filter value selects ("regio": jeugdregio or gemeente)
    selects: dict[str, dict[str, int]]
    #: facet -> value -> the examples counted under the value in the facet's list ("regio": by jeugdregio only)
    listed: dict[str, dict[str, int]]
    #: facet -> (value, label) in the order of the list (themes and school types as the editors ordered them,
    #: regions by name)
    order: dict[str, tuple[tuple[str, str], ...]]
    #: (RegionKind, region id) -> number of examples with that region as their provincie, jeugdregio or gemeente
    #: (catalog.region_tree's counts); absent when none
    region_counts: dict[tuple[str, int], int]
    #: theme id / school type id -> number of examples
    theme_counts: dict[int, int]
    school_type_counts: dict[int, int]

    def matching(self, filters: ExampleFilters, without: str | None = None) -> int:
        mask = self.everything
        for facet in FACETS:
            chosen = filters.get(facet)
            if chosen and facet != without:
                selects = self.selects[facet]
                either = 0
                for value in chosen:
                    either |= selects.get(value, 0)
                mask &= either
        return mask

    def count(self, filters: ExampleFilters) -> int:
        return self.matching(filters).bit_count()

    def facets(self, filters: ExampleFilters) -> dict[str, list[FacetValue]]:
        result = {}
        for facet in FACETS:
            base = self.matching(filters, without=facet)
            listed, chosen = self.listed[facet], filters.get(facet)
            values = []
            for value, label in self.order[facet]:
                count = (base & listed[value]).bit_count()
                if count:
                    values.append(FacetValue(value, label, count, value in chosen))
            result[facet] = values
        return result


def _mask(ids: str | None) -> int:
    """The bitset of a comma-separated list of example ids (each example's id is its bit)."""
    if not ids:
        return 0
    numbers = [int(i) for i in ids.split(",")]
    bits = bytearray((max(numbers) >> 3) + 1)
    for n in numbers:
        bits[n >> 3] |= 1 << (n & 7)
    return int.from_bytes(bits, "little")


def read_facet_index(db: Session) -> FacetIndex:
    """Six statements, each returning one row per value with the ids of its examples as one string: the database
    groups (from indexes alone), Python only sets bits; reading every row and link instead took five times as
    long at 10,000 examples."""
    published = PracticeExample.status == Status.PUBLISHED
    def ids_of(column) -> ColumnElement:
        example_id = PracticeExample.id if column.table is PracticeExample.__table__ else column.table.c.example_id
        return func.aggregate_strings(cast(example_id, String), ",")

    everything = _mask(db.scalar(select(ids_of(PracticeExample.id)).where(published)))
    masks: dict[tuple[str, int], int] = {}
    counts: dict[tuple[str, int], int] = {}
    groups = (("provincie", PracticeExample.province_id), ("jeugdregio", PracticeExample.youth_region_id),
              ("gemeente", PracticeExample.gemeente_id),
              ("thema", example_themes.c.theme_id), ("schooltype", example_school_types.c.school_type_id))
    for kind, column in groups:
        # Every example, published or not, read from the column's index alone; the AND keeps the published.
        for value, found in db.execute(select(column, ids_of(column)).where(column.is_not(None)).group_by(column)):
            mask = _mask(found) & everything
            if mask:
                masks[(kind, value)], counts[(kind, value)] = mask, mask.bit_count()

    def of(kind: str, ident: int) -> int:
        return masks.get((kind, ident), 0)

    themes = db.execute(select(Theme.id, Theme.slug, Theme.name).order_by(Theme.position)).all()
    school_types = db.execute(select(SchoolType.id, SchoolType.slug, SchoolType.name)
                              .order_by(SchoolType.position)).all()
    # The database's name order (its collation), as the SQL facet lists had it.
    regions = db.execute(select(Region.id, Region.slug, Region.name).order_by(Region.name)).all()
    selects = {
        "thema": {slug: of("thema", i) for i, slug, _name in themes},
        "schooltype": {slug: of("schooltype", i) for i, slug, _name in school_types},
        "provincie": {slug: of("provincie", i) for i, slug, _name in regions},
        "regio": {slug: of("jeugdregio", i) | of("gemeente", i) for i, slug, _name in regions},
    }
    listed = {**selects, "regio": {slug: of("jeugdregio", i) for i, slug, _name in regions}}
    return FacetIndex(
        everything=everything, selects=selects, listed=listed,
        order={"thema": tuple((s, n) for _i, s, n in themes), "schooltype": tuple((s, n) for _i, s, n in school_types),
               "provincie": tuple((s, n) for _i, s, n in regions), "regio": tuple((s, n) for _i, s, n in regions)},
        region_counts={key: n for key, n in counts.items() if key[0] in ("provincie", "jeugdregio", "gemeente")},
        theme_counts={i: counts.get(("thema", i), 0) for i, _s, _n in themes},
        school_type_counts={i: counts.get(("schooltype", i), 0) for i, _s, _n in school_types})


def facet_index(request) -> FacetIndex:
    """The FacetIndex of the request's content generation."""
    db = request.dbsession
    return memoized(request, "facet_index", lambda: read_facet_index(db))
