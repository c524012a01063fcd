"""Whole-page cache for anonymous readers that is never stale, with validators for browsers and reverse proxies.

Key: the content generation (portal.content.generation: a commit through this process is seen by the next request,
one made by another process within ``portal.page_cache_check_interval`` seconds), this process's search-index state
(pages that show search results or related examples follow the index, which applies a commit a moment after it
lands), the scheme, the host and the path with its query string. An entry is only reused while nothing it shows
has changed.

Where: a WSGI middleware around the whole Pyramid application, so a hit costs a dictionary lookup and no router,
tween, session or database work (the figures are in bench/web.py). A miss goes through Pyramid as usual; a tween
there notes the matched route, and the middleware stores the final response (with the security headers the tweens
added). Requests with a body never use the cache, so the input checks of portal.tweens always see them.

Who gets cached pages: GET and HEAD requests without the portal's session cookies and without an Authorization
header. Logged-in people (and anyone holding a session, e.g. for a flash message or a CSRF token) always get a
freshly rendered page, and what is rendered for them is never stored. What is stored: 200 responses of the routes in
CACHEABLE_ROUTES that set no cookie and do not forbid storing.

Validators: a strong ETag (hash of the body) and Last-Modified (when the generation or this process's index last
moved, whole seconds); If-None-Match is answered exactly, If-Modified-Since only when If-None-Match is absent.
``Cache-Control: public, max-age=0, must-revalidate`` (plus ``s-maxage`` when ``portal.page_cache_shared_max_age``
is set) and ``Vary: Cookie`` let a reverse proxy keep anonymous pages and revalidate them cheaply.

Settings: ``portal.page_cache`` (default true), ``portal.page_cache_bytes`` (memory budget per process, default
32 MiB), ``portal.page_cache_shared_max_age`` (seconds a proxy may serve without asking, default 0),
``portal.page_cache_check_interval`` (seconds between readings of another process's changes, default 0.25).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from pyramid.settings import asbool
from sqlalchemy.exc import SQLAlchemyError

from portal import tweens
from portal.content import generation, memo

#: Public pages whose content depends only on the database and the search index (and the URL).
CACHEABLE_ROUTES = frozenset({
    "home", "over", "privacy", "colofon", "toegankelijkheid",
    "voorbeelden", "voorbeeld", "themas", "thema", "regios", "regio", "kennis", "kennisartikel", "bronnen", "bron",
    "feed_voorbeelden", "sitemap", "robots",
    "api_voorbeelden", "api_voorbeeld", "zoeken", "api_zoeken", "api_suggesties",
})
#: Response headers not kept with an entry: the server adds its own, the cache writes its validators itself.
DROPPED_HEADERS = frozenset({"date", "server", "content-length", "etag", "last-modified", "cache-control", "vary",
                             "set-cookie", "x-portal-cache"})
CACHE_HEADER = "X-Portal-Cache"
#: Set by the tween on the request's environ when the matched route's 200 may be stored.
ROUTE_KEY = "portal.page_cache.route"


@dataclass(frozen=True)
class Entry:
    status: str
    #: Everything a 200 answer sends (the validators and Content-Length included), except X-Portal-Cache.
    headers: tuple[tuple[str, str], ...]
    #: What a 304 sends.
    validators: tuple[tuple[str, str], ...]
    body: bytes
    etag: str
    last_modified: dt.datetime

    @property
    def size(self) -> int:
        return len(self.body) + 600


class PageStore:
    """A thread-safe LRU of entries within a byte budget; entries of an older generation are dropped at once."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple, Entry] = OrderedDict()
        self._bytes = 0
        self._generation: int | None = None
        self._lock = threading.Lock()

    def get(self, key: tuple) -> Entry | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: tuple, entry: Entry) -> None:
        if entry.size > self.max_bytes:
            return
        with self._lock:
            if key[0] != self._generation:
                if self._generation is not None and key[0] < self._generation:
                    return  # rendered from an older generation than what is already kept: useless
                self._entries.clear()
                self._bytes = 0
                self._generation = key[0]
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old.size
            self._entries[key] = entry
            self._bytes += entry.size
            while self._bytes > self.max_bytes and self._entries:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= evicted.size

    def __len__(self) -> int:
        return len(self._entries)


