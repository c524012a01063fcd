"""Totals and facet counts from per-generation bitsets (portal.content.facets) equal the SQL reference
(catalog.facet_counts / count_examples) for many filter combinations, on the database of this run, and follow a
change at once (the bitsets belong to one content generation).
"""

from __future__ import annotations

import random

import pytest
from sqlalchemy import select

from portal.content import catalog
from portal.content.facets import read_facet_index
from portal.content.memo import GenerationMemo
from portal.content.models import PracticeExample, Status


def _combinations(known: dict[str, frozenset[str]], n: int) -> list[catalog.ExampleFilters]:
    rnd = random.Random(12)
    found = [catalog.ExampleFilters()]
    found += [catalog.ExampleFilters(**{facet: (value,)}) for facet in catalog.FACETS for value in sorted(known[facet])]
    for _ in range(n):
        values = {facet: tuple(rnd.sample(sorted(known[facet]), rnd.choice((1, 1, 2))))
                  for facet in catalog.FACETS if rnd.random() < 0.5}
        found.append(catalog.ExampleFilters(**values))
    return found


def _check_same(db) -> None:
    index = read_facet_index(db)
    known = catalog.vocabulary_slugs(db)
    for filters in _combinations(known, 60):
        assert index.facets(filters) == catalog.facet_counts(db, filters), filters
        assert index.count(filters) == catalog.count_examples(db, filters), filters


def test_bitsets_equal_the_sql_counts(shared_site):
    with shared_site.session() as db:
        _check_same(db)


@pytest.mark.parametrize("status", [Status.OFFLINE, Status.WITHDRAWN])
def test_counts_follow_unpublishing_at_once(site, status):
    app = site.testapp()
    with site.session() as db:
        example = db.scalars(select(PracticeExample).where(PracticeExample.status == Status.PUBLISHED)
                             .order_by(PracticeExample.slug)).first()
        slug, theme = example.slug, example.themes[0].slug
        total = catalog.count_examples(db, catalog.ExampleFilters())
    in_theme = app.get("/api/voorbeelden", params={"thema": theme}).json["total"]
    assert f"bundelt {total} praktijkvoorbeelden" in app.get("/").text
    with site.session() as db:
        db.scalars(select(PracticeExample).where(PracticeExample.slug == slug)).one().status = status
    assert app.get("/api/voorbeelden", params={"thema": theme}).json["total"] == in_theme - 1
    assert f"bundelt {total - 1} praktijkvoorbeelden" in app.get("/").text
    with site.session() as db:
        _check_same(db)


def test_fixed_memo_values_are_kept_however_many_per_request_values_came_first():
    memo = GenerationMemo()
    for n in range(GenerationMemo.MAX_VALUES + 5):
        memo.get(1, f"facets?{n}", lambda n=n: n)
    calls = []
    for _ in range(2):
        memo.get(1, "facet_index", lambda: calls.append(1) or "index")
        memo.get(1, f"facets?{GenerationMemo.MAX_VALUES + 10}", lambda: calls.append(2) or "extra")
    assert calls == [1, 2, 2]  # the fixed value once; the per-request value beyond the bound every time
    assert memo.get(2, "facet_index", lambda: "new") == "new"  # a new generation starts empty
