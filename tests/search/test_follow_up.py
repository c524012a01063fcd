"""The writer's follow-up work after a change (merging small segments, the related lists) comes after the change
itself reached search, gives way to newer changes, is done by one process at a time, and pages built on the lists
notice when they are replaced (portal.search.keeper, IndexStore.update_related, related.update)."""

from __future__ import annotations

import fcntl
import time

from conftest import wait_for
from test_related_kept import SLUG, add_twin, generation_dir, service_of, stored
from test_search_lifecycle import edit_title, slugs

from portal.search import SearchService, related
from portal.search.index import RELATED_LOCK
from portal.search.keeper import FOLLOW_UP_QUIET_SECONDS
from portal.search.related_store import RelatedState


def test_an_edit_reaches_search_while_another_process_updates_the_related_lists(site):
    """Another process holding the lists' lock (it is updating them) must not hold back this process's changes,
    nor may the two update the lists at the same time."""
    service = service_of(site)
    with (generation_dir(site) / RELATED_LOCK).open("a") as other_process:
        fcntl.flock(other_process, fcntl.LOCK_EX)
        twin = add_twin(site)
        assert wait_for(lambda: twin in slugs(service, "tweede locatie"), timeout=1.0) < 1.0
        edit_title(site, "Koesterklas zqxvoorrang")
        assert wait_for(lambda: SLUG in slugs(service, "zqxvoorrang"), timeout=1.0) < 1.0
        time.sleep(FOLLOW_UP_QUIET_SECONDS + 0.5)  # the writer's follow-up is due, but the lock is taken
        assert twin not in stored(site).lists
        assert not service.keeper.settled
    # Released: this process writes the lists the two changes left.
    assert wait_for(lambda: twin in (stored(site).lists.get(SLUG) or ()), timeout=5.0) < 5.0
    assert SLUG in stored(site).lists[twin]
    assert wait_for(lambda: service.keeper.settled, timeout=2.0) < 2.0


def test_an_update_that_gives_way_leaves_the_rest_outdated_and_the_next_update_does_it(site, tmp_path):
    service = service_of(site)
    state = stored(site)
    with service.generation.index.searcher() as searcher:
        whole = related.update(state, searcher, {SLUG})
        answers = iter([False, False])  # two more lists, then newer changes wait
        partial = related.update(state, searcher, {SLUG}, stop=lambda: next(answers, True))
        assert partial.lists[SLUG] == whole.lists[SLUG]  # the changed example itself is always done
        assert len(partial.outdated) >= 3
        assert whole.outdated == set()
        partial.write(tmp_path)
        reread = RelatedState.read(tmp_path)
        assert reread is not None and reread.outdated == partial.outdated
        finished = related.update(reread, searcher, set())
    assert finished.outdated == set()
    assert finished.lists == whole.lists
    assert finished.key_terms == whole.key_terms


def test_a_cached_page_shows_the_related_list_written_after_it(site):
    """The page cache keys on the search state, which changes when the related lists are replaced: an example
    page cached between a change and its lists is not kept."""
    service = service_of(site)
    app = site.testapp()
    twin = add_twin(site)
    wait_for(lambda: twin in slugs(service, "tweede locatie"), timeout=2.0)
    app.get(f"/voorbeelden/{SLUG}", status=200)  # most likely before the lists follow (the writer waits a moment)
    wait_for(lambda: twin in (stored(site).lists.get(SLUG) or ()), timeout=5.0)
    link = f'/voorbeelden/{twin}"'
    assert wait_for(lambda: link in app.get(f"/voorbeelden/{SLUG}", status=200).text, timeout=2.0) < 2.0
    again = app.get(f"/voorbeelden/{SLUG}", status=200)
    assert again.headers["X-Portal-Cache"] == "hit" and link in again.text


def segment_sizes(service) -> list[int]:
    return sorted(segment.doc_count_all() for segment in service.generation.index._read_toc().segments)


def burst_without_follow_up(site, service, edits: int) -> None:
    """``edits`` changes applied as a burst leaves them: each its own small segment, nothing merged yet."""
    service.stop_worker()
    for n in range(edits):
        edit_title(site, f"Koesterklas zqxreeks{n}")
        service.drain(follow_up=False)
    assert SLUG in slugs(service, f"zqxreeks{edits - 1}")
    assert sum(1 for size in segment_sizes(service) if size <= 20) >= edits, segment_sizes(service)


def test_the_follow_up_merges_every_small_segment_a_burst_left_in_one_pass(site):
    service = service_of(site)
    big = sum(1 for size in segment_sizes(service) if size > 20)
    burst_without_follow_up(site, service, 8)  # more than the 5 one MERGE_SMALL step takes
    generation = service.generation.index.latest_generation()
    service.drain()
    assert service.generation.index.latest_generation() == generation + 1  # one merge commit
    assert len(segment_sizes(service)) <= big + 1
    assert SLUG in slugs(service, "zqxreeks7") and slugs(service, "zqxreeks3") == []
    assert service.keeper.settled


def test_a_process_that_stopped_before_its_follow_up_leaves_it_to_the_next_start(site):
    service = service_of(site)
    big = sum(1 for size in segment_sizes(service) if size > 20)
    twin = add_twin(site)
    burst_without_follow_up(site, service, 6)
    service.close()  # stopped within the quiet spell: nothing merged, the twin's lists not written
    assert twin not in stored(site).lists
    restarted = SearchService(site.settings["search.index_dir"], site.registry["dbsession_factory"])
    restarted.start()
    restarted.start_worker()
    try:
        assert not restarted.keeper.settled
        assert wait_for(lambda: restarted.keeper.settled, timeout=5.0) < 5.0
        assert len(segment_sizes(restarted)) <= big + 1
        assert SLUG in slugs(restarted, "zqxreeks5")
    finally:
        restarted.close()
