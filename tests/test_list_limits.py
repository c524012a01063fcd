"""Theme and region pages show at most LIST_EXAMPLES cards, say how many there are, and link to all of them.

The real content has no theme with that many examples, so this test publishes more through the workflow.
"""

from __future__ import annotations

import re

from sqlalchemy import func, select
from workflow.helpers import add_user
from workflow.test_concurrency import COMPLETE

from portal.accounts.models import User
from portal.content.models import PracticeExample, Status, Theme, example_themes
from portal.views.browse import LIST_EXAMPLES
from portal.workflow import services as wf

CARD = '<article class="card">'


def publish_many(site, count: int) -> None:
    """``count`` complete examples on thuiszitters in Ede (Gelderland), published by an editor."""
    add_user(site, "redactie@example.nl", "redacteur")
    with site.session() as db:
        editor = db.scalar(select(User).where(User.email == "redactie@example.nl"))
        for n in range(count):
            state, _ = wf.create_contribution(db, editor, {**COMPLETE, "title": f"Thuiszitters in Ede {n:02d}"},
                                              f"lijst-{n:02d}-" + "x" * 16)
            wf.transition(db, state, editor, "submit", state.version)
            wf.transition(db, state, editor, "publish", state.version)


def published_on_theme(site, slug: str) -> int:
    with site.session() as db:
        return db.scalar(select(func.count()).select_from(example_themes)
                         .join(PracticeExample, PracticeExample.id == example_themes.c.example_id)
                         .join(Theme, Theme.id == example_themes.c.theme_id)
                         .where(Theme.slug == slug, PracticeExample.status == Status.PUBLISHED))


def test_a_theme_and_a_region_with_more_examples_show_the_first_and_link_to_all(site):
    app = site.testapp()
    few = app.get("/themas/thuiszitters").text
    assert few.count(CARD) == published_on_theme(site, "thuiszitters") < LIST_EXAMPLES
    assert "Deze voorbeelden verder filteren" in few and "Alle " not in few

    publish_many(site, LIST_EXAMPLES + 1)
    total = published_on_theme(site, "thuiszitters")
    assert total > LIST_EXAMPLES
    page = app.get("/themas/thuiszitters").text
    assert page.count(CARD) == LIST_EXAMPLES
    assert f"Praktijkvoorbeelden ({total})" in page
    link = re.search(r'<a href="([^"]+)">Alle (\d+) voorbeelden bij [^<]+ bekijken en verder filteren</a>', page)
    assert link is not None and int(link.group(2)) == total
    listing = app.get(link.group(1).replace("&amp;", "&"))
    assert f"{total} " in listing.text  # the filtered list counts them all

    region = app.get("/regios/gelderland").text
    assert region.count(CARD) == LIST_EXAMPLES
    shown = re.search(r"Alle (\d+) voorbeelden uit Gelderland bekijken", region)
    assert shown is not None and int(shown.group(1)) > LIST_EXAMPLES
