"""Account rules: password hashing (argon2id), login with slow-down, account requests, rate limits."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import secrets
from dataclasses import dataclass

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

# --- Throttling rules ------------------------------------------------------------------------------------------
#
# Login failures are counted per (account, address) PAIR and, much more loosely, per ADDRESS; never per account alone,
# so nobody can lock someone else out by guessing at their e-mail address, and people who share one public address
# (a school, a municipality) do not lock each other out.
#
# 1. Pair: after LOGIN_PAIR_FREE failures of one e-mail address from one client address within LOGIN_PAIR_WINDOW,
#    that pair waits 30 s before its next attempt, doubling with every further failure, at most LOGIN_PAIR_MAX_WAIT.
#    While it waits, every attempt of that pair is answered 429 (with Retry-After) without checking the password.
#    A successful login clears the pair's failures.
# 2. Address: once a client address has LOGIN_ADDRESS_LIMIT failures (any e-mail address, known or not) within
#    LOGIN_ADDRESS_WINDOW, the address is slowed until enough of them are older than the window: an attempt for an
#    e-mail address that already failed from this address in that window is answered 429 at once, and a wrong
#    password is answered 429 instead of 400. A correct password for an account WITHOUT failures from this address
#    in the window is never refused, so colleagues behind the same address keep logging in. (Known and unknown
#    e-mail addresses are treated exactly alike, so the answers reveal nothing about which accounts exist.)
# 3. Someone whose account is being guessed at from elsewhere can always log in from their own address: there is no
#    per-account limit at all.
# 4. Public forms (tip form, account request): at most FORM_LIMIT submissions per client address per FORM_WINDOW,
#    generous enough for a school that shares one address; the 429 page says how long to wait and keeps the input.
#
# Throttle rows older than PRUNE_AFTER are deleted whenever a new one is written (one indexed range delete).
# The numbers can be changed in the ini file, see ThrottleRules.from_settings.
LOGIN_PAIR_FREE = 5
LOGIN_PAIR_WINDOW = dt.timedelta(minutes=15)
LOGIN_PAIR_FIRST_WAIT = dt.timedelta(seconds=30)
LOGIN_PAIR_MAX_WAIT = dt.timedelta(minutes=15)
LOGIN_ADDRESS_LIMIT = 200
LOGIN_ADDRESS_WINDOW = dt.timedelta(hours=1)
FORM_LIMIT = 20
FORM_WINDOW = dt.timedelta(hours=1)
PRUNE_AFTER = dt.timedelta(days=1)


@dataclass(frozen=True)
class ThrottleRules:
    login_pair_free: int = LOGIN_PAIR_FREE
    login_address_limit: int = LOGIN_ADDRESS_LIMIT
    form_limit: int = FORM_LIMIT

    @classmethod
    def from_settings(cls, settings) -> ThrottleRules:
        """``portal.login_pair_attempts``, ``portal.login_address_limit`` (per hour), ``portal.form_limit`` (per
        hour and address, for each public form)."""
        settings = settings or {}
        return cls(login_pair_free=int(settings.get("portal.login_pair_attempts", LOGIN_PAIR_FREE)),
                   login_address_limit=int(settings.get("portal.login_address_limit", LOGIN_ADDRESS_LIMIT)),
                   form_limit=int(settings.get("portal.form_limit", FORM_LIMIT)))


class AccountError(Exception):
    """A refused account action; the message is Dutch."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message, self.status = message, status


class TooManyAttempts(AccountError):
    """429: the message says how long to wait; ``retry_after`` is that wait in whole seconds (for Retry-After)."""

    def __init__(self, message: str, retry_after: int = 60):
        super().__init__(message, 429)
        self.retry_after = max(1, int(retry_after))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(password_hash: str, password: str) -> bool:
    """Whether ``password`` fits ``password_hash`` (a damaged hash never matches)."""
    try:
        return _hasher.verify(password_hash, password or "")
    except (VerificationError, InvalidHashError):
        return False


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


def _pair(email: str, client: str) -> str:
    return f"pair:{email.strip().lower()}|{client}"


def _address(client: str) -> str:
    return f"addr:{client}"


def _seconds(delta: dt.timedelta) -> int:
    return max(1, math.ceil(delta.total_seconds()))


def wait_text(seconds: int) -> str:
    """Dutch: "1 minuut", "3 minuten" (rounded up, at least one minute)."""
    minutes = max(1, math.ceil(seconds / 60))
    return "1 minuut" if minutes == 1 else f"{minutes} minuten"


def recent_events(dbsession: Session, kind: str, key: str, window: dt.timedelta) -> int:
    since = utcnow() - window
    return dbsession.scalar(select(func.count(ThrottleEvent.id)).where(
        ThrottleEvent.kind == kind, ThrottleEvent.key == _key(key), ThrottleEvent.created_at >= since)) or 0


