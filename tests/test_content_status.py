"""Issue 10, content corrections: every practice example states where it stands, a pilot says since when (or in
which year its source described it), and no two examples share the same borrowed sentences or quotes."""

from __future__ import annotations

import re
from itertools import combinations

import pytest
from bs4 import BeautifulSoup
from conftest import CONTENT_DIR
from sqlalchemy import select

from portal.content.files import PROJECT_STATUSES, read_content
from portal.content.models import PracticeExample, Status

WORD = re.compile(r"[0-9a-zà-öø-ÿ]+")
SHARED_RUN = 8  # words in a row that two examples may not have in common


@pytest.fixture(scope="module")
def examples():
    _vocabulary, items = read_content(CONTENT_DIR)
    return [item for item in items if item.kind == "voorbeeld"]


def test_every_example_states_its_status(examples):
    missing = [item.slug for item in examples if item.meta.get("status") not in PROJECT_STATUSES]
    assert missing == []


def test_no_two_examples_share_a_run_of_words(examples):
    """Filler and quotes copied from one example into another show up as long shared word runs."""

    def runs(item) -> set[tuple[str, ...]]:
        words = WORD.findall((item.body + " " + " ".join(item.meta.get("tips") or [])).lower())
        return {tuple(words[i:i + SHARED_RUN]) for i in range(len(words) - SHARED_RUN + 1)}

    grams = {item.slug: runs(item) for item in examples}
    shared = {(a, b): " ".join(next(iter(grams[a] & grams[b])))
              for a, b in combinations(sorted(grams), 2) if grams[a] & grams[b]}
    assert shared == {}


def status_text(testapp, slug: str) -> str:
    soup = BeautifulSoup(testapp.get(f"/voorbeelden/{slug}").text, "html.parser")
    term = next(dt for dt in soup.select(".facts dt") if dt.get_text(strip=True) == "Status")
    return term.find_next_sibling("dd").get_text(" ", strip=True)


def set_status(site, slug: str, status: str, start_year: int | None) -> None:
    with site.session() as s:
        example = s.scalar(select(PracticeExample).where(PracticeExample.slug == slug))
        example.project_status, example.start_year = status, start_year


def published_example_with_dated_source(site) -> tuple[str, int]:
    with site.session() as s:
        for example in s.scalars(select(PracticeExample).where(PracticeExample.status == Status.PUBLISHED)
                                 .order_by(PracticeExample.slug)):
            if example.source is not None and example.source.year:
                return example.slug, example.source.year
    raise AssertionError("no published example with a dated source in content/")


def test_a_pilot_shows_its_year(site):
    slug, source_year = published_example_with_dated_source(site)
    app = site.testapp()

    set_status(site, slug, "pilot", 2017)
    assert status_text(app, slug) == "Pilot (sinds 2017)"

    set_status(site, slug, "pilot", None)
    assert status_text(app, slug) == f"Pilot (in {source_year})"

    set_status(site, slug, "lopend", 2017)
    assert status_text(app, slug) == "Lopend"


def test_the_real_hit_team_pilot_shows_its_start_year(testapp):
    assert status_text(testapp, "hit-team-heliomare") == "Pilot (sinds 2018)"
