"""Index lifecycle: outbox in the same transaction, freshness after commit, rebuild and swap, recovery."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from conftest import wait_for
from sqlalchemy import func, select

from portal.content.models import PracticeExample, SearchOutbox, Status
from portal.search import SearchService
from portal.search.index import CURRENT
from portal.search.scripts import main as reindex_main

SLUG = "koesterklas-nunspeet"


def service_of(site) -> SearchService:
    return site.registry["search_service"]


def slugs(service: SearchService, q: str) -> list[str]:
    """Slugs found for ``q`` as typed (results for a spelling correction do not count)."""
    outcome = service.search(q, facets=False)
    return [] if outcome.corrected else [h["slug"] for h in outcome.hits]


def edit_title(site, title: str, slug: str = SLUG) -> float:
    with site.session() as session:
        example = session.scalars(select(PracticeExample).where(PracticeExample.slug == slug)).one()
        example.title = title
    return time.perf_counter()  # the commit happened when the block ended


def outbox_count(site, slug: str) -> int:
    with site.session() as session:
        return session.scalar(select(func.count()).select_from(SearchOutbox).where(SearchOutbox.slug == slug))


def test_change_writes_outbox_row_in_same_transaction(site):
    with site.session() as session:
        example = session.scalars(select(PracticeExample).where(PracticeExample.slug == SLUG)).one()
        example.summary = example.summary + " Aangevuld."
        session.flush()
        pending = session.scalars(select(SearchOutbox).where(SearchOutbox.slug == SLUG)).all()
        assert [(row.doc_type, row.slug) for row in pending][-1:] == [("voorbeeld", SLUG)]


def test_rolled_back_change_leaves_no_trace(site):
    before = outbox_count(site, SLUG)
    with pytest.raises(RuntimeError), site.session() as session:
        example = session.scalars(select(PracticeExample).where(PracticeExample.slug == SLUG)).one()
        example.title = "Teruggedraaide titel zqxrolbak"
        session.flush()
        raise RuntimeError("abort")
    assert outbox_count(site, SLUG) == before
    time.sleep(0.6)
    assert slugs(service_of(site), "zqxrolbak") == []


def test_published_change_is_findable_within_a_second(site):
    service = service_of(site)
    assert slugs(service, "zqxvlinder") == []
    committed = edit_title(site, "Koesterklas zqxvlinder")
    wait_for(lambda: SLUG in slugs(service, "zqxvlinder"), timeout=1.0)
    assert time.perf_counter() - committed < 1.0
    assert slugs(service, "zqxvlinder") == [SLUG]


def test_unpublished_item_disappears_at_once(site):
    service = service_of(site)
    testapp = site.testapp()
    assert SLUG in slugs(service, "koesterklas")
    with site.session() as session:
        example = session.scalars(select(PracticeExample).where(PracticeExample.slug == SLUG)).one()
        example.status = Status.WITHDRAWN
    # No waiting: hidden as soon as the transaction committed, before the writer removed it.
    assert SLUG not in slugs(service, "koesterklas")
    data = testapp.get("/api/zoeken", params={"q": "koesterklas"}).json
    assert SLUG not in {r["slug"] for r in data["results"]}
    wait_for(lambda: service.drain() == 0 and not service.keeper.hidden, timeout=2.0)
    assert SLUG not in slugs(service, "koesterklas")


def test_republished_item_comes_back(site):
    service = service_of(site)
    for status in (Status.WITHDRAWN, Status.PUBLISHED):
        with site.session() as session:
            example = session.scalars(select(PracticeExample).where(PracticeExample.slug == SLUG)).one()
            example.status = status
    wait_for(lambda: SLUG in slugs(service, "koesterklas"), timeout=1.0)


def write_ini(site, path: Path) -> Path:
    path.write_text(
        "[app:main]\nuse = egg:portal\n"
        f"sqlalchemy.url = {site.settings['sqlalchemy.url']}\n"
        f"search.index_dir = {site.settings['search.index_dir']}\n",
        encoding="utf-8",
    )
    return path


def test_reindex_swaps_while_searches_continue(site, tmp_path, capsys):
    service = service_of(site)
    root = Path(site.settings["search.index_dir"])
    before = (root / CURRENT).read_text().strip()
    failures: list[str] = []
    stop = threading.Event()

    def keep_searching():
        while not stop.is_set():
            try:
                if SLUG not in slugs(service, "koesterklas"):
                    failures.append("koesterklas not found during rebuild")
            except Exception as exc:  # any error during the swap is a failure
                failures.append(repr(exc))

    searcher = threading.Thread(target=keep_searching)
    searcher.start()
    try:
        assert reindex_main([str(write_ini(site, tmp_path / "test.ini"))]) == 0
        time.sleep(0.7)  # the running app notices the new generation within a second
    finally:
        stop.set()
        searcher.join()
    after = (root / CURRENT).read_text().strip()
    assert after != before
    assert not (root / before).exists()  # the old generation is cleaned up
    assert failures == []
    assert "Zoekindex" in capsys.readouterr().out
    assert service.generation.name == after or service.search("koesterklas").total  # switched or switching
    wait_for(lambda: service.generation.name == after, timeout=1.5)


def test_changes_during_rebuild_are_replayed(site, tmp_path):
    """An edit committed after the rebuild read the database still reaches the new generation."""
    service = service_of(site)
    service.stop_worker()  # let the edit wait in the outbox, as if it were made during the rebuild
    edit_title(site, "Koesterklas zqxrebuild")
    assert reindex_main([str(write_ini(site, tmp_path / "test.ini"))]) == 0
    service.drain()
    assert SLUG in slugs(service, "zqxrebuild")


def test_missing_or_corrupt_index_is_rebuilt_at_start(site):
    root = Path(site.settings["search.index_dir"])
    factory = site.registry["dbsession_factory"]
    current = root / (root / CURRENT).read_text().strip()
    for toc in current.glob("*.toc"):
        toc.write_bytes(b"not an index")
    repaired = SearchService(str(root), factory)
    repaired.start()
    try:
        assert SLUG in slugs(repaired, "koesterklas")
    finally:
        repaired.close()

    empty_dir = root.parent / "fresh-index"
    fresh = SearchService(str(empty_dir), factory)
    fresh.start()
    try:
        assert (empty_dir / CURRENT).exists()
        assert SLUG in slugs(fresh, "koesterklas")
    finally:
        fresh.close()


def test_concurrent_searches_during_writes(site):
    service = service_of(site)
    errors: list[str] = []

    def worker(queries):
        for _ in range(15):
            for q in queries:
                try:
                    service.search(q)
                    service.suggest(q[:3])
                    service.related(SLUG)
                except Exception as exc:
                    errors.append(repr(exc))

    threads = [threading.Thread(target=worker, args=(qs,)) for qs in
               (["thuiszitters", "OZA"], ["koesterklas", "Den Bosch"], ["jeugdhulp", '"passend onderwijs"'])]
    for t in threads:
        t.start()
    for n in range(5):
        edit_title(site, f"Koesterklas versie{n}")
    for t in threads:
        t.join()
    assert errors == []
    wait_for(lambda: SLUG in slugs(service, "versie4"), timeout=1.0)