def _http_date(moment: dt.datetime) -> str:
    return email.utils.format_datetime(moment.replace(tzinfo=dt.UTC, microsecond=0), usegmt=True)


def _parse_http_date(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC).replace(tzinfo=None)


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    # Weak comparison (RFC 9110 13.1.2): W/"x" matches "x".
    candidates = {part.strip().removeprefix("W/") for part in header.split(",")}
    return etag in candidates


def _not_modified(environ: dict, entry: Entry) -> bool:
    if_none_match = environ.get("HTTP_IF_NONE_MATCH")
    if if_none_match is not None:
        return _etag_matches(if_none_match, entry.etag)
    since = _parse_http_date(environ.get("HTTP_IF_MODIFIED_SINCE"))
    return since is not None and entry.last_modified.replace(microsecond=0) <= since


def _cookie_names(header: str) -> set[str]:
    return {part.split("=", 1)[0].strip() for part in header.split(";")}


def _cookie_value(header: str, name: str) -> str:
    for part in header.split(";"):
        key, _eq, value = part.partition("=")
        if key.strip() == name:
            return value.strip().strip('"')
    return ""


def _bypasses(environ: dict) -> bool:
    """Anything but a plain anonymous read goes straight to the application (and nothing of it is stored)."""
    if environ.get("REQUEST_METHOD") not in ("GET", "HEAD") or "HTTP_AUTHORIZATION" in environ:
        return True
    if environ.get("CONTENT_LENGTH", "") not in ("", "0") or "HTTP_TRANSFER_ENCODING" in environ:
        return True  # a body: the input and size checks decide
    cookies = environ.get("HTTP_COOKIE", "")
    return bool(cookies) and "portal_s" in cookies and bool(tweens.SESSION_COOKIES & _cookie_names(cookies))


def _storable(environ: dict, status: str, headers: list[tuple[str, str]], body: bytes) -> bool:
    """Whether a cacheable route's response may be kept (the caller has checked the route)."""
    if environ.get("REQUEST_METHOD") != "GET" or not status.startswith("200"):
        return False
    for name, value in headers:
        lowered = name.lower()
        if lowered == "set-cookie":
            return False
        if lowered == "cache-control" and ("no-store" in value or "private" in value):
            return False
    # A page that embeds this visitor's CSRF token (a form) belongs to this visitor alone.
    token = _cookie_value(environ.get("HTTP_COOKIE", ""), "portal_csrf")
    return not (token and token.encode() in body)


