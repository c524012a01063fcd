"""The one security policy of the portal and the one place where permissions are named and mapped to roles.

Identity comes from a server-side session (portal.accounts.sessions): the ``portal_sid`` cookie (HttpOnly,
SameSite=Lax, Secure per ``portal.secure_cookies``) carries only a random token; the ``user_sessions`` table keeps its
hash, the user, the auth epoch at login and when it was last used. So every web process sees the same state, logging
out deletes the row (a copied cookie is refused afterwards), changing or resetting a password ends the user's other
sessions, and a session ends after ``portal.session_idle_minutes`` (default 120) without a request, or when the
user's auth epoch moves on (role change, disabling). Login always starts a new session (no fixation) and prunes
expired rows. The signed cookie session (``portal_session``) only carries flash messages and a display hint for error
pages; it never decides who someone is. Authorisation is ACL based: the
resource factories below carry ``__acl__`` built from ROLE_PERMISSIONS; every view declares one of Permissions and
``set_default_permission`` denies views that forget to. CSRF is checked on every unsafe request.

Regiocoördinatoren: a beheerder grants regions (portal.accounts.coordination); each active grant on region R makes
the principal ``region:R`` (only while the user's role is regiocoördinator), and an item's ACL grants
REGION_PERMISSIONS to the principals of the regions it lies in (its gemeente, that gemeente's jeugdregio and
provincie). The workflow and the queue lists ask the same rules through ``user_may`` / ``permits``.
"""

from __future__ import annotations

from pyramid.authorization import ALL_PERMISSIONS, DENY_ALL, ACLHelper, Allow, Authenticated, Everyone
from pyramid.csrf import CookieCSRFStoragePolicy
from pyramid.httpexceptions import HTTPNotFound
from pyramid.session import SignedCookieSessionFactory
from pyramid.settings import asbool
from webob.cookies import make_cookie

from portal.accounts import coordination, sessions
from portal.accounts.models import Role, User
from portal.content.models import PracticeExample
from portal.inputs import parse_id
from portal.workflow.models import CaseTip, ExampleWorkflow


class Permissions:
    """Every permission a view can declare. Views never use string literals."""

    VIEW = "view"  # read published content, log in, request an account, tip the editors
    ACCOUNT = "account"  # any logged-in user: own account pages
    CONTRIBUTE = "contribute"  # write contributions, list one's own
    EDIT = "edit"  # edit one contribution (its owner while it is theirs to edit, or an editor)
    QUEUE = "queue"  # the queue /redactie: editors see every item, a coordinator only those of their regions
    REVIEW = "review"  # review one item, publish/return/reject, take offline, edit as reviewer, history, restore
    COORDINATE = "coordinate"  # a coordinator's own settings (being named on the pages of their regions)
    MANAGE_USERS = "manage-users"  # approve account requests, roles, disabling, granting regions


#: Which role may do what, everywhere. Roles are cumulative on purpose: an editor can also contribute.
ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    Role.CONTRIBUTOR: (Permissions.ACCOUNT, Permissions.CONTRIBUTE),
    Role.COORDINATOR: (Permissions.ACCOUNT, Permissions.CONTRIBUTE, Permissions.QUEUE, Permissions.COORDINATE),
    Role.EDITOR: (Permissions.ACCOUNT, Permissions.CONTRIBUTE, Permissions.QUEUE, Permissions.REVIEW,
                  Permissions.EDIT),
}

#: What a regiocoördinator may do on one item located in a region granted to them (and nowhere else): a grant on
#: region R gives the principal ``region:R`` (``coordinator_principals``), and an item's ACL allows these to the
#: principals of the regions it lies in (``item_region_ids``: its gemeente, that gemeente's jeugdregio and
#: provincie). So a grant on a provincie covers all its gemeenten, a jeugdregio all its gemeenten, a gemeente itself.
REGION_PERMISSIONS: tuple[str, ...] = (Permissions.REVIEW,)


def role_principal(role: str) -> str:
    return f"role:{role}"


def user_principal(user_id: int) -> str:
    return f"user:{user_id}"


def region_principal(region_id: int) -> str:
    return f"region:{region_id}"


def item_region_ids(example: PracticeExample) -> set[int]:
    """The regions an item lies in: its gemeente with that gemeente's jeugdregio and provincie, and the jeugdregio
    and provincie stored on the item (items without a gemeente name only those)."""
    ids = {example.gemeente_id, example.youth_region_id, example.province_id}
    if example.gemeente is not None:
        ids |= {example.gemeente.youth_region_id, example.gemeente.province_id}
    return {i for i in ids if i is not None}


def principals_for(dbsession, user: User | None) -> list[str]:
    """Everything ``user`` acts as: the role, and for a regiocoördinator each region granted to them."""
    principals = [Everyone]
    if user is None:
        return principals
    principals += [Authenticated, user_principal(user.id), role_principal(user.role)]
    if user.role == Role.COORDINATOR:
        principals += [region_principal(r) for r in sorted(coordination.granted_region_ids(dbsession, user))]
    return principals


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


def item_acl(example: PracticeExample, workflow: ExampleWorkflow | None) -> list:
    """One item: its owner may edit it, coordinators of its regions may review it, besides ROLE_PERMISSIONS."""
    acl: list = []
    if workflow is not None and workflow.owner_id is not None:
        acl.append((Allow, user_principal(workflow.owner_id), Permissions.EDIT))
    for region_id in sorted(item_region_ids(example)):
        acl.append((Allow, region_principal(region_id), REGION_PERMISSIONS))
    return acl + _base_acl()


