"""A published practice example as its page shows it, read as plain columns instead of ORM objects.

The example page (templates/example.jinja2, also used by the workflow pages with a PracticeExample) reads the same
attribute names from an ExampleDetail. Regions, themes, school types and the source come from the vocabulary read
once per content generation (portal.content.cards.vocabulary), so a page costs four small statements: the row, its
theme/school-type links, its tips and its public contacts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import ClassVar

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from portal.content.cards import SourceRef, Vocabulary, cards_terms
from portal.content.memo import Term
from portal.content.models import Contact, Dated, PracticeExample, Status, Tip

#: Columns of practice_examples a page shows, in the order ExampleDetail takes them after the vocabulary ids.
_COLUMNS = ("id", "slug", "title", "summary", "place", "target_group", "partners", "financing", "start_year",
            "project_status", "background", "approach", "results", "financing_text", "lessons", "source_chapter",
            "source_note", "status", "published_at", "updated_at")


@dataclass(frozen=True)
class PublicContact:
    name: str
    role: str
    organisation: str
    #: The address for public output, or "" (Contact.public_email decides).
    public_email: str


@dataclass(frozen=True)
class TipText:
    text: str


@dataclass(frozen=True)
class ExampleDetail(Dated):
    SECTIONS: ClassVar = PracticeExample.SECTIONS
    sections = PracticeExample.sections
    body_markdown = PracticeExample.body_markdown

    id: int
    slug: str
    title: str
    summary: str
    place: str
    target_group: str
    partners: tuple[str, ...]
    financing: str
    start_year: int | None
    project_status: str
    background: str
    approach: str
    results: str
    financing_text: str
    lessons: str
    source_chapter: str
    source_note: str
    status: str
    published_at: dt.datetime | None
    updated_at: dt.datetime | None
    gemeente: Term | None
    youth_region: Term | None
    province: Term | None
    source: SourceRef | None
    themes: tuple[Term, ...]
    school_types: tuple[Term, ...]
    tips: tuple[TipText, ...]
    public_contacts: tuple[PublicContact, ...]

    @property
    def is_published(self) -> bool:
        return self.status == Status.PUBLISHED


# Built once: constructing a statement costs more than running it from SQLAlchemy's compiled cache.
_ROW = (select(PracticeExample.gemeente_id, PracticeExample.youth_region_id, PracticeExample.province_id,
               PracticeExample.source_id, *(getattr(PracticeExample, name) for name in _COLUMNS))
        .where(PracticeExample.slug == bindparam("slug"), PracticeExample.status == Status.PUBLISHED))
_TIPS = select(Tip.text).where(Tip.example_id == bindparam("id")).order_by(Tip.position, Tip.id)
_CONTACTS = (select(Contact).where(Contact.example_id == bindparam("id"), Contact.public.is_(True))
             .order_by(Contact.position, Contact.id))


def published_example(db: Session, vocab: Vocabulary, slug: str) -> ExampleDetail | None:
    """The published example ``slug`` (a well-formed slug: catalog checks), or None."""
    row = db.execute(_ROW, {"slug": slug}).first()
    if row is None:
        return None
    gemeente_id, youth_id, province_id, source_id, *values = row
    fields = dict(zip(_COLUMNS, values, strict=True))
    example_id = fields["id"]
    themes, school_types = cards_terms(db, vocab, [example_id])
    tips = db.execute(_TIPS, {"id": example_id}).all()
    contacts = db.scalars(_CONTACTS, {"id": example_id}).all()
    text = {name: fields[name] or "" for name in ("summary", "place", "target_group", "financing", "project_status",
                                                   "background", "approach", "results", "financing_text", "lessons",
                                                   "source_chapter", "source_note")}
    fields["partners"] = tuple(fields["partners"] or ())
    return ExampleDetail(
        **{**fields, **text},
        gemeente=vocab.regions.get(gemeente_id), youth_region=vocab.regions.get(youth_id),
        province=vocab.regions.get(province_id), source=vocab.sources.get(source_id),
        themes=themes.get(example_id, ()), school_types=school_types.get(example_id, ()),
        tips=tuple(TipText(t) for (t,) in tips),
        public_contacts=tuple(PublicContact(c.name, c.role or "", c.organisation or "", c.public_email)
                              for c in contacts))
