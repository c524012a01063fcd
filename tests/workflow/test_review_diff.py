"""Review that saves time (issue 11): the per-word diff (unit tests of portal.workflow.diff), the first review shows
the whole item, later reviews compare with what was last reviewed or published, one remark box per field."""

from __future__ import annotations

import re

from bs4 import BeautifulSoup
from sqlalchemy import select

from portal.content.models import Status
from portal.workflow.diff import LEGEND, field_diff, list_diff, text_diff, word_diff
from portal.workflow.models import ExampleWorkflow, Transition
from portal.workflow.snapshot import FIELD_LABELS
from workflow.helpers import add_user, contribution_form, fill_complete, login

INS = re.compile(r'<ins class="wd-ins"><span class="visually-hidden">toegevoegd: </span>(.*?)</ins>', re.S)
DEL = re.compile(r'<del class="wd-del"><span class="visually-hidden">verwijderd: </span>(.*?)</del>', re.S)


def side(html: str, which: str) -> str:
    """The old ("del") or new ("ins") text back from a diff: keep one kind of marker's text, drop the other."""
    keep, drop = (DEL, INS) if which == "del" else (INS, DEL)
    text = drop.sub("", str(html))
    text = keep.sub(lambda m: m.group(1), text)
    return re.sub(r"<[^>]+>", "", text).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&") \
        .replace("&#39;", "'").replace("&#34;", '"')


def words(found: list[str]) -> list[str]:
    """Marked runs without the whitespace that only one side has (it stays inside the marker)."""
    return [text.strip() for text in found]


# --- unit tests of the diff ---------------------------------------------------------------------------------------

def test_a_changed_word_is_one_deletion_and_one_insertion():
    html = str(word_diff("De school werkt samen met het wijkteam.", "De school werkt samen met de wijkcoach."))
    assert html.startswith("De school werkt samen met ")
    assert words(DEL.findall(html)) == ["het wijkteam"] and words(INS.findall(html)) == ["de wijkcoach"]
    assert "+ +" not in html and "- -" not in html and "+" not in html.replace("toegevoegd", "")
    assert side(html, "del") == "De school werkt samen met het wijkteam."
    assert side(html, "ins") == "De school werkt samen met de wijkcoach."


def test_insertion_keeps_the_surrounding_words_plain():
    html = str(word_diff("Minder verzuim.", "Minder verzuim dan vorig jaar."))
    assert words(DEL.findall(html)) == [] and words(INS.findall(html)) == ["dan vorig jaar"]
    assert html.startswith("Minder verzuim<ins") and side(html, "del") == "Minder verzuim."


def test_empty_old_or_new():
    assert str(word_diff("", "")) == ""
    added = str(word_diff("", "Nieuwe tekst"))
    assert words(INS.findall(added)) == ["Nieuwe tekst"] and not DEL.findall(added)
    removed = str(word_diff("Oude tekst", ""))
    assert words(DEL.findall(removed)) == ["Oude tekst"] and not INS.findall(removed)
    whole = str(text_diff("", "Eerste alinea.\n\nTweede alinea."))
    assert words(INS.findall(whole)) == ["Eerste alinea.", "Tweede alinea."]
    gone = str(text_diff("Alles weg.", ""))
    assert words(DEL.findall(gone)) == ["Alles weg."]


def test_reordered_words_round_trip():
    for old, new in (("een twee drie vier", "vier drie twee een"), ("a b c", "c a b"),
                     ("Samen sterk in Zwolle", "In Zwolle samen sterk")):
        html = word_diff(old, new)
        assert side(html, "del") == old and side(html, "ins") == new, (old, new)
        assert INS.findall(str(html)) and DEL.findall(str(html))


def test_unicode_words():
    old, new = "Súdwest-Fryslân en Eijsden-Margraten: één aanpak", "Súdwest-Fryslân en Harderwijk: één aanpak – café"
    html = str(word_diff(old, new))
    assert words(DEL.findall(html)) == ["Eijsden-Margraten"]
    assert words(INS.findall(html)) == ["Harderwijk", "– café"]
    assert side(html, "del") == old and side(html, "ins") == new
    assert "Súdwest-Fryslân" in html.split("<del")[0]  # accented words are whole words, not split


def test_content_is_escaped():
    html = str(word_diff("Tekst", "Tekst <script>alert('x')</script> & meer"))
    assert "<script>" not in html and "&lt;script&gt;" in html and "&amp; meer" in html
    listed = str(list_diff([], ["<b>vet</b>"]))
    assert "<b>" not in listed and "&lt;b&gt;" in listed
    assert "<script" not in str(text_diff("<script>a</script>", "<script>b</script>"))


