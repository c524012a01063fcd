"""Related examples are computed by whoever writes the index and stored with its generation (portal.search.related):
a web process only reads them, a kept list never shows a withdrawn example or an old title, and an index without
the stored lists still works."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import Site, wait_for
from sqlalchemy import select
from test_search_lifecycle import write_ini

from portal.content.models import PracticeExample, Status
from portal.search import SearchService
from portal.search.index import CURRENT
from portal.search.related import KEY_TERMS, RELATED_KEPT, ExampleSpace, key_text
from portal.search.related_store import RELATED_FILE, RelatedState
from portal.search.scripts import main as reindex_main

SLUG = "koesterklas-nunspeet"


def service_of(site) -> SearchService:
    return site.registry["search_service"]


def generation_dir(site) -> Path:
    root = Path(site.settings["search.index_dir"])
    return root / (root / CURRENT).read_text().strip()


def stored(site) -> RelatedState:
    state = RelatedState.read(generation_dir(site))
    assert state is not None
    return state


def computed(site) -> int:
    """Lists this process computed itself (on view) since it started."""
    return service_of(site).queries._related.computed_on_view


def published_examples(site) -> set[str]:
    with site.session() as s:
        return set(s.scalars(select(PracticeExample.slug).where(PracticeExample.status == Status.PUBLISHED)))


def related_slugs(site, slug: str, limit: int = 5) -> list[str]:
    return [r["slug"] for r in service_of(site).related(slug, limit=limit)]


def add_twin(site, slug: str = SLUG, twin: str = "koesterklas-tweede-locatie") -> str:
    """A published copy of ``slug`` in no region (lists put examples from other regions first)."""
    with site.session() as s:
        original = s.scalars(select(PracticeExample).where(PracticeExample.slug == slug)).one()
        copy = PracticeExample(
            slug=twin, title=original.title + " (tweede locatie)", summary=original.summary, place="Elders",
            gemeente_id=None, youth_region_id=None, province_id=None, target_group=original.target_group,
            background=original.background, approach=original.approach, results=original.results,
            lessons=original.lessons, financing=original.financing, status=Status.PUBLISHED,
        )
        copy.themes = list(original.themes)
        s.add(copy)
    return twin


def test_every_list_exists_right_after_a_rebuild_and_no_process_computes_one(site, tmp_path):
    assert reindex_main([str(write_ini(site, tmp_path / "test.ini"))]) == 0
    state = stored(site)
    examples = published_examples(site)
    assert set(state.lists) == examples
    for slug, kept in state.lists.items():
        assert len(kept) == RELATED_KEPT and slug not in kept and set(kept) <= examples
    service = service_of(site)
    wait_for(lambda: service.generation.name == generation_dir(site).name, timeout=3.0)
    for slug in examples:
        shown = related_slugs(site, slug)
        assert shown == list(state.lists[slug][:5])
    page = site.testapp().get(f"/voorbeelden/{SLUG}", status=200)
    assert f'/voorbeelden/{state.lists[SLUG][0]}"' in page.text
    assert computed(site) == 0


def test_lists_put_examples_from_other_regions_first(site):
    """With 25 examples every other example is a candidate: a list never has one from its own region before one
    from elsewhere."""
    service = service_of(site)
    with service.keeper.reading() as view:
        searcher = view.searcher
        region = {fields["slug"]: set((fields.get("regio") or "").split(",")) - {""}
                  for fields in searcher.documents(type="voorbeeld")}
    for slug, kept in stored(site).lists.items():
        same = [bool(region[slug] & region[other]) for other in kept]
        assert same == sorted(same), (slug, kept)


def test_an_edit_applied_by_one_app_is_served_by_another_without_computing(site_factory):
    """App A runs the index writer; app B (same database and index directory, no writer) reads A's lists."""
    a = site_factory()
    b = Site(a.db_url, a.workdir.parent / "b", **{"search.index_dir": a.settings["search.index_dir"],
                                                     "search.writer": "false"})
    try:
        assert len(related_slugs(b, SLUG)) == 5
        twin = add_twin(a)
        assert wait_for(lambda: twin in (stored(a).lists.get(SLUG) or ()), timeout=5.0) < 5.0
        assert wait_for(lambda: twin in related_slugs(b, SLUG), timeout=5.0) < 5.0
        assert SLUG in related_slugs(b, twin)  # the new example's own list, computed by A's writer
        assert computed(b) == 0 and computed(a) == 0
    finally:
        b.close()


def test_unpublishing_an_example_removes_it_from_every_list_shown_at_once(site):
    state = stored(site)
    first = related_slugs(site, SLUG)[0]
    owners = sorted(slug for slug, kept in state.lists.items() if first in kept[:5])
    assert SLUG in owners
    with site.session() as s:
        s.scalars(select(PracticeExample).where(PracticeExample.slug == first)).one().status = Status.WITHDRAWN
    # At commit, before the writer removed it from the index: hidden, never shown.
    for owner in owners:
        assert first not in related_slugs(site, owner), owner
    page = site.testapp().get(f"/voorbeelden/{SLUG}", status=200)
    assert f'/voorbeelden/{first}"' not in page.text
    # Once applied, the writer stored lists without it, each still full.
    assert wait_for(lambda: all(first not in kept for kept in stored(site).lists.values()), timeout=5.0) < 5.0
    assert first not in stored(site).lists
    for owner in owners:
        assert len(stored(site).lists[owner]) == RELATED_KEPT and len(related_slugs(site, owner)) == 5


def test_a_list_shows_current_titles(site):
    service = service_of(site)
    first = related_slugs(site, SLUG)[0]
    with site.session() as s:
        s.scalars(select(PracticeExample).where(PracticeExample.slug == first)).one().title = "Hernoemd voorbeeld"
    assert wait_for(lambda: service.related(SLUG, limit=5)[0]["title"] == "Hernoemd voorbeeld", timeout=3.0) < 3.0


@pytest.mark.parametrize("damage", ["missing", "garbage"])
def test_an_index_without_stored_lists_still_works(site, damage):
    """An index built before lists were stored (or a damaged file): a list is computed on view and kept; the
    writer's next change stores the lists it touches."""
    path = generation_dir(site) / RELATED_FILE
    expected = stored(site).lists[SLUG][:5]
    if damage == "missing":
        path.unlink()
    else:
        path.write_bytes(b'{"format": 1, "toc": 3}\n\xff\x00 niet te lezen')
    shown = related_slugs(site, SLUG)
    assert shown == list(expected)  # the same list as the whole-index pass made
    assert computed(site) == 1
    assert related_slugs(site, SLUG) == shown and computed(site) == 1  # kept, not computed again
    assert related_slugs(site, "bestaat-niet") == []

    twin = add_twin(site)
    assert wait_for(lambda: twin in (RelatedState.read(path.parent) or RelatedState()).lists.get(SLUG, ()),
                    timeout=5.0) < 5.0
    assert twin in related_slugs(site, SLUG)


def test_the_whole_index_pass_finds_the_key_terms_the_writer_finds_from_the_text(site):
    """A rebuild takes key terms from the index's postings; the writer analyses a changed example's text: both give
    the same terms, so a list does not change merely because the other path computed it."""
    state = stored(site)
    with service_of(site).keeper.reading() as view:
        space = ExampleSpace(view.searcher)
        for slug, key_terms in state.key_terms.items():
            text = key_text(view.searcher.stored_fields(space.docnums[space.number(slug)]))
            assert key_terms == space.key_terms_of_text(text), slug
            assert len(key_terms) == KEY_TERMS
