"""The one security policy of the portal and the one place where permissions are named and mapped to roles.

Identity comes from the signed session cookie (user id + the user's auth epoch, re-checked against the database on
every request, so disabling a user or resetting a password ends their sessions). Authorisation is ACL based: the
resource factories below carry ``__acl__`` built from ROLE_PERMISSIONS; every view declares one of Permissions and
``set_default_permission`` denies views that forget to. CSRF is checked on every unsafe request.
"""

from __future__ import annotations

import secrets

from pyramid.authorization import ALL_PERMISSIONS, DENY_ALL, ACLHelper, Allow, Authenticated, Everyone
from pyramid.csrf import CookieCSRFStoragePolicy
from pyramid.httpexceptions import HTTPNotFound
from pyramid.session import SignedCookieSessionFactory
from pyramid.settings import asbool

from portal.accounts.models import Role, User
from portal.content.models import PracticeExample
from portal.workflow.models import CaseTip, ExampleWorkflow


class Permissions:
    """Every permission a view can declare. Views never use string literals."""

    VIEW = "view"  # read published content, log in, request an account, tip the editors
    ACCOUNT = "account"  # any logged-in user: own account pages
    CONTRIBUTE = "contribute"  # write contributions, list one's own
    EDIT = "edit"  # edit one contribution (its owner while it is theirs to edit, or an editor)
    REVIEW = "review"  # editors' queue, review, publish/return/reject, history, restore
    MANAGE_USERS = "manage-users"  # approve account requests, roles, disabling


#: Which role may do what. Roles are cumulative on purpose: an editor can also contribute.
ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    Role.CONTRIBUTOR: (Permissions.ACCOUNT, Permissions.CONTRIBUTE),
    Role.EDITOR: (Permissions.ACCOUNT, Permissions.CONTRIBUTE, Permissions.REVIEW, Permissions.EDIT),
}


def role_principal(role: str) -> str:
    return f"role:{role}"


def user_principal(user_id: int) -> str:
    return f"user:{user_id}"


def _base_acl() -> list:
    acl: list = [(Allow, Everyone, Permissions.VIEW)]
    for role, permissions in ROLE_PERMISSIONS.items():
        acl.append((Allow, role_principal(role), permissions))
    acl.append((Allow, role_principal(Role.ADMIN), ALL_PERMISSIONS))
    acl.append(DENY_ALL)
    return acl


class Root:
    """Default context: published content is readable by everyone; the rest follows ROLE_PERMISSIONS."""

    def __init__(self, request):
        self.request = request

    @property
    def __acl__(self):
        return _base_acl()


class ContributionResource:
    """One practice example reached by id: its owner may edit it, besides the roles in ROLE_PERMISSIONS."""

    def __init__(self, request):
        self.request = request
        raw = request.matchdict.get("id", "")
        if not raw.isdigit() or len(raw) > 12:
            raise HTTPNotFound("Deze bijdrage bestaat niet.")
        self.example = request.dbsession.get(PracticeExample, int(raw))
        if self.example is None:
            raise HTTPNotFound("Deze bijdrage bestaat niet.")
        self.workflow = request.dbsession.get(ExampleWorkflow, self.example.id)

    @property
    def __acl__(self):
        acl = []
        if self.workflow is not None and self.workflow.owner_id is not None:
            acl.append((Allow, user_principal(self.workflow.owner_id), Permissions.EDIT))
        return acl + _base_acl()


class CaseTipResource(Root):
    def __init__(self, request):
        super().__init__(request)
        raw = request.matchdict.get("id", "")
        self.tip = request.dbsession.get(CaseTip, int(raw)) if raw.isdigit() and len(raw) < 12 else None
        if self.tip is None:
            raise HTTPNotFound("Deze aanmelding bestaat niet.")


class SessionSecurityPolicy:
    """Session-based identity with ACL authorisation (one policy for pages, API, search, feeds and previews)."""

    def __init__(self):
        self.helper = ACLHelper()

    def identity(self, request) -> User | None:
        # Cached per request; reified attributes cannot be reset, hence the explicit cache.
        if "portal.identity" in request.environ:
            return request.environ["portal.identity"]
        user = None
        user_id, epoch = request.session.get("uid"), request.session.get("epoch")
        if isinstance(user_id, int) and isinstance(epoch, int):
            candidate = request.dbsession.get(User, user_id)
            if candidate is not None and candidate.active and candidate.auth_epoch == epoch:
                user = candidate
        request.environ["portal.identity"] = user
        return user

    def authenticated_userid(self, request):
        user = self.identity(request)
        return None if user is None else user.id

    def effective_principals(self, request) -> list[str]:
        principals = [Everyone]
        user = self.identity(request)
        if user is not None:
            principals += [Authenticated, user_principal(user.id), role_principal(user.role)]
        return principals

    def permits(self, request, context, permission):
        return self.helper.permits(context, self.effective_principals(request), permission)

    def remember(self, request, userid, **kw):
        """Log in: a brand-new session (new id, nothing carried over but what the caller passes in ``keep``)."""
        user = request.dbsession.get(User, userid)
        keep = kw.get("keep") or {}
        request.session.invalidate()
        request.session.update(keep)
        request.session["uid"] = user.id
        request.session["epoch"] = user.auth_epoch
        request.session["sid"] = secrets.token_urlsafe(24)
        request.environ["portal.identity"] = user
        return []

    def forget(self, request, **kw):
        request.session.invalidate()
        request.environ["portal.identity"] = None
        return []


def includeme(config):
    settings = config.get_settings()
    secret = settings.get("portal.secret") or ""
    if len(secret) < 16:
        raise ValueError("portal.secret must be set to a long random value")
    secure = asbool(settings.get("portal.secure_cookies", True))
    config.set_session_factory(SignedCookieSessionFactory(
        secret, cookie_name="portal_session", httponly=True, secure=secure, samesite="Lax",
        timeout=int(settings.get("portal.session_timeout", 4 * 3600)), reissue_time=300, hashalg="sha512",
    ))
    config.set_security_policy(SessionSecurityPolicy())
    config.set_csrf_storage_policy(CookieCSRFStoragePolicy(
        cookie_name="portal_csrf", secure=secure, httponly=True, samesite="Lax"))
    config.set_default_csrf_options(require_csrf=True)
    config.set_root_factory(Root)
    # Deny by default: a view without an explicit permission still needs VIEW.
    config.set_default_permission(Permissions.VIEW)
