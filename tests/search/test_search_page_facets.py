"""The facet checkboxes of /zoeken: written without autoescaping from values the view escaped (see search.jinja2)."""

from __future__ import annotations

import re

from markupsafe import escape
from sqlalchemy import select

from portal.content.models import Theme

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
