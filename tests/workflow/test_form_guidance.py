"""A form that guides (issue 11): required markers from the submit rule, an error summary with links to the fields,
messages and ARIA at each field, one "onbekend" choice, Markdown help, remarks at the fields. Through the real app."""

from __future__ import annotations

import re

from bs4 import BeautifulSoup

from portal.workflow import services as wf
from portal.workflow.forms import SUBMIT_REQUIRED, submit_requirements
from portal.workflow.snapshot import FIELD_LABELS, empty_snapshot
from workflow.helpers import add_user, contribution_form, fill_complete, item_id, login

MARKDOWN_FIELDS = ("background", "approach", "results", "financing_text", "lessons")


def _contributor(site, email="anna@example.nl"):
    add_user(site, email, "bijdrager", name="Anna Aanvuller")
    app = site.testapp()
    login(app, email)
    return app


def _label_text(soup, control_id: str) -> str:
    control = soup.find(id=control_id)
    if control.name == "fieldset":  # tips, contacts
        label = control.find("legend")
    elif control.get("type") in ("checkbox", "radio"):  # a choice group: the legend of its fieldset
        label = control.find_parent("fieldset").find("legend")
    else:
        label = soup.find("label", attrs={"for": control_id})
    return " ".join(label.get_text().split())


def test_required_markers_come_from_the_submit_rule():
    needed = wf.completeness_errors(empty_snapshot())
    assert set(SUBMIT_REQUIRED) == set(needed)
    assert len(SUBMIT_REQUIRED) == 13  # the rule today; the markers follow it without a second list
    assert submit_requirements() == SUBMIT_REQUIRED
    # Alternatives are found by asking the rule, not written down: a gemeente stands in for the provincie.
    assert SUBMIT_REQUIRED["provincie"] == "gemeente" and SUBMIT_REQUIRED["source_note"] == "source"
    assert SUBMIT_REQUIRED["title"] is None and SUBMIT_REQUIRED["themes"] is None


def test_required_fields_are_marked_from_the_start(site):
    app = _contributor(site)
    page = app.get("/bijdragen")
    soup = BeautifulSoup(page.text, "html.parser")
    marked = set()
    for field in FIELD_LABELS:
        control = soup.find(id=f"f-{field}") or soup.find(id=f"f-{field}-0")
        assert control is not None, field
        control_id = control["id"]
        label = _label_text(soup, control_id)
        assert label.startswith(FIELD_LABELS[field]), (field, label)
        if "(verplicht" in label:
            marked.add(field)
        always = SUBMIT_REQUIRED.get(field, "absent") is None
        is_group = control.get("type") in ("checkbox", "radio")
        if always and not is_group:
            assert "(verplicht)" in label, field
            assert control.has_attr("required") and control["aria-required"] == "true", field
        else:
            assert not control.has_attr("required") and not control.has_attr("aria-required"), field
    assert marked == set(SUBMIT_REQUIRED)
    assert "(verplicht als gemeente leeg is)" in _label_text(soup, "f-provincie")
    assert "(verplicht als bron leeg is)" in _label_text(soup, "f-source_note")
    assert "(verplicht)" in _label_text(soup, "f-themes-0")
    # The form is novalidate: a draft may still be incomplete, and the browser does not block saving.
    assert soup.find("form", id="bijdrage").has_attr("novalidate")
    form = contribution_form(page)
    form["title"] = "Alleen een titel"
    assert form.submit("opslaan", status=303)
    # No autofocus anywhere on a fresh form (focus is only moved to an error summary).
    assert not soup.find(attrs={"autofocus": True})


def test_one_unknown_status_choice_and_markdown_help(site):
    app = _contributor(site)
    page = app.get("/bijdragen")
    soup = BeautifulSoup(page.text, "html.parser")
    options = [(o.get("value"), o.get_text(strip=True)) for o in soup.find(id="f-project_status").find_all("option")]
    assert [text for _value, text in options if "onbekend" in text.lower()] == ["Onbekend"]
    assert options[0] == ("", "Onbekend")
    assert {v for v, _t in options} == {"", "lopend", "afgerond", "pilot"}
    for field in MARKDOWN_FIELDS:
        item = soup.find(id=f"item-f-{field}")
        help_box = item.find("details", class_="markdown-help")
        assert help_box is not None, field
        text = help_box.get_text(" ")
        for piece in ("**vet**", "- ", "[tekst van de link]", "###", "lege regel"):
            assert piece in text, (field, piece)
    assert soup.find(id="item-f-title").find("details") is None
    # A posted "onbekend" (the stored value of older items) is accepted and stored as unknown.
    form = contribution_form(page)
    form["title"] = "Status onbekend"
    form["project_status"].force_value("onbekend")
    saved = form.submit("opslaan", status=303).follow()
    assert contribution_form(saved)["project_status"].value == ""


