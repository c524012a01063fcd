"""No personal e-mail address without consent anywhere public (issue 10).

On the real content: every page reachable from / and from the sitemap, the feed, the API (list, every detail, search,
suggestions) and the content export are searched for e-mail addresses, also in mailto: links, percent- or
entity-encoded and in obfuscated forms such as "naam [at] domein [punt] nl". An address of a contact without
``consent: true`` that is not marked ``organisation_email: true`` fails the test, and so does any other address that
is neither such a published address nor the editors' own.
"""

from __future__ import annotations

import html
import json
import re
from collections import deque
from pathlib import Path
from urllib.parse import unquote

import pytest
from bs4 import BeautifulSoup
from test_links import _internal

from portal.content.files import read_content
from portal.workflow.export import export_content

ROOT = Path(__file__).resolve().parent.parent
CONTENT_DIR = ROOT / "content"
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
#: Obfuscations people and tools use for "@" and "." in addresses.
AT = re.compile(r"\s*(?:\[\s*(?:at|apenstaartje)\s*\]|\(\s*(?:at|apenstaartje)\s*\)|\{\s*at\s*\}|\s(?:at|AT)\s)\s*")
DOT = re.compile(r"\s*(?:\[\s*(?:dot|punt)\s*\]|\(\s*(?:dot|punt)\s*\)|\{\s*dot\s*\})\s*")
#: The editors' address (mail.default_sender in the tests) and the marked placeholder the info pages show instead.
EDITORS = {"kennisportaal@localhost", "redactie@kennisportaal.example.nl"}
#: Example addresses in form help and error texts.
EXAMPLES = re.compile(r"@(?:[a-z0-9-]+\.)*example\.(?:nl|org|com)$|^naam@school\.nl$")
SKIP_PREFIXES = ("/uitloggen",)
#: Between the two halves of a spelled-out address: punctuation, spaces and the words people write for "@".
SEPARATOR = r"(?:[^\w\n]|_|\b(?:at|op|bij|apenstaartje)\b){1,12}"


def contact_addresses() -> tuple[set[str], set[str]]:
    """(addresses that must stay hidden, addresses that may be shown), from the real content files."""
    _vocabulary, items = read_content(CONTENT_DIR)
    hidden, shown = set(), set()
    for item in items:
        if item.kind != "voorbeeld":
            continue
        for contact in item.meta["contacts"]:
            email = (contact.get("email") or "").strip().lower()
            if email:
                (shown if contact["consent"] or contact["organisation_email"] else hidden).add(email)
    return hidden, shown


def normalised(text: str) -> str:
    """Decode what hides an address from a plain search: JSON escapes, percent-encoding, HTML entities, [at]/[dot]."""
    text = html.unescape(unquote(html.unescape(text)))
    text = text.replace("\\u0040", "@").replace("\\u002e", ".")
    text = AT.sub("@", text)
    return DOT.sub(".", text)


def addresses_in(text: str) -> set[str]:
    return {m.group(0).lower().rstrip(".") for m in EMAIL.finditer(normalised(text))}


def hidden_in(text: str, hidden: set[str]) -> set[str]:
    """Hidden addresses in ``text``, also when split up in ways the address pattern does not catch ("m.brouwer op
    swv2301 punt nl"): the local part followed closely by the domain name."""
    plain = normalised(text).lower()
    found = {a for a in hidden if a in plain}
    for address in hidden - found:
        local, domain = address.split("@", 1)
        name = domain.rsplit(".", 1)[0]
        if re.search(rf"(?<![a-z0-9.]){re.escape(local)}{SEPARATOR}{re.escape(name)}\b", plain):
            found.add(address)
    return found


def crawl(app) -> dict[str, str]:
    """path -> body of every public page reachable from / and the sitemap (HTML, XML and JSON alike)."""
    queue: deque[str] = deque(["/", "/sitemap.xml", "/feeds/voorbeelden.xml", "/robots.txt"])
    bodies: dict[str, str] = {}
    while queue:
        path = queue.popleft()
        if path in bodies or path.startswith(SKIP_PREFIXES):
            continue
        response = app.get(path, expect_errors=True)
        bodies[path] = response.text
        if response.status_int in (301, 302, 303, 307, 308):
            target = _internal(response.headers["Location"], path)
            if target is not None:
                queue.append(target)
            continue
        if response.status_int >= 400:
            continue
        if "xml" in response.content_type:
            queue.extend(p for loc in re.findall(r"<loc>\s*([^<]+?)\s*</loc>", response.text)
                         if (p := _internal(html.unescape(loc), "/")))
            queue.extend(p for href in re.findall(r'<link[^>]*href="([^"]+)"', response.text)
                         if (p := _internal(html.unescape(href), "/")))
            continue
        if not response.content_type.startswith("text/html"):
            continue
        for tag in BeautifulSoup(response.text, "html.parser").find_all(["a", "link"], href=True):
            target = _internal(tag["href"], path)
            if target is not None and not target.startswith("/static/"):
                queue.append(target)
    return bodies


