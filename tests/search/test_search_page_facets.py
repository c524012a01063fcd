"""The facet checkboxes of /zoeken: written without autoescaping from values the view escaped (see search.jinja2)."""

from __future__ import annotations

import re

from markupsafe import escape
from sqlalchemy import select

from portal.content.models import Theme
from portal.search.analysis import fold

NASTY_NAME = "Zorg & <b>\"school\"</b> 'samen'"


def test_facet_labels_are_escaped(site):
    with site.session() as session:
        theme = session.execute(select(Theme).order_by(Theme.slug)).scalars().first()
        slug = theme.slug
        theme.name = NASTY_NAME
    page = site.testapp().get("/zoeken", params={"thema": slug}, status=200).text
    label = re.search(rf'<label for="f-thema-{re.escape(slug)}">(.*?) <span class="count">', page)
    assert label is not None, page[-3000:]
    assert label.group(1) == str(escape(NASTY_NAME))
    assert "<b>" not in page
    # The chosen filter is listed with the same label, escaped by the template as usual.
    assert f"Thema: {escape(NASTY_NAME)}" in page


def test_every_checkbox_has_its_label_and_every_facet_a_legend(testapp):
    page = testapp.get("/zoeken", params={"q": "jeugdhulp"}, status=200).text
    boxes = re.findall(r'<input type="checkbox" id="([^"]+)" name="([a-z]+)" value="([^"]+)"', page)
    assert len(boxes) > 20
    for box_id, name, value in boxes:
        assert box_id == f"f-{name}-{value}"
        assert page.count(f'<label for="{box_id}">') == 1
    assert page.count("<fieldset class=\"facet\">") == page.count('<legend class="visually-hidden">') >= 3


def _facets(app, **params) -> dict[str, list[dict]]:
    return app.get("/api/zoeken", params=params, status=200).json["facets"]


def _in_order(entries: list[dict]) -> bool:
    """Most results first; among equal counts by label, ignoring case and accents (Fryslân between Flevoland and
    Gelderland)."""
    keys = [(-e["count"], fold(e["label"])) for e in entries]
    return keys == sorted(keys)


def test_facet_options_are_ordered_by_count_then_label_and_follow_a_renamed_theme(site):
    app = site.testapp()
    facets = _facets(app, q="school")
    assert all(_in_order(entries) for entries in facets.values())
    themes = facets["thema"]
    tied = next(count for count in {e["count"] for e in themes} if sum(e["count"] == count for e in themes) >= 2)
    last = [e for e in themes if e["count"] == tied][-1]
    with site.session() as session:  # the last of a tie is renamed to come first among its equals
        session.execute(select(Theme).where(Theme.slug == last["value"])).scalar_one().name = "Ábc eerst"
    # At once: the labels belong to the content generation the rename advanced (not to the index, which follows
    # the commit a moment later).
    again = _facets(app, q="school")["thema"]
    assert _in_order(again)
    equals = [e for e in again if e["count"] == tied]
    assert equals[0]["value"] == last["value"] and equals[0]["label"] == "Ábc eerst"
