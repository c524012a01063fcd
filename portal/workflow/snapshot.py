"""Snapshots: the editable fields of a practice example as a plain dict (stored in revisions and working copies).

A snapshot can be taken from a row, applied to a row, turned into a transient PracticeExample for previews (so a
preview goes through exactly the same template and Markdown filter as the published page), and compared field by
field for diffs (portal.workflow.diff).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.content.models import Contact, PracticeExample, Region, RegionKind, SchoolType, Source, Theme, Tip
from portal.workflow.diff import snapshot_changes

#: Field name -> label shown to contributors and editors, in form order. Remarks are made per field.
FIELD_LABELS: dict[str, str] = {
    "title": "Titel",
    "summary": "Samenvatting",
    "place": "Plaats",
    "gemeente": "Gemeente",
    "provincie": "Provincie",
    "school_types": "Onderwijssoorten",
    "target_group": "Doelgroep",
    "themes": "Thema's",
    "partners": "Partners",
    "start_year": "Startjaar",
    "project_status": "Stand van het project",
    "background": "Aanleiding",
    "approach": "Aanpak",
    "results": "Resultaten",
    "financing": "Financiering in het kort",
    "financing_text": "Financiering",
    "lessons": "Geleerde lessen",
    "tips": "Tips",
    "contacts": "Contactpersonen",
    "source": "Bron",
    "source_chapter": "Hoofdstuk of onderdeel van de bron",
    "source_note": "Bron of website",
}

TEXT_FIELDS = ("title", "summary", "place", "target_group", "financing", "project_status",
               "background", "approach", "results", "financing_text", "lessons", "source_chapter", "source_note")
SECTION_FIELDS = tuple(field for field, _heading in PracticeExample.SECTIONS)


def empty_snapshot() -> dict[str, Any]:
    data: dict[str, Any] = dict.fromkeys(TEXT_FIELDS, "")
    data.update(gemeente="", provincie="", school_types=[], themes=[], partners=[], start_year=None, tips=[],
                contacts=[], source="")
    return data


def snapshot_from_example(example: PracticeExample) -> dict[str, Any]:
    data = empty_snapshot()
    for field in TEXT_FIELDS:
        data[field] = getattr(example, field) or ""
    data["gemeente"] = example.gemeente.slug if example.gemeente else ""
    data["provincie"] = example.province.slug if example.province else ""
    data["school_types"] = [t.slug for t in example.school_types]
    data["themes"] = [t.slug for t in example.themes]
    data["partners"] = list(example.partners or [])
    data["start_year"] = example.start_year
    data["tips"] = [t.text for t in example.tips]
    data["contacts"] = [
        {"name": c.name, "role": c.role, "organisation": c.organisation, "email": c.email, "public": c.public,
         # Real consent only: a person named in a publication did not agree to their address being shown here.
         "consent": c.consent, "organisation_email": c.organisation_email}
        for c in example.contacts
    ]
    data["source"] = example.source.slug if example.source else ""
    return data


def normalised(data: dict[str, Any]) -> dict[str, Any]:
    """The snapshot with every key present (old revisions may lack newer keys)."""
    full = empty_snapshot()
    full.update({k: v for k, v in data.items() if k in full})
    return full


class _Lookups:
    def __init__(self, dbsession: Session):
        self.regions = {r.slug: r for r in dbsession.scalars(select(Region))}
        self.themes = {t.slug: t for t in dbsession.scalars(select(Theme))}
        self.school_types = {t.slug: t for t in dbsession.scalars(select(SchoolType))}
        self.sources = {s.slug: s for s in dbsession.scalars(select(Source))}


def _fill(example: PracticeExample, data: dict[str, Any], lookups: _Lookups, attach: bool) -> None:
    data = normalised(data)
    for field in TEXT_FIELDS:
        setattr(example, field, data[field] or "")
    gemeente = lookups.regions.get(data["gemeente"]) if data["gemeente"] else None
    if gemeente is not None and gemeente.kind != RegionKind.MUNICIPALITY:
        gemeente = None
    province = lookups.regions.get(data["provincie"]) if data["provincie"] else None
    if gemeente is not None:
        youth, province = gemeente.youth_region, gemeente.province or province
    else:
        youth = None
    example.gemeente, example.youth_region, example.province = gemeente, youth, province
    example.themes = [lookups.themes[s] for s in data["themes"] if s in lookups.themes]
    example.school_types = [lookups.school_types[s] for s in data["school_types"] if s in lookups.school_types]
    example.partners = list(data["partners"])
    example.start_year = data["start_year"]
    example.source = lookups.sources.get(data["source"]) if data["source"] else None
    tips = [Tip(position=n, text=text) for n, text in enumerate(data["tips"])]
    contacts = [
        Contact(position=n, name=c.get("name", ""), role=c.get("role", ""), organisation=c.get("organisation", ""),
                email=c.get("email", ""),
                # The name is public when marked so (services.completeness_errors only lets that through with
                # consent, or when the live page already names the person); the address only with consent or when
                # it is an organisation's mailbox (Contact.email_public).
                public=bool(c.get("public")),
                consent=bool(c.get("public")) and bool(c.get("consent")),
                organisation_email=bool(c.get("organisation_email")))
        for n, c in enumerate(data["contacts"])
    ]
    if attach:
        example.tips, example.contacts = tips, contacts
    else:
        # A transient preview object: set the collections without touching any session.
        example.__dict__["tips"], example.__dict__["contacts"] = tips, contacts


def apply_snapshot(dbsession: Session, example: PracticeExample, data: dict[str, Any]) -> None:
    """Write the snapshot into the (persistent) row."""
    _fill(example, data, _Lookups(dbsession), attach=True)


def preview_example(dbsession: Session, data: dict[str, Any], slug: str = "voorbeeld") -> PracticeExample:
    """A transient PracticeExample built from the snapshot, never added to the session, for rendering previews."""
    example = PracticeExample(slug=slug, status="concept", featured=False, origin_path="")
    with dbsession.no_autoflush:
        _fill(example, data, _Lookups(dbsession), attach=False)
    if example in dbsession:  # pragma: no cover - defensive: a preview must never be written
        dbsession.expunge(example)
    return example


def slugify(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    slug = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
    return slug[:70].strip("-") or "voorbeeld"


def unique_slug(dbsession: Session, title: str) -> str:
    base = slugify(title)
    taken = set(dbsession.scalars(select(PracticeExample.slug).where(PracticeExample.slug.like(f"{base}%"))))
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


# --- diffs -------------------------------------------------------------------------------------------------------

def snapshot_diff(old: dict[str, Any] | None, new: dict[str, Any],
                  label: Callable[[str, str], str] | None = None) -> list[tuple[str, str, Markup]]:
    """(field, label, html diff) for every changed field, in form order (see portal.workflow.diff)."""
    old_full = normalised(old) if old is not None else empty_snapshot()
    return [(c.field, c.label, c.html)
            for c in snapshot_changes(old_full, normalised(new), FIELD_LABELS, label)]
