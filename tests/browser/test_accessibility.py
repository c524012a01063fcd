"""axe-core (WCAG 2.0/2.1 A and AA) on every page type, at 1280 and at 390 px, in a real Chromium; plus the keyboard
checks axe cannot do (skip link first and working, a focus ring on every control, a title and an <h1>).

The concrete pages (first example, a theme, ...) are read from the running portal's own lists and sitemap, so the
test follows the content. A failure lists every violation: rule id, impact, target selectors, page and width.
"""

from __future__ import annotations

import pytest
from workflow.helpers import PASSWORD, add_user

from browser.helpers import axe_violations, describe_violations, keyboard_problems, label, log_in

pytestmark = pytest.mark.browser

WIDTHS = (1280, 390)


def first_link(page, path: str, prefix: str, exclude: str | None = None) -> str:
    page.goto(path)
    selector = f'main a[href^="{prefix}"]' + (f':not([href="{exclude}"])' if exclude else "")
    href = page.locator(selector).first.get_attribute("href")
    assert href and href != prefix, f"no link starting with {prefix} on {path}"
    return href


def report(failures: list[str]) -> None:
    if failures:
        pytest.fail("\n".join(failures), pytrace=False)


def check(page, axe_source: str, name: str) -> list[str]:
    """axe at both widths on the page that is open now, and the keyboard checks at the first width; a description
    of each failing width."""
    failures = []
    url = page.url
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        violations = axe_violations(page, axe_source)
        if violations:
            failures.append(describe_violations(f"{name} ({url}) at {width} px", violations))
        if width == WIDTHS[0]:
            problems = keyboard_problems(page)
            if problems:
                failures.append(f"{name} ({url}) at {width} px: keyboard\n" + "\n".join(f"  {p}" for p in problems))
    return failures


def visit(page, axe_source: str, path: str, name: str | None = None, status: int = 200) -> list[str]:
    response = page.goto(path)
    assert response is not None and response.status == status, f"{path}: HTTP {response and response.status}"
    return check(page, axe_source, name or path)


PUBLIC_PAGES = [
    ("/", "home"),
    ("/voorbeelden", None),
    ("/themas", None),
    ("/regios", None),
    ("/kennis", None),
    ("/bronnen", None),
    ("/zoeken?q=thuiszitters", "/zoeken with results"),
    ("/zoeken?q=qqxyzqq", "/zoeken without results"),
    ("/over", None),
    ("/privacy", None),
    ("/colofon", None),
    ("/toegankelijkheid", None),
    ("/inloggen", "login"),
    ("/account/aanvragen", "account request"),
    ("/voorbeeld-aanmelden", "tip form"),
]


@pytest.mark.parametrize(("path", "name"), PUBLIC_PAGES, ids=[p for p, _ in PUBLIC_PAGES])
def test_public_page(page, axe_source, path, name):
    failures = visit(page, axe_source, path, name)
    report(failures)


def test_search_results_are_there(page):
    """The two /zoeken states above are what they claim to be."""
    page.goto("/zoeken?q=thuiszitters")
    assert page.locator("main a[href^='/voorbeelden/']").count() > 0
    page.goto("/zoeken?q=qqxyzqq")
    assert page.locator("main a[href^='/voorbeelden/']").count() == 0


def test_detail_pages(page, axe_source):
    """One page of each detail type: example, filtered list, theme, province and another region, article, source."""
    pages = []
    page.goto("/voorbeelden")
    facet = page.locator("main input[type=checkbox]").first
    pages.append((f"/voorbeelden?{facet.get_attribute('name')}={facet.get_attribute('value')}",
                  "/voorbeelden filtered"))
    pages.append((first_link(page, "/voorbeelden", "/voorbeelden/"), "example"))
    pages.append((first_link(page, "/themas", "/themas/"), "theme"))
    province = first_link(page, "/regios", "/regios/")
    pages.append((province, "region (province)"))
    pages.append((first_link(page, province, "/regios/", exclude=province), "region (below the province)"))
    pages.append((first_link(page, "/kennis", "/kennis/"), "article"))
    pages.append((first_link(page, "/bronnen", "/bronnen/"), "source"))
    failures = []
    for path, name in pages:
        failures += visit(page, axe_source, path, name)
    report(failures)


def test_not_found_page(page, axe_source):
    failures = visit(page, axe_source, "/voorbeelden/bestaat-niet", "404 page", status=404)
    report(failures)


def test_contact_form(page, axe_source):
    """An example's contact form (issue 10), empty and after sending it without filling it in (errors shown)."""
    example = first_link(page, "/voorbeelden", "/voorbeelden/")
    failures = visit(page, axe_source, example + "/contact", "contact form")
    with page.expect_navigation():
        page.locator("main form").get_by_role("button", name="Bericht versturen").click()
    assert page.locator("main .form-errors, main [role=alert]").count() > 0, "an empty message shows no errors"
    failures += check(page, axe_source, "contact form (errors)")
    report(failures)


def contribution_form(page):
    """The contribution form, found as a person finds it: the form with the 'Opslaan als concept' button."""
    return page.locator("main form").filter(has=page.get_by_role("button", name="Opslaan als concept"))


def test_contribution_form(page, axe_source, live_server):
    """The contribution form empty, after a failed submission (errors shown) and as a preview."""
    add_user(live_server.site, "a11y-bijdrager@example.nl", "bijdrager", name="Anna Toegankelijk")
    log_in(page, "a11y-bijdrager@example.nl", PASSWORD)
    failures = visit(page, axe_source, "/bijdragen", "contribution form (new)")
    form = contribution_form(page)
    form.get_by_role("textbox", name=label("Titel")).fill("Toegankelijkheidstest")
    with page.expect_navigation():
        form.get_by_role("button", name="Opslaan en indienen bij de redactie").click()
    assert page.locator("main [role=alert], main .field-error, main .error-msg").count() > 0, \
        "submitting an incomplete contribution shows no errors"
    failures += check(page, axe_source, "contribution form (failed submission)")
    with page.expect_navigation():
        contribution_form(page).get_by_role("button", name="Voorbeeld bekijken").click()
    failures += check(page, axe_source, "contribution preview")
    report(failures)