def api_bodies(app, names: list[str]) -> dict[str, str]:
    """The API: every list page, every detail, and search and suggestions for every contact's name and address."""
    bodies: dict[str, str] = {}
    page = 1
    while True:
        listing = app.get("/api/voorbeelden", {"page": page, "per_page": 100})
        bodies[f"/api/voorbeelden?page={page}"] = listing.text
        for item in listing.json["items"]:
            slug = item["slug"]
            bodies[f"/api/voorbeelden/{slug}"] = app.get(f"/api/voorbeelden/{slug}").text
        if page * 100 >= listing.json["total"]:
            break
        page += 1
    for query in names:
        for path in ("/api/zoeken", "/api/suggesties", "/zoeken"):
            bodies[f"{path}?q={query}"] = app.get(path, {"q": query}, expect_errors=True).text
    return bodies


def export_bodies(site, tmp_path) -> dict[str, str]:
    """portal-export's content tree (the published content, meant to be passed on)."""
    with site.session() as db:
        export_content(db, tmp_path / "export")
    return {f"export/{p.relative_to(tmp_path / 'export')}": p.read_text(encoding="utf-8")
            for p in sorted((tmp_path / "export").rglob("*")) if p.is_file()}


def search_terms() -> list[str]:
    _vocabulary, items = read_content(CONTENT_DIR)
    terms: list[str] = []
    for item in items:
        for contact in item.meta.get("contacts") or [] if item.kind == "voorbeeld" else []:
            terms.append(contact["name"])
            if contact.get("email"):
                # not the whole address: pages rightly repeat what was searched for ("Resultaten voor ...")
                terms += contact["email"].split("@", 1)
    return terms


# --------------------------------------------------------------------------------------------------------------------
# the detector itself

@pytest.mark.parametrize("text", [
    'mailto:m.brouwer@swv2301.nl', '<a href="mailto:m.brouwer%40swv2301.nl">schrijf</a>',
    "m.brouwer&#64;swv2301.nl", "m.brouwer [at] swv2301 [dot] nl", "m.brouwer(at)swv2301(punt)nl",
    "m.brouwer at swv2301.nl", '{"email": "m.brouwer\\u0040swv2301.nl"}', "M.Brouwer@SWV2301.NL",
    "m.brouwer op swv2301 punt nl",
])
def test_detector_finds_an_address_in_every_disguise(text):
    assert hidden_in(text, {"m.brouwer@swv2301.nl"}) == {"m.brouwer@swv2301.nl"}


def test_detector_does_not_see_a_name_or_domain_alone():
    assert hidden_in("Marije Brouwer van swv2301.nl", {"m.brouwer@swv2301.nl"}) == set()


def test_content_has_hidden_and_shown_addresses():
    hidden, shown = contact_addresses()
    assert len(hidden) > 30 and "bestuur@waadhoeke.nl" in shown  # the real content is what is checked


# --------------------------------------------------------------------------------------------------------------------
# the whole public site

def test_no_hidden_address_anywhere_public(shared_site, tmp_path):
    hidden, shown = contact_addresses()
    app = shared_site.testapp()
    bodies = crawl(app)
    assert sum(1 for p in bodies if p.startswith("/voorbeelden/") and p.endswith("/contact")) >= 20  # forms crawled
    assert "/feeds/voorbeelden.xml" in bodies and "/sitemap.xml" in bodies
    bodies |= api_bodies(app, search_terms())
    bodies |= export_bodies(shared_site, tmp_path)
    leaks = sorted(f"{path}: {address}" for path, body in bodies.items() for address in hidden_in(body, hidden))
    assert not leaks, "persoonlijke e-mailadressen zonder toestemming:\n" + "\n".join(leaks)
    strangers = sorted(f"{path}: {address}" for path, body in bodies.items() for address in addresses_in(body)
                       if address not in shown | EDITORS and not EXAMPLES.search(address))
    assert not strangers, "e-mailadressen die niet openbaar mogen:\n" + "\n".join(strangers)
    # What may be shown still is: the organisation mailbox stands on its example page and in the API.
    assert any("bestuur@waadhoeke.nl" in body for path, body in bodies.items() if path.startswith("/voorbeelden/"))
    assert any("bestuur@waadhoeke.nl" in body for path, body in bodies.items() if path.startswith("/api/"))