def user_has(dbsession, user: User | None, permission: str) -> bool:
    """Whether ``user`` has ``permission`` outside any one item (the default context, Root)."""
    return bool(ACLHelper().permits(Root(None), principals_for(dbsession, user), permission))


class ItemContext:
    """An item as a permission context, for checks outside its own routes (the queue lists, the workflow)."""

    def __init__(self, example: PracticeExample, workflow: ExampleWorkflow | None):
        self.example, self.workflow = example, workflow

    @property
    def __acl__(self):
        return item_acl(self.example, self.workflow)


def permits(principals: list[str], example: PracticeExample, workflow: ExampleWorkflow | None,
            permission: str) -> bool:
    return bool(ACLHelper().permits(ItemContext(example, workflow), principals, permission))


def user_may(dbsession, user: User | None, example: PracticeExample, workflow: ExampleWorkflow | None,
             permission: str) -> bool:
    """Whether ``user`` has ``permission`` on one item (the same rules as the item's pages)."""
    return permits(principals_for(dbsession, user), example, workflow, permission)


class ContributionResource(ItemContext):
    """One practice example reached by id (see item_acl)."""

    def __init__(self, request):
        self.request = request
        example_id = parse_id(request.matchdict.get("id", ""))
        example = request.dbsession.get(PracticeExample, example_id) if example_id is not None else None
        if example is None:
            raise HTTPNotFound("Deze bijdrage bestaat niet.")
        super().__init__(example, request.dbsession.get(ExampleWorkflow, example.id))


class CaseTipResource(Root):
    def __init__(self, request):
        super().__init__(request)
        tip_id = parse_id(request.matchdict.get("id", ""))
        self.tip = request.dbsession.get(CaseTip, tip_id) if tip_id is not None else None
        if self.tip is None:
            raise HTTPNotFound("Deze aanmelding bestaat niet.")


SESSION_COOKIE = "portal_sid"


class SessionSecurityPolicy:
    """Server-side sessions with ACL authorisation (one policy for pages, API, search, feeds and previews)."""

    def __init__(self, secure: bool = True):
        self.helper = ACLHelper()
        self.secure = secure

    def identity(self, request) -> User | None:
        # Cached per request; reified attributes cannot be reset, hence the explicit cache.
        if "portal.identity" in request.environ:
            return request.environ["portal.identity"]
        token = request.cookies.get(SESSION_COOKIE)
        # No cookie, no session: an anonymous request opens no database session for this.
        found = sessions.lookup(request.dbsession, token, sessions.idle_limit(request.registry.settings)) if token \
            else None
        user = found[1] if found else None
        request.environ["portal.identity"] = user
        return user

    def authenticated_userid(self, request):
        user = self.identity(request)
        return None if user is None else user.id

    def effective_principals(self, request) -> list[str]:
        user = self.identity(request)
        cached = request.environ.get("portal.principals")
        if cached is not None and cached[0] is user:
            return cached[1]
        # request.dbsession opens a session (and joins the transaction): anonymous visitors need none.
        principals = principals_for(None if user is None else request.dbsession, user)
        request.environ["portal.principals"] = (user, principals)
        return principals

    def permits(self, request, context, permission):
        return self.helper.permits(context, self.effective_principals(request), permission)

    def _cookie(self, request, token: str | None) -> list[tuple[str, str]]:
        header = make_cookie(SESSION_COOKIE, token, path="/", secure=self.secure, httponly=True, samesite="lax",
                             max_age=0 if token is None else None)
        request.environ["portal.session_token"] = token
        return [("Set-Cookie", header)]

    def current_token(self, request) -> str | None:
        """The session token of this request (the one just issued, after remember())."""
        return request.environ.get("portal.session_token", request.cookies.get(SESSION_COOKIE))

    def remember(self, request, userid, **kw):
        """Log in: a brand-new session row and cookie (the old ones end), a fresh flash session with only ``keep``."""
        user = request.dbsession.get(User, userid)
        keep = kw.get("keep") or {}
        sessions.end_session(request.dbsession, self.current_token(request))
        token = sessions.create_session(request.dbsession, user, request.user_agent,
                                        sessions.idle_limit(request.registry.settings))
        request.session.invalidate()
        request.session.update(keep)
        request.session["uid"] = user.id  # display hint for error pages only (portal.views.errors.page_account)
        request.environ["portal.identity"] = user
        return self._cookie(request, token)

    def forget(self, request, **kw):
        """Log out: the session row is deleted, so every copy of the cookie stops working."""
        sessions.end_session(request.dbsession, self.current_token(request))
        request.session.invalidate()
        request.environ["portal.identity"] = None
        return self._cookie(request, None)


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
    config.set_security_policy(SessionSecurityPolicy(secure))
    config.set_csrf_storage_policy(CookieCSRFStoragePolicy(
        cookie_name="portal_csrf", secure=secure, httponly=True, samesite="Lax"))
    config.set_default_csrf_options(require_csrf=True)
    config.set_root_factory(Root)
    # Deny by default: a view without an explicit permission still needs VIEW.
    config.set_default_permission(Permissions.VIEW)
