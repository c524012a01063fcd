"""The contribution story clicked through once in Chromium, as people do it: a contributor writes a draft,
previews and submits it; an editor returns it with a remark; the contributor resubmits; the editor publishes; a
visitor finds it with the search box.

Fields are found by their visible labels (and buttons and links by their text), not by ids: the test reads the
pages the way a person (or a screen reader) does.
"""

from __future__ import annotations

import re
import time

import pytest
from workflow.helpers import PASSWORD, add_user

from browser.helpers import label, log_in

pytestmark = pytest.mark.browser

TITLE = "Schoolmaatschappelijk werk in Dalfsen"
FIELDS = {
    "Titel": TITLE,
    "Samenvatting": "Een schoolmaatschappelijk werker van de gemeente zit elke week op de basisschool in Dalfsen.",
    "Plaats": "Dalfsen",
    "Doelgroep": "Leerlingen van de basisschool en hun ouders",
    "Aanleiding": "Ouders wisten de weg naar hulp niet te vinden.",
    "Aanpak": "De werker heeft een **vast spreekuur** op school.\n\n- korte lijnen\n- snelle hulp",
    "Resultaten": "Ouders vragen eerder om hulp.",
    "Financiering in het kort": "De gemeente betaalt de werker.",
    "Financiering": "Uit de middelen voor jeugdhulp van de gemeente.",
    "Geleerde lessen": "Zorg dat leerkrachten de werker kennen.",
    "Bron of website": "https://example.nl/smw-dalfsen",
}


def field(scope, text: str):
    """The text field (input or textarea) with this visible label."""
    return scope.get_by_role("textbox", name=label(text))


def remark_field(form, field_label: str):
    """The editor's remark box for a field; when it is folded away ('Opmerking bij ...'), unfold it first."""
    summary = form.locator("summary", has_text=re.compile(r"^\s*Opmerking bij " + re.escape(field_label) + r"\s*$"))
    if summary.count() and not summary.first.evaluate("s => s.parentElement.open"):
        summary.first.click()
    name = re.compile(r"^\s*(Opmerking bij )?" + re.escape(field_label) + r"(\s*[(*].*)?\s*$", re.DOTALL)
    return form.get_by_role("textbox", name=name)


def click_and_wait(page, locator) -> None:
    with page.expect_navigation():
        locator.click()


def button(scope, text: str):
    return scope.get_by_role("button", name=text, exact=True)


def test_contribution_story(live_server, page, new_page):
    add_user(live_server.site, "bijdrager@example.nl", "bijdrager", name="Bram Bijdrager")
    add_user(live_server.site, "redacteur@example.nl", "redacteur", name="Roos Redacteur")
    contributor = page
    editor = new_page()
    # 1. The contributor starts a new example from "Mijn bijdragen", fills it in and saves a draft.
    log_in(contributor, "bijdrager@example.nl", PASSWORD)
    contributor.goto("/mijn-bijdragen")
    click_and_wait(contributor, contributor.get_by_role("link", name="Nieuw praktijkvoorbeeld bijdragen"))
    form = contributor.locator("main form").filter(has=button(contributor, "Opslaan als concept"))
    for name, value in FIELDS.items():
        field(form, name).fill(value)
    form.get_by_role("combobox", name=label("Provincie")).select_option(label="Overijssel")
    form.get_by_role("group", name=label("Thema's")).get_by_label("Thuiszitters").check()
    click_and_wait(contributor, button(form, "Opslaan als concept"))
    main = contributor.locator("main")
    assert "Opgeslagen" in main.inner_text() and "Concept" in main.inner_text()

    # 2. Preview: the page as it will be published (Markdown rendered), then submit from there.
    click_and_wait(contributor, button(contributor.locator("main"), "Voorbeeld bekijken"))
    assert contributor.locator("main strong", has_text="vast spreekuur").count() == 1
    click_and_wait(contributor, button(contributor.locator("main"), "Opslaan en indienen bij de redactie"))
    assert contributor.url.endswith("/mijn-bijdragen")
    row = contributor.locator("main tr", has_text=TITLE)
    assert "Ingediend" in row.inner_text()

    # 3. The editor finds it in the queue and returns it with a remark on the results.
    log_in(editor, "redacteur@example.nl", PASSWORD)
    editor.goto("/redactie")
    click_and_wait(editor, editor.locator("main").get_by_role("link", name=TITLE))
    decide = editor.locator("main form").filter(has=button(editor, "Terugsturen"))
    remark_field(decide, "Resultaten").fill("Noem een cijfer: hoeveel ouders vroegen eerder om hulp?")
    click_and_wait(editor, button(decide, "Terugsturen"))

    # 4. The contributor sees the remark, fixes the results and submits again.
    contributor.goto("/mijn-bijdragen")
    row = contributor.locator("main tr", has_text=TITLE)
    assert "Teruggestuurd" in row.inner_text() and "hoeveel ouders" in row.inner_text()
    click_and_wait(contributor, row.get_by_role("link", name=TITLE))
    assert "hoeveel ouders" in contributor.locator("main").inner_text()
    form = contributor.locator("main form").filter(has=button(contributor, "Opslaan als concept"))
    field(form, "Resultaten").fill("Twaalf ouders vroegen in het eerste jaar eerder om hulp.")
    click_and_wait(contributor, button(form, "Opslaan en indienen bij de redactie"))
    assert "Ingediend" in contributor.locator("main tr", has_text=TITLE).inner_text()

    # 5. The editor sees the change and publishes.
    editor.goto("/redactie")
    click_and_wait(editor, editor.locator("main").get_by_role("link", name=TITLE))
    assert "Twaalf ouders" in editor.locator("main").inner_text()
    click_and_wait(editor, button(editor.locator("main"), "Publiceren"))

    # 6. A visitor finds it with the search box and opens it.
    visitor = new_page()
    deadline = time.monotonic() + 10  # the index follows the commit through the search outbox
    while True:
        visitor.goto("/zoeken")
        search = visitor.get_by_role("main").get_by_role("search")
        box = search.get_by_role("searchbox", name=label("Zoekwoorden")).or_(field(search, "Zoekwoorden"))
        box.fill("schoolmaatschappelijk werk Dalfsen")
        click_and_wait(visitor, button(search, "Zoeken"))
        result = visitor.locator("main").get_by_role("link", name=re.compile(re.escape(TITLE)))
        if result.count() or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert result.count() >= 1, f"search did not find the published example: {visitor.url}"
    click_and_wait(visitor, result.first)
    text = visitor.locator("main").inner_text()
    assert TITLE in text and "Twaalf ouders vroegen" in text and "hoeveel ouders" not in text
