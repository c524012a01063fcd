"""Accounts: who may log in, with which role, and the traces we keep to slow down password guessing."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.content.models import Region, utcnow
from portal.models.meta import Base


class Role:
    """Roles of logged-in users (a visitor without an account is a bezoeker and has no row)."""

    CONTRIBUTOR = "bijdrager"
    #: Reviews and publishes the contributions located in the regions granted to them (RegionGrant), nothing else.
    COORDINATOR = "regiocoordinator"
    EDITOR = "redacteur"
    ADMIN = "beheerder"

    ALL: ClassVar[tuple[str, ...]] = (CONTRIBUTOR, COORDINATOR, EDITOR, ADMIN)
    LABELS: ClassVar[dict[str, str]] = {
        CONTRIBUTOR: "Bijdrager",
        COORDINATOR: "Regiocoördinator",
        EDITOR: "Redacteur",
        ADMIN: "Beheerder",
    }


class User(Base):
    """A person who can log in. The e-mail address is the login name."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Login name, stored lower-case.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    organisation: Mapped[str] = mapped_column(String(300), default="")
    #: One of Role.
    role: Mapped[str] = mapped_column(String(20), default=Role.CONTRIBUTOR)
    #: argon2id hash (never the password itself).
    password_hash: Mapped[str] = mapped_column(String(255))
    #: Disabled users cannot log in and their running sessions stop working.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Bumped on password reset, role change and disable: sessions carrying an older value are void.
    auth_epoch: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    #: When a regiocoördinator agreed to have name and organisation shown on the pages of their regions (None: no
    #: consent, nothing is shown). Set and withdrawn by the coordinator on /redactie.
    coordinator_public_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    @property
    def role_label(self) -> str:
        return Role.LABELS.get(self.role, self.role)


class RegionGrant(Base):
    """A regiocoördinator coordinates one region (provincie, jeugdregio or gemeente); a user may have several.

    A grant covers every contribution located in the region: a provincie all its jeugdregio's and gemeenten, a
    jeugdregio all its gemeenten (the mapping to permissions is in portal.security). Revoking keeps the row with who
    and when, so the record of who coordinated what stays; only rows without ``revoked_at`` count.
    """

    __tablename__ = "region_grants"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id", ondelete="CASCADE"), index=True)
    granted_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    region: Mapped[Region] = relationship()
    granted_by: Mapped[User | None] = relationship(foreign_keys=[granted_by_id])
    revoked_by: Mapped[User | None] = relationship(foreign_keys=[revoked_by_id])


class AccountRequestStatus:
    PENDING = "open"
    APPROVED = "goedgekeurd"
    DECLINED = "afgewezen"


class AccountRequest(Base):
    """Someone asking for a contributor account; a beheerder approves or declines it."""

    __tablename__ = "account_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    name: Mapped[str] = mapped_column(String(200))
    organisation: Mapped[str] = mapped_column(String(300), default="")
    region: Mapped[str] = mapped_column(String(200), default="")
    motivation: Mapped[str] = mapped_column(Text, default="")
    #: The password chosen when asking, already hashed; it becomes the user's hash on approval.
    password_hash: Mapped[str] = mapped_column(String(255))
    #: One of AccountRequestStatus.
    status: Mapped[str] = mapped_column(String(20), default=AccountRequestStatus.PENDING, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decision_note: Mapped[str] = mapped_column(Text, default="")

    decided_by: Mapped[User | None] = relationship()


class ThrottleEvent(Base):
    """One event that counts towards a rate limit: a failed login, a tip from the public form, an account request."""

    __tablename__ = "throttle_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: What is limited: "login", "aanmelding", "aanvraag".
    kind: Mapped[str] = mapped_column(String(20))
    #: Who is limited: a hashed login name or client address (never stored in the clear).
    key: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)


class UserSession(Base):
    """One logged-in browser. The cookie holds a random token; only its SHA-256 is stored, so a leaked table cannot
    be replayed. Deleting the row ends the session everywhere, whatever copies of the cookie exist."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: SHA-256 (hex) of the random token in the cookie; never the token itself.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: The user's auth_epoch at login: a role change or disabling the account voids the session.
    auth_epoch: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    #: Updated at most once a minute; the session ends after ``portal.session_idle_minutes`` without a request.
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    #: A short hint ("Firefox op Linux") for the user, never the address.
    user_agent: Mapped[str] = mapped_column(String(120), default="")


class FormStash(Base):
    """Form data posted after the session expired, kept for the user who logs in again, so nothing typed is lost."""

    __tablename__ = "form_stashes"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    #: The path of the form the data belongs to.
    path: Mapped[str] = mapped_column(String(300))
    #: The posted fields as (name, value) pairs, in order (Deform needs the order).
    controls: Mapped[list] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