class PageCache:
    """The middleware: answers hits itself, passes everything else to the application and keeps what it may."""

    def __init__(self, app, registry):
        settings = registry.settings
        self.app = app
        self.registry = registry
        self.enabled = asbool(settings.get("portal.page_cache", True))
        self.store = PageStore(int(settings.get("portal.page_cache_bytes", 32 * 1024 * 1024)))
        shared = int(settings.get("portal.page_cache_shared_max_age", 0))
        self.cache_control = "public, max-age=0, must-revalidate" + (f", s-maxage={shared}" if shared > 0 else "")
        interval = float(settings.get("portal.page_cache_check_interval", 0.25))
        self.watch = generation.GenerationWatch(registry["db_engine"], interval)
        registry["page_cache"] = self
        registry["generation_watch"] = self.watch

    def _state(self) -> tuple[int, dt.datetime, tuple]:
        number, changed_at = self.watch.current()
        service = self.registry.get("search_service")
        if service is None:
            return number, changed_at, ()
        index_changed = dt.datetime.fromtimestamp(service.keeper.changed_wall, dt.UTC).replace(tzinfo=None)
        return number, max(changed_at, index_changed), service.state()

    def __call__(self, environ, start_response):
        if not self.enabled or _bypasses(environ):
            return self.app(environ, start_response)
        started = environ.setdefault("portal.access_started", time.perf_counter())
        try:
            number, last_modified, index_state = self._state()
        except SQLAlchemyError:
            # No database: no cache either; the application answers (the health check 503, pages their error page).
            return self.app(environ, start_response)
        # The raw WSGI strings: decoding would fail on undecodable paths, which must reach the 404/400 views.
        key = (number, index_state, environ.get("wsgi.url_scheme"), environ.get("HTTP_HOST", ""),
               environ.get("SCRIPT_NAME", ""), environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", ""))
        entry = self.store.get(key)
        if entry is not None:
            status = self._respond(environ, start_response, entry, "hit")
            tweens.log_request(environ, status, started)
            return [] if status == 304 or environ["REQUEST_METHOD"] == "HEAD" else [entry.body]
        environ[memo.ENVIRON_KEY] = number  # vocabulary memos of this request use the same generation
        return self._render(environ, start_response, key, last_modified)

    def _render(self, environ, start_response, key: tuple, last_modified: dt.datetime):
        captured: list = []

        def capture(status, headers, exc_info=None):
            captured[:] = [status, headers, exc_info]
            return lambda data: captured.append(data)  # the write() callable; Pyramid never uses it

        app_iter = self.app(environ, capture)
        status, headers, exc_info = captured[:3]
        if exc_info is not None or not environ.get(ROUTE_KEY):
            start_response(status, headers, exc_info)
            return app_iter
        try:
            body = b"".join([*captured[3:], *app_iter])
        finally:
            close = getattr(app_iter, "close", None)
            if close is not None:
                close()
        if not _storable(environ, status, headers, body):
            start_response(status, headers)
            return [body]
        entry = self._entry(status, headers, body, last_modified)
        self.store.put(key, entry)
        self._respond(environ, start_response, entry, "miss")
        return [] if _not_modified(environ, entry) else [body]

    def _entry(self, status: str, headers: list, body: bytes, last_modified: dt.datetime) -> Entry:
        # SHA-1 as a checksum, not for security: it runs in the CPU's SHA instructions (19 µs for a 30 kB page
        # against 51 µs for BLAKE2b, on every miss); 96 bits leave no practical chance of two bodies sharing one.
        etag = '"' + hashlib.sha1(body, usedforsecurity=False).hexdigest()[:24] + '"'
        validators = (("ETag", etag), ("Last-Modified", _http_date(last_modified)),
                      ("Cache-Control", self.cache_control), ("Vary", "Cookie"))
        kept = tuple((name, value) for name, value in headers if name.lower() not in DROPPED_HEADERS)
        return Entry(status=status, headers=(*kept, *validators, ("Content-Length", str(len(body)))),
                     validators=validators, body=body, etag=etag, last_modified=last_modified)

    @staticmethod
    def _respond(environ, start_response, entry: Entry, outcome: str) -> int:
        if _not_modified(environ, entry):
            start_response("304 Not Modified", [*entry.validators, (CACHE_HEADER, outcome)])
            return 304
        start_response(entry.status, [*entry.headers, (CACHE_HEADER, outcome)])
        return 200


def page_cache_tween_factory(handler, registry):
    """Inside Pyramid: notes the matched route of a cacheable page for the middleware."""

    def tween(request):
        response = handler(request)
        route = request.matched_route
        if route is not None and route.name in CACHEABLE_ROUTES:
            request.environ[ROUTE_KEY] = route.name
        return response

    return tween


def wrap(app):
    """The application with the page cache around it (``registry`` stays reachable as on a Pyramid router)."""
    return PageCache(app, app.registry)


def includeme(config):
    config.add_tween("portal.pagecache.page_cache_tween_factory",
                     under="portal.tweens.input_boundary_tween_factory", over="pyramid_tm.tm_tween_factory")