def test_paragraphs_are_matched_and_far_unchanged_ones_folded():
    old = "Eén.\n\nTwee drie.\n\nVier.\n\nVijf.\n\nZes."
    new = "Eén.\n\nTwee vier.\n\nVier.\n\nVijf.\n\nZes."
    html = str(text_diff(old, new))
    assert words(DEL.findall(html)) == ["drie"] and words(INS.findall(html)) == ["vier"]
    assert "<p>Eén.</p>" in html and "<p>Vier.</p>" in html  # neighbours of the change, plain
    assert "2 ongewijzigde alinea&#39;s" in html and "Zes." not in html
    # A new paragraph is one insertion, the others untouched.
    added = str(text_diff("Een.\n\nTwee.", "Een.\n\nNieuw hier.\n\nTwee."))
    assert words(INS.findall(added)) == ["Nieuw hier."] and not DEL.findall(added)


def test_lists_and_unchanged_fields():
    html = str(list_diff(["thuiszitters", "passend onderwijs"], ["passend onderwijs", "jeugdhulp op school"]))
    assert words(DEL.findall(html)) == ["thuiszitters"] and words(INS.findall(html)) == ["jeugdhulp op school"]
    assert "<li>passend onderwijs</li>" in html
    assert field_diff("title", "Zelfde", "Zelfde") is None
    assert field_diff("themes", [], []) is None and field_diff("start_year", None, None) is None
    assert field_diff("summary", "", None) is None
    assert INS.findall(str(field_diff("start_year", None, 2020))) == ["2020"]
    contacts = str(field_diff("contacts", [], [{"name": "Petra", "email": "p@example.nl", "public": True,
                                                 "consent": True}]))
    assert "Petra" in contacts and "toestemming gegeven" in contacts
    assert "toegevoegde tekst" in str(LEGEND) and "verwijderde tekst" in str(LEGEND)


# --- the review page through the real app ------------------------------------------------------------------------

def _decide_form(page):
    return page.forms["besluit"]


def _remark_boxes(soup):
    return soup.find_all("details", class_="remark-box")


