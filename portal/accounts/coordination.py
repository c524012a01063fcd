"""Regional coordination: which regiocoördinator coordinates which regions, granted and revoked by a beheerder.

What a grant allows is mapped in portal.security (region principals); this module only keeps the records. Nothing
here commits: pyramid_tm (or the script's unit of work) owns the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.accounts import services as accounts
from portal.accounts.models import RegionGrant, Role, User
from portal.content.models import Region, RegionKind, utcnow

#: Roles that can be given regions: a bijdrager becomes regiocoördinator by the first grant. Editors and beheerders
#: already see every region.
GRANTABLE_ROLES = (Role.CONTRIBUTOR, Role.COORDINATOR)

KIND_ORDER = (RegionKind.PROVINCE, RegionKind.YOUTH_REGION, RegionKind.MUNICIPALITY)
KIND_LABELS = {RegionKind.PROVINCE: "Provincies", RegionKind.YOUTH_REGION: "Jeugdregio's",
               RegionKind.MUNICIPALITY: "Gemeenten"}


def active_grants(dbsession: Session, user: User | None = None) -> list[RegionGrant]:
    """Grants in force (not revoked), of one user or of everyone, ordered by region kind and name."""
    statement = (select(RegionGrant).join(Region, Region.id == RegionGrant.region_id)
                 .where(RegionGrant.revoked_at.is_(None)).order_by(Region.position, Region.name, RegionGrant.id))
    if user is not None:
        statement = statement.where(RegionGrant.user_id == user.id)
    return list(dbsession.scalars(statement))


def granted_region_ids(dbsession: Session, user: User) -> set[int]:
    return set(dbsession.scalars(select(RegionGrant.region_id).where(RegionGrant.user_id == user.id,
                                                                     RegionGrant.revoked_at.is_(None))))


def grant(dbsession: Session, user: User, region: Region, by: User) -> bool:
    """Let ``user`` coordinate ``region``; False when that grant is already in force. A bijdrager becomes
    regiocoördinator (a role change: their sessions end, as with every role change)."""
    if user.role not in GRANTABLE_ROLES:
        raise accounts.AccountError(f"{user.name} is {user.role_label.lower()} en ziet alle regio's al; alleen "
                                    "een bijdrager of regiocoördinator kan regio's coördineren.")
    if not user.active:
        raise accounts.AccountError(f"Het account van {user.name} is uitgeschakeld.")
    if region.id in granted_region_ids(dbsession, user):
        return False
    dbsession.add(RegionGrant(user_id=user.id, region_id=region.id, granted_by_id=by.id, granted_at=utcnow()))
    accounts.set_role(user, Role.COORDINATOR)
    dbsession.flush()
    return True


def revoke(dbsession: Session, user: User, region: Region, by: User) -> bool:
    """End ``user``'s coordination of ``region`` (the row stays, with who and when). False when there was none.
    Without any region left a regiocoördinator is a bijdrager again."""
    rows = list(dbsession.scalars(select(RegionGrant).where(
        RegionGrant.user_id == user.id, RegionGrant.region_id == region.id, RegionGrant.revoked_at.is_(None))))
    if not rows:
        return False
    now = utcnow()
    for row in rows:
        row.revoked_at, row.revoked_by_id = now, by.id
    dbsession.flush()
    if user.role == Role.COORDINATOR and not granted_region_ids(dbsession, user):
        accounts.set_role(user, Role.CONTRIBUTOR)
    return True


def set_public(user: User, consent: bool) -> None:
    """The coordinator's own choice to be named (name and organisation) on the pages of their regions."""
    if consent and user.coordinator_public_at is None:
        user.coordinator_public_at = utcnow()
    elif not consent:
        user.coordinator_public_at = None


def coordinators_of(dbsession: Session, region_ids: Iterable[int]) -> list[tuple[User, Region]]:
    """Active regiocoördinatoren with a grant on one of ``region_ids``, with the region of that grant."""
    ids = set(region_ids)
    if not ids:
        return []
    rows = dbsession.execute(
        select(User, Region).join(RegionGrant, RegionGrant.user_id == User.id)
        .join(Region, Region.id == RegionGrant.region_id)
        .where(RegionGrant.region_id.in_(ids), RegionGrant.revoked_at.is_(None), User.active.is_(True),
               User.role == Role.COORDINATOR)
        .order_by(Region.position, User.name, User.id)).all()
    seen: set[tuple[int, int]] = set()
    result = []
    for user, region in rows:
        if (user.id, region.id) not in seen:
            seen.add((user.id, region.id))
            result.append((user, region))
    return result


def region_and_parents(region: Region) -> set[int]:
    """A region with the regions it lies in: a gemeente's jeugdregio and provincie, a jeugdregio's provincie."""
    ids = {region.id, region.province_id}
    if region.kind == RegionKind.MUNICIPALITY:
        ids.add(region.youth_region_id)
    return {i for i in ids if i is not None}


def public_coordinators(dbsession: Session, region: Region) -> list[tuple[User, Region]]:
    """Who may be named as regiocoördinator on ``region``'s page: coordinators of the region itself or of a region
    it lies in, only those who gave their consent."""
    return [(user, granted) for user, granted in coordinators_of(dbsession, region_and_parents(region))
            if user.coordinator_public_at is not None]


def regions_by_kind(dbsession: Session) -> list[tuple[str, list[Region]]]:
    """Every region, for the beheerder's choice list: provincies, jeugdregio's, gemeenten, each by name."""
    regions = list(dbsession.scalars(select(Region).order_by(Region.name, Region.id)))
    return [(KIND_LABELS[kind], [r for r in regions if r.kind == kind]) for kind in KIND_ORDER]
