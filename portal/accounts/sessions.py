"""Server-side login sessions and password-reset links.

A login creates one ``UserSession`` row; the browser gets only a random token (cookie ``portal_sid``), the database
keeps only its SHA-256. Every web process reads the same rows, so deleting a row (logout, password change or reset)
ends that session everywhere, whatever copies of the cookie exist. A session also ends after
``portal.session_idle_minutes`` without a request, and when the user's ``auth_epoch`` moves on (role change,
disabling, a password reset by an administrator).

Password-reset links need no table: the token is ``<user id>.<expiry>.<HMAC>`` where the HMAC (key
``portal.secret``) also covers the user's current password hash and auth epoch. Once the password changes the
HMAC no longer matches, so every link is single-use and dies with the old password.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from portal.accounts.models import User, UserSession
from portal.content.models import utcnow

#: How long a session may be idle, unless ``portal.session_idle_minutes`` says otherwise.
DEFAULT_IDLE_MINUTES = 120
#: ``last_seen_at`` is written at most this often per session (a cheap, conditional UPDATE).
TOUCH_INTERVAL = dt.timedelta(minutes=1)
#: A password-reset link is valid this long.
RESET_VALID = dt.timedelta(hours=1)

_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,100}$")
_RESET_RE = re.compile(r"^(\d{1,12})\.(\d{1,12})\.([0-9a-f]{64})$")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def idle_limit(settings) -> dt.timedelta:
    try:
        minutes = float(settings.get("portal.session_idle_minutes", DEFAULT_IDLE_MINUTES))
    except (TypeError, ValueError):
        minutes = DEFAULT_IDLE_MINUTES
    return dt.timedelta(minutes=max(minutes, 0))


def agent_hint(user_agent: str | None) -> str:
    """A short description of the browser for the user's own overview; never the full string, never an address."""
    text = user_agent or ""
    browser = next((name for name in ("Edg", "Firefox", "Chrome", "Safari") if name in text), "")
    system = next((name for key, name in (("Windows", "Windows"), ("Android", "Android"), ("iPhone", "iOS"),
                                          ("Mac OS", "macOS"), ("Linux", "Linux")) if key in text), "")
    browser = {"Edg": "Edge"}.get(browser, browser)
    return (f"{browser} op {system}" if browser and system else browser or system or "onbekende browser")[:120]


def create_session(dbsession: Session, user: User, user_agent: str | None, idle: dt.timedelta) -> str:
    """A new session row for ``user``; returns the token for the cookie. Prunes rows that are idle too long."""
    prune(dbsession, idle)
    token = secrets.token_urlsafe(32)
    now = utcnow()
    dbsession.add(UserSession(token_hash=token_hash(token), user_id=user.id, auth_epoch=user.auth_epoch,
                              created_at=now, last_seen_at=now, user_agent=agent_hint(user_agent)))
    dbsession.flush()
    return token


def lookup(dbsession: Session, token: str | None, idle: dt.timedelta) -> tuple[UserSession, User] | None:
    """The live session and its (active) user for a cookie token, or None. Touches ``last_seen_at`` cheaply."""
    if not token or not _TOKEN_RE.match(token):
        return None
    row = dbsession.scalar(select(UserSession).where(UserSession.token_hash == token_hash(token)))
    if row is None:
        return None
    now = utcnow()
    if row.last_seen_at < now - idle:
        dbsession.delete(row)
        return None
    user = dbsession.get(User, row.user_id)
    if user is None or not user.active or user.auth_epoch != row.auth_epoch:
        return None
    if row.last_seen_at < now - TOUCH_INTERVAL:
        # Conditional on the old value: concurrent requests of one session write it at most once.
        dbsession.execute(update(UserSession).where(UserSession.id == row.id,
                                                    UserSession.last_seen_at < now - TOUCH_INTERVAL)
                          .values(last_seen_at=now).execution_options(synchronize_session=False))
    return row, user


def end_session(dbsession: Session, token: str | None) -> None:
    if token and _TOKEN_RE.match(token):
        dbsession.execute(delete(UserSession).where(UserSession.token_hash == token_hash(token)))


def end_sessions(dbsession: Session, user_id: int, keep_token: str | None = None) -> int:
    """End all sessions of a user (but the one with ``keep_token``); the number ended."""
    statement = delete(UserSession).where(UserSession.user_id == user_id)
    if keep_token:
        statement = statement.where(UserSession.token_hash != token_hash(keep_token))
    return dbsession.execute(statement.execution_options(synchronize_session=False)).rowcount or 0


def prune(dbsession: Session, idle: dt.timedelta) -> None:
    dbsession.execute(delete(UserSession).where(UserSession.last_seen_at < utcnow() - idle)
                      .execution_options(synchronize_session=False))


# --- password-reset links -------------------------------------------------------------------------------------

class ResetLinkError(Exception):
    """A refused reset link; the message is Dutch."""


def _reset_mac(secret: str, user: User, expires: int) -> str:
    message = f"password-reset|{user.id}|{expires}|{user.password_hash}|{user.auth_epoch}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def make_reset_token(secret: str, user: User, expires_at: dt.datetime | None = None) -> str:
    """A signed token for ``user``, valid until ``expires_at`` (default: an hour from now) or a password change."""
    expires_at = expires_at or utcnow() + RESET_VALID
    expires = int(expires_at.replace(tzinfo=dt.UTC).timestamp())
    return f"{user.id}.{expires}.{_reset_mac(secret, user, expires)}"


def check_reset_token(dbsession: Session, secret: str, token: str) -> User:
    """The user a valid reset token belongs to, or ResetLinkError with a Dutch message."""
    match = _RESET_RE.match(token or "")
    if match is None:
        raise ResetLinkError("Deze link om uw wachtwoord te herstellen is niet geldig. Controleer of u de hele link "
                             "uit de e-mail heeft gebruikt, of vraag een nieuwe link aan.")
    user_id, expires, mac = int(match.group(1)), int(match.group(2)), match.group(3)
    now = int(utcnow().replace(tzinfo=dt.UTC).timestamp())
    if expires < now:
        raise ResetLinkError("Deze link om uw wachtwoord te herstellen is verlopen: een link is één uur geldig. "
                             "Vraag een nieuwe link aan.")
    user = dbsession.get(User, user_id)
    if user is None or not user.active or not hmac.compare_digest(_reset_mac(secret, user, expires), mac):
        raise ResetLinkError("Deze link om uw wachtwoord te herstellen is al gebruikt of niet meer geldig: uw "
                             "wachtwoord is sindsdien gewijzigd. Vraag zo nodig een nieuwe link aan.")
    return user
