"""Content types of the portal: practice examples, knowledge articles, sources and the controlled vocabulary."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    FetchedValue,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    false,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.meta import Base


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


try:
    from zoneinfo import ZoneInfo

    LOCAL_TZ: dt.tzinfo = ZoneInfo("Europe/Amsterdam")
except Exception:  # no tz database: dates in UTC are off by at most a day around midnight
    LOCAL_TZ = dt.UTC

#: Default of ``portal.source_age_notice_years``: older sources get a calm "may have changed" notice.
SOURCE_AGE_NOTICE_YEARS = 5


def local_date(moment: dt.datetime | None) -> dt.date | None:
    """The calendar date in the Netherlands of a stored (naive UTC) moment."""
    if moment is None:
        return None
    return moment.replace(tzinfo=dt.UTC).astimezone(LOCAL_TZ).date()


def iso_utc(moment: dt.datetime | None) -> str | None:
    """ISO 8601 / RFC 3339 in UTC with a Z, for the API and the feed."""
    if moment is None:
        return None
    return moment.replace(microsecond=0, tzinfo=None).isoformat() + "Z"


class Dated:
    """Publication dates shared by examples, articles and sources.

    ``published_at``: first publication on the portal (kept on reloads and re-publication). ``updated_at``: the
    last real change of the content. ``content_hash``: hash of the loaded content alone (without the vocabulary), so
    the loader can tell a real change from a vocabulary-only one.
    """

    @property
    def published_date(self) -> dt.date | None:
        return local_date(self.published_at)

    @property
    def updated_date(self) -> dt.date | None:
        """The last-changed date, or None when it is the publication day (nothing to add)."""
        updated = local_date(self.updated_at)
        published = self.published_date
        if updated is None or (published is not None and updated <= published):
            return None
        return updated

    @property
    def source_year(self) -> int | None:
        source = getattr(self, "source", None)
        if isinstance(self, Source):
            return self.year
        return source.year if source is not None else None

    def source_is_older_than(self, years: int | str | None) -> bool:
        """True when the (linked) source's year lies more than ``years`` years back."""
        try:
            limit = int(years) if years not in (None, "") else SOURCE_AGE_NOTICE_YEARS
        except (TypeError, ValueError):
            limit = SOURCE_AGE_NOTICE_YEARS
        year = self.source_year
        return year is not None and utcnow().year - year > limit


class Status:
    """Workflow states (Dutch values are what editors see and what the API returns)."""

    DRAFT = "concept"
    SUBMITTED = "ingediend"
    PUBLISHED = "gepubliceerd"
    RETURNED = "teruggestuurd"
    REJECTED = "afgewezen"
    #: A loaded item whose content file was removed: kept for history, hidden from the public.
    WITHDRAWN = "ingetrokken"
    #: A published practice example the editors took offline (with a reason; reversible): hidden from the public.
    OFFLINE = "offline"

    ALL: ClassVar[tuple[str, ...]] = (DRAFT, SUBMITTED, PUBLISHED, RETURNED, REJECTED, WITHDRAWN, OFFLINE)


class RegionKind:
    PROVINCE = "provincie"
    YOUTH_REGION = "jeugdregio"
    MUNICIPALITY = "gemeente"


example_themes = Table(
    "example_themes",
    Base.metadata,
    Column("example_id", ForeignKey("practice_examples.id", ondelete="CASCADE"), primary_key=True),
    Column("theme_id", ForeignKey("themes.id", ondelete="CASCADE"), primary_key=True),
)

example_school_types = Table(
    "example_school_types",
    Base.metadata,
    Column("example_id", ForeignKey("practice_examples.id", ondelete="CASCADE"), primary_key=True),
    Column("school_type_id", ForeignKey("school_types.id", ondelete="CASCADE"), primary_key=True),
)
# Filters by theme or school type start from the term (migration 0009).
Index("ix_example_themes_theme_id", example_themes.c.theme_id, example_themes.c.example_id)
Index("ix_example_school_types_school_type_id", example_school_types.c.school_type_id,
      example_school_types.c.example_id)

