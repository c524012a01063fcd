"""The contribution form guides in a real browser (issue 11): a refused submit moves focus to the error summary,
whose links lead to the fields; a remark the editors left shows at its field."""

from __future__ import annotations

import pytest
from workflow.helpers import PASSWORD, add_user

from browser.helpers import label, log_in

pytestmark = pytest.mark.browser


def test_refused_submit_focuses_the_summary_and_its_links_reach_the_fields(live_server, page):
    add_user(live_server.site, "gids@example.nl", "bijdrager", name="Gerda Gids")
    log_in(page, "gids@example.nl", PASSWORD)
    page.goto("/bijdragen")
    form = page.locator("main form").filter(has=page.get_by_role("button", name="Opslaan als concept", exact=True))
    form.get_by_role("textbox", name=label("Titel")).fill("Alleen een titel")
    with page.expect_navigation():
        form.get_by_role("button", name="Opslaan en indienen bij de redactie", exact=True).click()

    summary = page.locator(".error-summary, [role=alert]").first
    assert summary.is_visible()
    # Focus is in the summary (moved there on load), so a screen reader starts with the problems.
    assert page.evaluate("() => !!document.activeElement.closest('.error-summary, [role=alert]')")
    links = summary.locator("a[href^='#']")
    assert links.count() >= 5  # each missing field named, with a link
    first = links.first
    target = first.get_attribute("href")[1:]
    first.click()
    assert page.evaluate("() => location.hash") == f"#{target}"
    # The field the link names is there, visible, and says what is wrong next to it.
    field = page.locator(f"[id='{target}']")
    assert field.is_visible()
    described = field.get_attribute("aria-describedby") or ""
    assert any(page.locator(f"[id='{d}']").inner_text().strip() for d in described.split() if d)
