"""Account rules: password hashing (argon2id), login with slow-down, account requests, rate limits."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from portal.accounts.models import AccountRequest, AccountRequestStatus, Role, ThrottleEvent, User
from portal.content.models import utcnow

_hasher = PasswordHasher()
#: Verified against when the login name is unknown, so both cases take the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))

MIN_PASSWORD = 10
#: Failed logins within LOGIN_WINDOW before we start refusing attempts for that name or address.
LOGIN_FREE_ATTEMPTS = 5
LOGIN_WINDOW = dt.timedelta(minutes=15)


class AccountError(Exception):
    """A refused account action; the message is Dutch."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message, self.status = message, status


class TooManyAttempts(AccountError):
    def __init__(self, message: str):
        super().__init__(message, 429)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_strength(password: str, email: str = "") -> str | None:
    if len(password) < MIN_PASSWORD:
        return f"Kies een wachtwoord van minstens {MIN_PASSWORD} tekens."
    if len(password) > 200:
        return "Het wachtwoord is te lang (maximaal 200 tekens)."
    if email and password.lower() == email.lower():
        return "Het wachtwoord mag niet gelijk zijn aan uw e-mailadres."
    return None


def _key(value: str) -> str:
    return hashlib.sha256(value.strip().lower().encode()).hexdigest()


def recent_events(dbsession: Session, kind: str, key: str, window: dt.timedelta) -> int:
    since = utcnow() - window
    return dbsession.scalar(select(func.count(ThrottleEvent.id)).where(
        ThrottleEvent.kind == kind, ThrottleEvent.key == _key(key), ThrottleEvent.created_at >= since)) or 0


def record_event(dbsession: Session, kind: str, key: str) -> None:
    dbsession.add(ThrottleEvent(kind=kind, key=_key(key)))


def check_rate(dbsession: Session, kind: str, key: str, limit: int, window: dt.timedelta) -> None:
    """Refuse (429) when ``key`` already did ``kind`` ``limit`` times within ``window``; else count this one."""
    if recent_events(dbsession, kind, key, window) >= limit:
        raise TooManyAttempts("U heeft dit formulier te vaak verstuurd. Probeer het later opnieuw.")
    record_event(dbsession, kind, key)


def login_delay(dbsession: Session, email: str, client: str) -> dt.timedelta | None:
    """After LOGIN_FREE_ATTEMPTS failures, each further failure doubles the wait (capped at the window)."""
    failures = max(recent_events(dbsession, "login", f"u:{email}", LOGIN_WINDOW),
                   recent_events(dbsession, "login", f"ip:{client}", LOGIN_WINDOW))
    if failures < LOGIN_FREE_ATTEMPTS:
        return None
    wait = min(dt.timedelta(seconds=30 * 2 ** (failures - LOGIN_FREE_ATTEMPTS)), LOGIN_WINDOW)
    last = dbsession.scalar(select(func.max(ThrottleEvent.created_at)).where(
        ThrottleEvent.kind == "login", ThrottleEvent.key.in_((_key(f"u:{email}"), _key(f"ip:{client}")))))
    if last is not None and utcnow() - last < wait:
        return wait - (utcnow() - last)
    return None


def authenticate(dbsession: Session, email: str, password: str, client: str) -> User:
    """The active user with this e-mail and password, or AccountError with one message for every failure."""
    email = (email or "").strip().lower()
    delay = login_delay(dbsession, email, client)
    if delay is not None:
        minutes = max(1, round(delay.total_seconds() / 60))
        raise TooManyAttempts(f"Te veel mislukte pogingen. Wacht ongeveer {minutes} minuut en probeer het dan "
                              "opnieuw.")
    user = dbsession.scalar(select(User).where(User.email == email)) if email else None
    try:
        _hasher.verify(user.password_hash if user is not None else _DUMMY_HASH, password or "")
        valid = user is not None and user.active
    except (VerificationError, InvalidHashError):
        valid = False
    if not valid:
        record_event(dbsession, "login", f"u:{email}")
        record_event(dbsession, "login", f"ip:{client}")
        raise AccountError("Deze combinatie van e-mailadres en wachtwoord is niet bekend, of het account is niet "
                           "actief.", 400)
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    dbsession.execute(delete(ThrottleEvent).where(ThrottleEvent.kind == "login",
                                                  ThrottleEvent.key == _key(f"u:{email}")))
    return user


def create_user(dbsession: Session, email: str, name: str, role: str, password_hash: str,
                organisation: str = "") -> User:
    email = email.strip().lower()
    if role not in Role.ALL:
        raise AccountError(f"Onbekende rol {role!r}; kies uit: {', '.join(Role.ALL)}.")
    if dbsession.scalar(select(User.id).where(User.email == email)) is not None:
        raise AccountError(f"Er bestaat al een account voor {email}.", 409)
    user = User(email=email, name=name.strip(), role=role, password_hash=password_hash,
                organisation=organisation.strip(), active=True, auth_epoch=1)
    dbsession.add(user)
    dbsession.flush()
    return user


def set_role(user: User, role: str) -> None:
    if role not in Role.ALL:
        raise AccountError(f"Onbekende rol {role!r}; kies uit: {', '.join(Role.ALL)}.")
    if user.role != role:
        user.role = role
        user.auth_epoch += 1  # running sessions pick up the new role only after logging in again


def set_active(user: User, active: bool) -> None:
    if user.active != active:
        user.active = active
        user.auth_epoch += 1


def set_password(user: User, password: str) -> None:
    problem = check_password_strength(password, user.email)
    if problem:
        raise AccountError(problem)
    user.password_hash = hash_password(password)
    user.auth_epoch += 1


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def request_account(dbsession: Session, *, email: str, name: str, organisation: str, region: str,
                    motivation: str, password: str) -> AccountRequest:
    email = email.strip().lower()
    problem = check_password_strength(password, email)
    if problem:
        raise AccountError(problem)
    request = AccountRequest(email=email, name=name.strip(), organisation=organisation.strip(),
                             region=region.strip(), motivation=motivation.strip(),
                             password_hash=hash_password(password), status=AccountRequestStatus.PENDING)
    dbsession.add(request)
    dbsession.flush()
    return request


def decide_request(dbsession: Session, account_request: AccountRequest, admin: User, approve: bool,
                   note: str = "") -> User | None:
    if account_request.status != AccountRequestStatus.PENDING:
        raise AccountError("Over deze aanvraag is al besloten.", 409)
    account_request.decided_by_id, account_request.decided_at = admin.id, utcnow()
    account_request.decision_note = note.strip()
    if not approve:
        account_request.status = AccountRequestStatus.DECLINED
        return None
    if dbsession.scalar(select(User.id).where(User.email == account_request.email)) is not None:
        raise AccountError(f"Er bestaat al een account voor {account_request.email}.", 409)
    account_request.status = AccountRequestStatus.APPROVED
    return create_user(dbsession, account_request.email, account_request.name, Role.CONTRIBUTOR,
                       account_request.password_hash, account_request.organisation)


def pending_requests(dbsession: Session) -> list[AccountRequest]:
    return list(dbsession.scalars(select(AccountRequest).where(AccountRequest.status == AccountRequestStatus.PENDING)
                                  .order_by(AccountRequest.created_at)))