article_themes = Table(
    "article_themes",
    Base.metadata,
    Column("article_id", ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    Column("theme_id", ForeignKey("themes.id", ondelete="CASCADE"), primary_key=True),
)

article_examples = Table(
    "article_examples",
    Base.metadata,
    Column("article_id", ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    Column("example_id", ForeignKey("practice_examples.id", ondelete="CASCADE"), primary_key=True),
)


class Theme(Base):
    """A theme from the controlled vocabulary (content/vocabulaire/themas.yaml)."""

    __tablename__ = "themes"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stable identifier used in URLs, filters and content files.
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    #: Position in the vocabulary file, so lists follow the editors' order.
    position: Mapped[int] = mapped_column(Integer, default=0)


class SchoolType(Base):
    """A school type (onderwijssoort) such as po, so or vso."""

    __tablename__ = "school_types"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer, default=0)


class Region(Base):
    """A provincie, jeugdregio or gemeente; a gemeente points to its jeugdregio and provincie."""

    __tablename__ = "regions"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    #: One of RegionKind.
    kind: Mapped[str] = mapped_column(String(20))
    #: Other names people use (Friesland for Fryslân, Den Bosch for 's-Hertogenbosch).
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: For a gemeente: its jeugdregio.
    youth_region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))
    #: For a gemeente or jeugdregio: its (main) provincie.
    province_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))
    position: Mapped[int] = mapped_column(Integer, default=0)

    youth_region: Mapped[Region | None] = relationship(remote_side=[id], foreign_keys=[youth_region_id])
    province: Mapped[Region | None] = relationship(remote_side=[id], foreign_keys=[province_id])