def test_editors_still_see_the_stored_address(shared_site):
    from sqlalchemy import select

    from portal.content.models import Contact

    hidden, _shown = contact_addresses()
    with shared_site.session() as db:
        stored = {c.email.lower() for c in db.scalars(select(Contact)) if c.email}
        private = {c.email.lower() for c in db.scalars(select(Contact)) if c.email and not c.email_public}
    assert hidden <= stored and hidden <= private


def test_api_detail_has_no_hidden_address_and_a_contact_url(testapp):
    hidden, _shown = contact_addresses()
    data = testapp.get("/api/voorbeelden/de-link-almelo").json
    assert data["contact_url"] == "http://localhost/voorbeelden/de-link-almelo/contact"
    assert data["contacts"] and all(c["email"] is None for c in data["contacts"])
    assert not hidden_in(json.dumps(data), hidden)


# --------------------------------------------------------------------------------------------------------------------
# the content files: explicit, validated flags; default hidden

LINK = "voorbeelden/de-link-almelo.md"


def _insert_after_contacts(path: Path, lines: str) -> int:
    """Put ``lines`` as the first contact of the file; the line number of the first inserted line."""
    text = path.read_text(encoding="utf-8")
    head, tail = text.split("\ncontacts:\n", 1)
    path.write_text(f"{head}\ncontacts:\n{lines}{tail}", encoding="utf-8")
    return head.count("\n") + 3


@pytest.mark.parametrize(("lines", "offset", "reason"), [
    ("  - name: Ria Test\n    email: ria@school.nl\n    consent: ja\n", 2, "'consent' moet true of false zijn"),
    ("  - name: Ria Test\n    consent: 1\n", 1, "'consent' moet true of false zijn"),
    ("  - name: Ria Test\n    email: info@school.nl\n    organisation_email: \"true\"\n", 2,
     "'organisation_email' moet true of false zijn"),
    ("  - name: Ria Test\n    organisation_email: true\n", 1, "'organisation_email: true' zonder e-mailadres"),
    ("  - name: Ria Test\n    role: directeur\n    toestemming: true\n", 2, "onbekend veld toestemming"),
])
def test_bad_contact_flags_are_refused_with_file_line_and_reason(content_copy, lines, offset, reason):
    from portal.content.files import ContentError

    first = _insert_after_contacts(content_copy / LINK, lines)
    with pytest.raises(ContentError) as info:
        read_content(content_copy)
    error = info.value
    assert error.path.endswith(LINK) and error.field == "contacts" and error.line == first + offset
    assert reason in error.reason and "contactpersoon 1" in error.reason


def test_consent_in_the_file_shows_the_address_and_nothing_else_changes(site, content_copy):
    from portal.content.loader import load_content

    _insert_after_contacts(content_copy / LINK, "  - name: Ria Test\n    email: ria.test@school.nl\n"
                                                 "    consent: true\n")
    with site.session() as db:
        load_content(db, content_copy)
    page = site.testapp().get("/voorbeelden/de-link-almelo").text
    assert 'href="mailto:ria.test@school.nl"' in page
    assert "m.brouwer@swv2301.nl" not in page and "Marije Brouwer-Borghuis" in page  # still hidden, still named
    api = site.testapp().get("/api/voorbeelden/de-link-almelo").json
    assert [c["email"] for c in api["contacts"]][:2] == ["ria.test@school.nl", None]


def test_an_edit_through_the_workflow_does_not_publish_a_hidden_address(site):
    from sqlalchemy import select

    from portal.content.models import PracticeExample
    from portal.workflow.snapshot import apply_snapshot, snapshot_from_example

    with site.session() as db:
        example = db.scalars(select(PracticeExample).where(PracticeExample.slug == "de-link-almelo")).one()
        apply_snapshot(db, example, snapshot_from_example(example))
    with site.session() as db:
        example = db.scalars(select(PracticeExample).where(PracticeExample.slug == "de-link-almelo")).one()
        assert example.contacts and not any(c.email_public for c in example.contacts)
        assert all(c.email for c in example.contacts)  # the editors keep the address
