"""Workflow records kept next to a PracticeExample: ownership, revisions, transitions, remarks and public tips.

The ``practice_examples`` row is what the public sees once it is published. Until then it holds the contribution
being written (invisible, because only Status.PUBLISHED is ever public). Edits to a *published* item go to a working
copy (``ExampleWorkflow.copy_data``), so the public keeps the published text until an editor publishes the change.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.accounts.models import User
from portal.content.models import PracticeExample, utcnow
from portal.models.meta import Base


class ExampleWorkflow(Base):
    """Editorial bookkeeping of one practice example (created when it is first edited through the web)."""

    __tablename__ = "example_workflows"

    example_id: Mapped[int] = mapped_column(
        ForeignKey("practice_examples.id", ondelete="CASCADE"), primary_key=True)
    #: The contributor who made it; empty for items that came from content/ files.
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    #: Optimistic lock: every save and transition bumps it; a form posted with an older value is refused.
    version: Mapped[int] = mapped_column(Integer, default=1)
    #: Working copy of a published item (snapshot dict), or None when there is no pending change.
    copy_data: Mapped[dict | None] = mapped_column(JSON)
    #: Workflow state of the working copy (concept, ingediend, teruggestuurd), None without a copy.
    copy_status: Mapped[str | None] = mapped_column(String(20))
    #: When the item (or its copy) was last submitted: the queue is ordered oldest first on this.
    submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime, index=True)
    #: Revision number that is live on the public site, if any.
    published_revision: Mapped[int | None] = mapped_column(Integer)
    #: Random token of the form that created the item: a double-clicked "save" is stored once.
    creation_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    example: Mapped[PracticeExample] = relationship()
    owner: Mapped[User | None] = relationship()

    # UPDATE ... WHERE version = <the version we read>: a concurrent writer makes the flush fail instead of
    # overwriting. We bump the number ourselves (every save and transition), also when only the example changed.
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}  # noqa: RUF012


class Revision(Base):
    """A full snapshot of the editable fields, written on every save (and on restore and publication)."""

    __tablename__ = "revisions"
    __table_args__ = (UniqueConstraint("example_id", "number", name="uq_revisions_example_id_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    example_id: Mapped[int] = mapped_column(ForeignKey("practice_examples.id", ondelete="CASCADE"), index=True)
    #: 1, 2, 3... per example.
    number: Mapped[int] = mapped_column(Integer)
    #: The snapshot (see portal.workflow.snapshot).
    data: Mapped[dict] = mapped_column(JSON)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    #: Why this revision exists: "opgeslagen", "hersteld uit revisie 3", "ingeladen"...
    note: Mapped[str] = mapped_column(String(200), default="")
    #: True for a revision of a working copy of a published item.
    on_copy: Mapped[bool] = mapped_column(Boolean, default=False)

    author: Mapped[User | None] = relationship()


class Transition(Base):
    """One workflow step, with who, when and why. Only legal steps are ever written (see workflow.services)."""

    __tablename__ = "transitions"

    id: Mapped[int] = mapped_column(primary_key=True)
    example_id: Mapped[int] = mapped_column(ForeignKey("practice_examples.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    #: The step applied to the working copy of a published item rather than the item itself.
    on_copy: Mapped[bool] = mapped_column(Boolean, default=False)
    revision: Mapped[int | None] = mapped_column(Integer)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    actor: Mapped[User | None] = relationship()


class Remark(Base):
    """An editor's remark on one field of one revision; only the contributor and editors ever see it."""

    __tablename__ = "remarks"

    id: Mapped[int] = mapped_column(primary_key=True)
    example_id: Mapped[int] = mapped_column(ForeignKey("practice_examples.id", ondelete="CASCADE"), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    #: Field name from portal.workflow.snapshot.FIELD_LABELS.
    field: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    author: Mapped[User | None] = relationship()


class CaseTip(Base):
    """A tip from the public form /voorbeeld-aanmelden: someone points the editors to a case worth writing up."""

    __tablename__ = "case_tips"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    organisation: Mapped[str] = mapped_column(String(300), default="")
    description: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    #: Handled tips leave the queue.
    handled: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    handled_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    handled_by: Mapped[User | None] = relationship()