class Source(Dated, Base):
    """A source publication (bron) that content was drawn from."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    publisher: Mapped[str] = mapped_column(String(300))
    year: Mapped[int | None] = mapped_column(Integer)
    year_note: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str] = mapped_column(String(500), default="")
    summary: Mapped[str] = mapped_column(Text)
    #: Markdown: what the portal drew from this publication.
    body: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default=Status.PUBLISHED)
    #: content/ file this item was loaded from (relative path), empty for web-made items.
    origin_path: Mapped[str] = mapped_column(String(300), default="")
    #: Hash of the loaded file, so loading an unchanged file is a no-op.
    origin_hash: Mapped[str] = mapped_column(String(64), default="")
    content_hash: Mapped[str] = mapped_column(String(64), default="", server_default="")
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    #: First publication on the portal.
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    @property
    def is_published(self) -> bool:
        return self.status == Status.PUBLISHED


class PracticeExample(Dated, Base):
    """A praktijkvoorbeeld: how one school, region or partnership made education and youth care work together."""

    __tablename__ = "practice_examples"

    #: Markdown section fields in body order, with the heading each gets in the rendered page and content files.
    SECTIONS: ClassVar[tuple[tuple[str, str], ...]] = (
        ("background", "Aanleiding"),
        ("approach", "Aanpak"),
        ("results", "Resultaten"),
        ("financing_text", "Financiering"),
        ("lessons", "Geleerde lessen"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text)
    #: The place as people name it ("IJmuiden en Beverwijk").
    place: Mapped[str] = mapped_column(String(200))
    gemeente_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))
    youth_region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))
    province_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))
    target_group: Mapped[str] = mapped_column(Text, default="")
    #: Partner organisations, in the order the source names them.
    partners: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: One or two sentences: how it is paid for.
    financing: Mapped[str] = mapped_column(Text, default="")
    start_year: Mapped[int | None] = mapped_column(Integer)
    #: Project status as the source states it: lopend, afgerond, pilot or onbekend.
    project_status: Mapped[str] = mapped_column(String(20), default="")
    featured: Mapped[bool] = mapped_column(Boolean, default=False)
    background: Mapped[str] = mapped_column(Text, default="")
    approach: Mapped[str] = mapped_column(Text, default="")
    results: Mapped[str] = mapped_column(Text, default="")
    financing_text: Mapped[str] = mapped_column(Text, default="")
    lessons: Mapped[str] = mapped_column(Text, default="")
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id"))
    source_chapter: Mapped[str] = mapped_column(String(300), default="")
    #: Free-text source or website for web contributions without a known publication.
    source_note: Mapped[str] = mapped_column(Text, default="")
    #: Workflow state, one of Status.
    status: Mapped[str] = mapped_column(String(20), default=Status.DRAFT, index=True)
    origin_path: Mapped[str] = mapped_column(String(300), default="")
    origin_hash: Mapped[str] = mapped_column(String(64), default="")
    content_hash: Mapped[str] = mapped_column(String(64), default="", server_default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    gemeente: Mapped[Region | None] = relationship(foreign_keys=[gemeente_id])
    youth_region: Mapped[Region | None] = relationship(foreign_keys=[youth_region_id])
    province: Mapped[Region | None] = relationship(foreign_keys=[province_id])
    source: Mapped[Source | None] = relationship()
    themes: Mapped[list[Theme]] = relationship(secondary=example_themes, order_by=Theme.position)
    school_types: Mapped[list[SchoolType]] = relationship(
        secondary=example_school_types, order_by=SchoolType.position
    )
    tips: Mapped[list[Tip]] = relationship(
        back_populates="example", cascade="all, delete-orphan", order_by="Tip.position"
    )
    contacts: Mapped[list[Contact]] = relationship(
        back_populates="example", cascade="all, delete-orphan", order_by="Contact.position"
    )

    @property
    def is_published(self) -> bool:
        return self.status == Status.PUBLISHED

    @property
    def public_contacts(self) -> list[Contact]:
        return [c for c in self.contacts if c.public]

    def sections(self) -> list[tuple[str, str, str]]:
        """(field, heading, markdown) for every section, in body order."""
        return [(field, heading, getattr(self, field) or "") for field, heading in self.SECTIONS]

    def body_markdown(self) -> str:
        return "\n\n".join(f"## {heading}\n\n{text.strip()}" for _f, heading, text in self.sections()).strip()


# List pages read published examples in title or place order, or by region, without sorting them all (0009).
Index("ix_practice_examples_title_order", PracticeExample.status, func.lower(PracticeExample.title),
      PracticeExample.slug)
Index("ix_practice_examples_place_order", PracticeExample.status, func.lower(PracticeExample.place),
      func.lower(PracticeExample.title), PracticeExample.slug)
Index("ix_practice_examples_province_id", PracticeExample.province_id)
Index("ix_practice_examples_youth_region_id", PracticeExample.youth_region_id)
Index("ix_practice_examples_gemeente_id", PracticeExample.gemeente_id)
# ix_practice_examples_newest_order (status, published_at DESC, start_year DESC, title) differs per database (NULLS
# LAST on PostgreSQL only): it lives in migration 0009 alone.


class Tip(Base):
    """A practical tip attached to a practice example."""

    __tablename__ = "tips"

    id: Mapped[int] = mapped_column(primary_key=True)
    example_id: Mapped[int] = mapped_column(ForeignKey("practice_examples.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    text: Mapped[str] = mapped_column(Text)

    example: Mapped[PracticeExample] = relationship(back_populates="tips")


def email_may_be_public(email: str | None, public: bool, consent: bool, organisation_email: bool) -> bool:
    """The rule of Contact.email_public, for code that reads the columns without loading a Contact."""
    return bool(email) and bool(public) and bool(consent or organisation_email)


class Contact(Base):
    """A contact person of a practice example. Only ``public`` contacts are ever shown outside the editors."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    example_id: Mapped[int] = mapped_column(ForeignKey("practice_examples.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(200), default="")
    organisation: Mapped[str] = mapped_column(String(300), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    #: Published contacts are visible to everyone; private ones only to editors.
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    #: The person agreed to publication of name and e-mail address (web contributions: public + consent).
    consent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: The address is a functional mailbox of the organisation (info@..., secretariaat@...), not a person's own.
    organisation_email: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    example: Mapped[PracticeExample] = relationship(back_populates="contacts")

    @property
    def email_public(self) -> bool:
        """Whether the e-mail address may be shown outside the editors: never without consent, except for an
        organisation's own mailbox. Everything public (pages, API, feed, export) asks this, never ``email``."""
        return email_may_be_public(self.email, self.public, self.consent, self.organisation_email)

    @property
    def public_email(self) -> str:
        """The address for public output, or "" when it must stay with the editors."""
        return self.email if self.email_public else ""


class Article(Dated, Base):
    """A kennisartikel: definitions, models, step plans, success factors and other knowledge beyond one example."""

    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text)
    #: What sort of knowledge this is (definitie, model, stappenplan...).
    kind: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text, default="")
    featured: Mapped[bool] = mapped_column(Boolean, default=False)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id"))
    source_chapter: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[str] = mapped_column(String(20), default=Status.PUBLISHED, index=True)
    origin_path: Mapped[str] = mapped_column(String(300), default="")
    origin_hash: Mapped[str] = mapped_column(String(64), default="")
    content_hash: Mapped[str] = mapped_column(String(64), default="", server_default="")
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    #: First publication on the portal.
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    source: Mapped[Source | None] = relationship()
    themes: Mapped[list[Theme]] = relationship(secondary=article_themes, order_by=Theme.position)
    related_examples: Mapped[list[PracticeExample]] = relationship(
        secondary=article_examples, order_by=PracticeExample.title
    )

    @property
    def is_published(self) -> bool:
        return self.status == Status.PUBLISHED


class SearchOutbox(Base):
    """A pending change for the search index, written in the same transaction as the content change.

    How the index readers find rows in commit order is explained in ``portal.search.cursor``.
    """

    __tablename__ = "search_outbox"
    # SQLite: AUTOINCREMENT, so an id is never handed out twice (not even after old rows were pruned).
    __table_args__ = {"sqlite_autoincrement": True}  # noqa: RUF012

    id: Mapped[int] = mapped_column(primary_key=True)
    #: "voorbeeld", "kennis" or "bron".
    doc_type: Mapped[str] = mapped_column(String(20))
    slug: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    #: PostgreSQL only: the writing transaction's id (``pg_current_xact_id()``, filled in by the database).
    txid: Mapped[int | None] = mapped_column(BigInteger, server_default=FetchedValue(), index=True)