def test_refused_submit_shows_error_summary_with_links_and_messages_at_fields(site):
    app = _contributor(site)
    form = contribution_form(app.get("/bijdragen"))
    form["title"] = "Half af"
    form["summary"] = "Een samenvatting met <b>tekens</b> & meer."
    form["lessons"] = "Wat we leerden.\n\nTweede alinea."
    refused = form.submit("indienen", status=400)
    soup = BeautifulSoup(refused.text, "html.parser")

    summary = soup.find(id="foutoverzicht")
    assert summary is not None and summary["tabindex"] == "-1" and summary.has_attr("autofocus")
    assert summary.find("h2").get_text(strip=True) == "Het voorbeeld is nog niet compleet"
    assert "opgeslagen als concept" in summary.get_text()
    assert refused.text.count("nog niet compleet") == 1
    assert soup.find("script", src=re.compile(r"focus-summary\.js"))
    # The summary comes before the form, and is the only element asking for focus.
    assert [tag.get("id") for tag in soup.find_all(attrs={"autofocus": True})] == ["foutoverzicht"]

    links = summary.find_all("a")
    missing = set(SUBMIT_REQUIRED) - {"title", "summary", "lessons"}
    linked = {}
    for link in links:
        target_id = link["href"].removeprefix("#")
        target = soup.find(id=target_id)
        assert target is not None, link["href"]  # a working anchor
        field = re.sub(r"^f-|-0$", "", target_id)
        linked[field] = link.get_text(" ", strip=True)
    assert set(linked) == missing
    for field in missing:
        assert FIELD_LABELS[field].lower() in linked[field].lower() or field in ("provincie", "source_note"), field
        # The same message at the field, tied to the control.
        item = soup.find(id=f"item-f-{field}")
        error = item.find(class_="field-error")
        assert error is not None and error["id"] == f"error-f-{field}", field
        assert " ".join(error.get_text().split()).removeprefix("Fout: ") in linked[field]
        control = soup.find(id=f"f-{field}") or soup.find(id=f"f-{field}-0")
        if control.get("type") == "checkbox":
            assert f"error-f-{field}" in item.find("fieldset")["aria-describedby"]
        else:
            assert control["aria-invalid"] == "true"
            assert f"error-f-{field}" in control["aria-describedby"].split()
        assert soup.get_text().count(error.get_text(strip=True).removeprefix("Fout:").strip()) == 2, field
    # Filled fields carry no error and keep what was typed.
    assert soup.find(id="f-title").get("aria-invalid") is None
    form = contribution_form(refused)
    assert form["title"].value == "Half af"
    assert form["summary"].value == "Een samenvatting met <b>tekens</b> & meer."
    assert form["lessons"].value == "Wat we leerden.\n\nTweede alinea."
    assert "<b>tekens</b>" not in refused.text  # escaped everywhere


def test_invalid_save_lists_each_field_and_keeps_the_text(site):
    app = _contributor(site)
    form = contribution_form(app.get("/bijdragen"))
    form["title"] = ""
    form["summary"] = "Wat ik al typte."
    form["start_year"] = "1800"
    form.set("email", "geen-adres", index=0)
    refused = form.submit("opslaan", status=400)
    soup = BeautifulSoup(refused.text, "html.parser")
    summary = soup.find(id="foutoverzicht")
    assert summary.find("h2").get_text(strip=True) == "Er is iets niet goed ingevuld"
    texts = [a.get_text(" ", strip=True) for a in summary.find_all("a")]
    assert texts[0] == "Titel: Dit veld is verplicht."
    assert any(t.startswith("Startjaar:") and "1900" in t for t in texts)
    assert any(t.startswith("Contactpersoon 1") and "geen geldig e-mailadres" in t for t in texts), texts
    for link in summary.find_all("a"):
        assert soup.find(id=link["href"][1:]) is not None, link["href"]
    assert refused.text.count("Dit veld is verplicht.") == 2  # once in the summary, once at the field
    assert "Niet opgeslagen: verbeter" not in refused.text  # no second, vaguer message
    assert contribution_form(refused)["summary"].value == "Wat ik al typte."
    # Fixing it saves; the next page has no summary.
    form = contribution_form(refused)
    form["title"] = "Nu wel"
    form["start_year"] = "2020"
    form.set("email", "", index=0)
    page = form.submit("opslaan", status=303).follow()
    assert 'id="foutoverzicht"' not in page.text


def test_contributor_sees_each_remark_at_its_field(site):
    app = _contributor(site)
    add_user(site, "rik@example.nl", "redacteur", name="Rik Redactie")
    form = contribution_form(app.get("/bijdragen"))
    fill_complete(form, title="Opmerkingen bij velden")
    submitted = form.submit("indienen", status=303)
    assert submitted.location.endswith("/mijn-bijdragen")
    with site.session() as db:
        from sqlalchemy import select

        from portal.workflow.models import ExampleWorkflow
        example_id = db.scalar(select(ExampleWorkflow.example_id))
    editor = site.testapp()
    login(editor, "rik@example.nl")
    review = editor.get(f"/redactie/voorbeelden/{example_id}")
    decide = review.forms["besluit"]
    decide["remark_results"] = "Noem een cijfer <graag>."
    decide["remark_themes"] = "Kies ook een tweede thema."
    decide["remark_tips"] = "Eén tip is genoeg."
    decide.submit("action", value="return", status=303)

    page = app.get(f"/bijdragen/{example_id}")
    soup = BeautifulSoup(page.text, "html.parser")
    for field, text in (("results", "Noem een cijfer <graag>."), ("themes", "Kies ook een tweede thema."),
                        ("tips", "Eén tip is genoeg.")):
        box = soup.find(id=f"remark-f-{field}")
        assert box is not None and text in box.get_text(), field
        # The list at the top links to the remark at the field.
        link = soup.find("section", class_="remarks").find("a", href=f"#remark-f-{field}")
        assert link is not None and link.get_text(strip=True) == FIELD_LABELS[field]
    assert "remark-f-results" in soup.find(id="f-results")["aria-describedby"].split()
    assert "remark-f-themes" in soup.find(id="item-f-themes").find("fieldset")["aria-describedby"].split()
    assert "<graag>" not in page.text
    assert soup.find(id="remark-f-title") is None  # only fields with a remark
    assert item_id(page) == example_id