def prune_events(dbsession: Session) -> None:
    """Forget throttle rows older than PRUNE_AFTER (no rule looks back that far)."""
    dbsession.execute(delete(ThrottleEvent).where(ThrottleEvent.created_at < utcnow() - PRUNE_AFTER))


def record_event(dbsession: Session, kind: str, key: str) -> None:
    prune_events(dbsession)
    dbsession.add(ThrottleEvent(kind=kind, key=_key(key)))


def _over_limit_for(dbsession: Session, kind: str, key: str, limit: int, window: dt.timedelta) -> int | None:
    """None while ``key`` has fewer than ``limit`` events of ``kind`` in ``window``; else the seconds until it has
    limit - 1 again (when the (count - limit + 1)th oldest event leaves the window)."""
    now = utcnow()
    count = recent_events(dbsession, kind, key, window)
    if count < max(1, limit):
        return None
    oldest_needed = dbsession.scalar(
        select(ThrottleEvent.created_at)
        .where(ThrottleEvent.kind == kind, ThrottleEvent.key == _key(key), ThrottleEvent.created_at >= now - window)
        .order_by(ThrottleEvent.created_at, ThrottleEvent.id).offset(count - max(1, limit)).limit(1))
    return _seconds(oldest_needed + window - now) if oldest_needed is not None else _seconds(window)


def check_rate(dbsession: Session, kind: str, key: str, limit: int, window: dt.timedelta) -> None:
    """Refuse (429) when ``key`` already did ``kind`` ``limit`` times within ``window``; else count this one."""
    wait = _over_limit_for(dbsession, kind, key, limit, window)
    if wait is not None:
        raise TooManyAttempts(f"Dit formulier is vanaf uw netwerk te vaak verstuurd. Probeer het over "
                              f"{wait_text(wait)} opnieuw; wat u invulde staat hieronder nog klaar.", wait)
    record_event(dbsession, kind, key)


def pair_wait(dbsession: Session, email: str, client: str,
              free: int = LOGIN_PAIR_FREE) -> int | None:
    """Seconds this (account, address) pair still has to wait, or None. After ``free`` failures within
    LOGIN_PAIR_WINDOW: 30 s after the last failure, doubling with each further failure, at most LOGIN_PAIR_MAX_WAIT."""
    key = _pair(email, client)
    failures = recent_events(dbsession, "login", key, LOGIN_PAIR_WINDOW)
    if failures < max(1, free):
        return None
    wait = min(LOGIN_PAIR_FIRST_WAIT * 2 ** min(failures - free, 20), LOGIN_PAIR_MAX_WAIT)
    last = dbsession.scalar(select(func.max(ThrottleEvent.created_at)).where(
        ThrottleEvent.kind == "login", ThrottleEvent.key == _key(key)))
    if last is not None and utcnow() - last < wait:
        return _seconds(wait - (utcnow() - last))
    return None


def _address_message(seconds: int) -> str:
    return (f"Vanaf uw netwerk zijn te veel mislukte inlogpogingen gedaan. Probeer het over {wait_text(seconds)} "
            "opnieuw, of log in vanaf een ander netwerk.")


def authenticate(dbsession: Session, email: str, password: str, client: str,
                 rules: ThrottleRules | None = None) -> User:
    """The active user with this e-mail and password, or AccountError with one message for every failure.

    The throttling rules are described at the top of this module (pair, then address; never per account)."""
    rules = rules or ThrottleRules()
    email = (email or "").strip().lower()
    pair = _pair(email, client)
    wait = pair_wait(dbsession, email, client, rules.login_pair_free)
    if wait is not None:
        raise TooManyAttempts(f"Te veel mislukte pogingen voor dit account vanaf uw netwerk. Probeer het over "
                              f"{wait_text(wait)} opnieuw.", wait)
    address_wait = _over_limit_for(dbsession, "login", _address(client), rules.login_address_limit,
                                   LOGIN_ADDRESS_WINDOW)
    if address_wait is not None and recent_events(dbsession, "login", pair, LOGIN_ADDRESS_WINDOW):
        raise TooManyAttempts(_address_message(address_wait), address_wait)
    user = dbsession.scalar(select(User).where(User.email == email)) if email else None
    # Always verify (against a dummy hash for unknown addresses), so the answer takes as long either way.
    matches = password_matches(user.password_hash if user is not None else _DUMMY_HASH, password)
    valid = matches and user is not None and user.active
    if not valid:
        record_event(dbsession, "login", pair)
        record_event(dbsession, "login", _address(client))
        if address_wait is not None:
            raise TooManyAttempts(_address_message(address_wait), address_wait)
        raise AccountError("Deze combinatie van e-mailadres en wachtwoord is niet bekend, of het account is niet "
                           "actief.", 400)
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    dbsession.execute(delete(ThrottleEvent).where(ThrottleEvent.kind == "login", ThrottleEvent.key == _key(pair)))
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