def test_first_review_whole_item_then_diff_since_last_review(site):
    add_user(site, "anna@example.nl", "bijdrager", name="Anna Aanvuller")
    add_user(site, "rik@example.nl", "redacteur", name="Rik Redactie")
    anna, rik = site.testapp(), site.testapp()
    login(anna, "anna@example.nl")
    login(rik, "rik@example.nl")

    # Two drafts of her own before submitting: the editor must not get "changes since revision 1".
    form = contribution_form(anna.get("/bijdragen"))
    form["title"] = "Samen sterk in Zwolle"
    page = form.submit("opslaan", status=303).follow()
    form = contribution_form(page)
    fill_complete(form, results="Minder verzuim.\n\nDe ouders zijn tevreden.\n\nDe school ook.")
    form.submit("indienen", status=303)
    with site.session() as db:
        example_id = db.scalar(select(ExampleWorkflow.example_id))

    review = rik.get(f"/redactie/voorbeelden/{example_id}")
    soup = BeautifulSoup(review.text, "html.parser")
    section = soup.find("section", class_="review-diff")
    assert section.find("h2").get_text(strip=True) == "Eerste beoordeling: het hele voorbeeld"
    assert "Wijzigingen sinds" not in review.text and "wd-ins" not in review.text
    headings = [h.get_text(strip=True) for h in section.find_all("h3")]
    assert headings == list(FIELD_LABELS.values())  # every field, in form order
    results = section.find(id="veld-results")
    assert [p.get_text() for p in results.find(class_="review-value").find_all("p")] == [
        "Minder verzuim.", "De ouders zijn tevreden.", "De school ook."]
    assert section.find(id="veld-themes").find("li").get_text() == "Thuiszitters" or \
        "thuiszitters" in section.find(id="veld-themes").get_text().lower()
    # One remark box per field, closed until opened; each labelled with its field.
    boxes = _remark_boxes(soup)
    assert len(boxes) == len(FIELD_LABELS)
    assert not any(box.has_attr("open") for box in boxes)
    for box, label in zip(boxes, FIELD_LABELS.values(), strict=True):
        assert box.find("summary").get_text(strip=True) == f"Opmerking bij {label}"
        textarea = box.find("textarea")
        assert soup.find("label", attrs={"for": textarea["id"]}).get_text(" ", strip=True) == \
            f"Opmerking bij {label} (voor de indiener)"

    # A remark that is too long: refused (400), the box stays open with the text.
    decide = _decide_form(review)
    decide["remark_lessons"] = "x" * 5001
    refused = decide.submit("action", value="return", status=400)
    box = BeautifulSoup(refused.text, "html.parser").find(id="f-remark_lessons").find_parent("details")
    assert box.has_attr("open") and box.find(class_="field-error")

    decide = _decide_form(review)
    decide["remark_lessons"] = ""
    decide["remark_results"] = "Noem een cijfer: hoeveel minder verzuim?"
    decide.submit("action", value="return", status=303)
    with site.session() as db:
        returned_at = db.scalar(select(Transition.revision).where(Transition.to_status == Status.RETURNED))

    # The contributor sees the remark at the field and changes only the results (and one theme).
    edit = anna.get(f"/bijdragen/{example_id}")
    edit_soup = BeautifulSoup(edit.text, "html.parser")
    assert "hoeveel minder verzuim" in edit_soup.find(id="remark-f-results").get_text()
    form = contribution_form(edit)
    form["results"] = "Het verzuim daalde met 30 procent.\n\nDe ouders zijn tevreden.\n\nDe school ook."
    form.submit("opslaan", status=303)
    form = contribution_form(anna.get(f"/bijdragen/{example_id}"))
    form["summary"] = form["summary"].value + " Nu ook in Kampen."
    form.submit("indienen", status=303)

    review = rik.get(f"/redactie/voorbeelden/{example_id}")
    soup = BeautifulSoup(review.text, "html.parser")
    section = soup.find("section", class_="review-diff")
    assert section.find("h2").get_text(strip=True) == \
        f"Wijzigingen sinds de vorige beoordeling (revisie {returned_at})"
    assert soup.find(class_="wd-legend") is not None
    changed = [div["id"] for div in section.find_all("div", class_="review-field")
               if not div.find_parent("details", class_="unchanged-fields")]
    assert changed == ["veld-summary", "veld-results"]
    results_html = str(section.find(id="veld-results"))
    assert words(DEL.findall(results_html)) == ["Minder"]
    assert words(INS.findall(results_html)) == ["Het", "daalde met 30 procent"]
    assert "De ouders zijn tevreden." in results_html  # unchanged neighbour paragraph, unmarked
    assert words(INS.findall(str(section.find(id="veld-summary")))) == ["Nu ook in Kampen."]
    unchanged = section.find("details", class_="unchanged-fields")
    count = len(FIELD_LABELS) - 2
    assert unchanged.find("summary").get_text(" ", strip=True).startswith(f"{count} ongewijzigde velden")
    assert not unchanged.has_attr("open")
    # The remark box of the field that had a remark shows it, open; the others stay closed.
    boxes = {box.find("textarea")["name"]: box for box in _remark_boxes(soup)}
    assert len(boxes) == len(FIELD_LABELS)
    assert boxes["remark_results"].has_attr("open")
    assert "hoeveel minder verzuim" in boxes["remark_results"].get_text()
    assert boxes["remark_results"].find("textarea").get_text() == ""  # not sent again unless retyped
    assert [name for name, box in boxes.items() if box.has_attr("open")] == ["remark_results"]

    # Published, then an editor's change is compared with the published text.
    _decide_form(review).submit("action", value="publish", status=303)
    form = contribution_form(rik.get(f"/redactie/voorbeelden/{example_id}/bewerken"))
    form["lessons"] = "Begin klein en vier successen."
    form.submit("opslaan", status=303)
    with site.session() as db:
        published = db.get(ExampleWorkflow, example_id).published_revision
    review = rik.get(f"/redactie/voorbeelden/{example_id}")
    soup = BeautifulSoup(review.text, "html.parser")
    section = soup.find("section", class_="review-diff")
    assert section.find("h2").get_text(strip=True) == \
        f"Wijzigingen ten opzichte van de gepubliceerde versie (revisie {published})"
    assert words(INS.findall(str(section.find(id="veld-lessons")))) == ["en vier successen"]


def test_revision_page_uses_the_word_diff(site):
    add_user(site, "anna@example.nl", "bijdrager", name="Anna Aanvuller")
    add_user(site, "rik@example.nl", "redacteur", name="Rik Redactie")
    anna, rik = site.testapp(), site.testapp()
    login(anna, "anna@example.nl")
    login(rik, "rik@example.nl")
    form = contribution_form(anna.get("/bijdragen"))
    form["title"] = "Eerste titel"
    page = form.submit("opslaan", status=303).follow()
    form = contribution_form(page)
    form["title"] = "Tweede titel <script>"
    form.submit("opslaan", status=303)
    with site.session() as db:
        example_id = db.scalar(select(ExampleWorkflow.example_id))
    revision = rik.get(f"/redactie/voorbeelden/{example_id}/revisies/2")
    changes = revision.text.split('<div class="review-field">', 1)[1]
    assert words(DEL.findall(changes)) == ["Eerste"]
    assert words(INS.findall(changes)) == ["Tweede", "&lt;script&gt;"]
    assert "ongewijzigde velden niet getoond" in revision.text and "wd-legend" in revision.text
