"""A published practice example as its page shows it, read as plain columns instead of ORM objects.

The example page (templates/example.jinja2, also used by the workflow pages with a PracticeExample) reads the same
attribute names from an ExampleDetail. Regions, themes, school types and the source come from the vocabulary read
once per content generation (portal.content.cards.vocabulary), so a page costs two small statements: the row, and
everything listed with it (theme and school-type links, tips, public contacts) in one UNION ALL. On PostgreSQL each
statement is a round trip to the server (0.2-0.3 ms): three separate ones made the page miss the 5 ms target.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import ClassVar

from sqlalchemy import Boolean, String, bindparam, cast, false, literal, literal_column, null, select, union_all
from sqlalchemy.orm import Session

from portal.content.cards import SourceRef, Vocabulary, ordered_terms
from portal.content.memo import Term
from portal.content.models import (
    Contact,
    Dated,
    PracticeExample,
    Status,
    Tip,
    email_may_be_public,
    example_school_types,
    example_themes,
)

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
_THEME, _SCHOOL_TYPE, _TIP, _CONTACT = range(4)


def _no_text():
    return cast(null(), String)  # typed, so that PostgreSQL knows each column's type across the union


def _no_flag():
    return cast(false(), Boolean)


#: (kind, position, ref, text, name, role, organisation, email, consent, organisation_email) of what an example page
#: lists besides its row: theme and school-type ids (ref), tips (text) and public contacts; tips and contacts in the
#: editors' order (position, then id).
_PARTS = union_all(
    select(literal(_THEME).label("kind"), literal(0).label("position"), example_themes.c.theme_id.label("ref"),
           _no_text(), _no_text(), _no_text(), _no_text(), _no_text(), _no_flag(), _no_flag())
    .where(example_themes.c.example_id == bindparam("id")),
    select(literal(_SCHOOL_TYPE), literal(0), example_school_types.c.school_type_id,
           _no_text(), _no_text(), _no_text(), _no_text(), _no_text(), _no_flag(), _no_flag())
    .where(example_school_types.c.example_id == bindparam("id")),
    select(literal(_TIP), Tip.position, Tip.id, Tip.text, _no_text(), _no_text(), _no_text(), _no_text(),
           _no_flag(), _no_flag())
    .where(Tip.example_id == bindparam("id")),
    select(literal(_CONTACT), Contact.position, Contact.id, _no_text(), Contact.name, Contact.role,
           Contact.organisation, Contact.email, Contact.consent, Contact.organisation_email)
    .where(Contact.example_id == bindparam("id"), Contact.public.is_(True)),
).order_by(literal_column("kind"), literal_column("position"), literal_column("ref"))


def published_example(db: Session, vocab: Vocabulary, slug: str) -> ExampleDetail | None:
    """The published example ``slug`` (a well-formed slug: catalog checks), or None."""
    row = db.execute(_ROW, {"slug": slug}).first()
    if row is None:
        return None
    gemeente_id, youth_id, province_id, source_id, *values = row
    fields = dict(zip(_COLUMNS, values, strict=True))
    theme_ids: list[int] = []
    school_type_ids: list[int] = []
    tips: list[TipText] = []
    contacts: list[PublicContact] = []
    for kind, _position, ref, text, name, role, organisation, email, consent, organisation_email in db.execute(
            _PARTS, {"id": fields["id"]}):
        if kind == _THEME:
            theme_ids.append(ref)
        elif kind == _SCHOOL_TYPE:
            school_type_ids.append(ref)
        elif kind == _TIP:
            tips.append(TipText(text))
        else:
            public_email = email if email_may_be_public(email, True, consent, organisation_email) else ""
            contacts.append(PublicContact(name, role or "", organisation or "", public_email))
    text = {name: fields[name] or "" for name in ("summary", "place", "target_group", "financing", "project_status",
                                                   "background", "approach", "results", "financing_text", "lessons",
                                                   "source_chapter", "source_note")}
    fields["partners"] = tuple(fields["partners"] or ())
    return ExampleDetail(
        **{**fields, **text},
        gemeente=vocab.regions.get(gemeente_id), youth_region=vocab.regions.get(youth_id),
        province=vocab.regions.get(province_id), source=vocab.sources.get(source_id),
        themes=ordered_terms(theme_ids, vocab.themes, vocab.theme_order),
        school_types=ordered_terms(school_type_ids, vocab.school_types, vocab.school_type_order),
        tips=tuple(tips), public_contacts=tuple(contacts))
