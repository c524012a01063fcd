"""Whole-page cache for anonymous readers that is never stale, with validators for browsers and reverse proxies.

Key: the content generation (portal.content.generation, read from the database on every request, so a commit in
any process is seen by every process at once), this process's search-index state (pages that show search results
or related examples follow the index, which applies a commit a moment after it lands), the host and the path with
its query string. An entry can therefore only be reused while nothing it shows has changed.

Who gets cached pages: GET and HEAD requests without the portal's session cookies and without an Authorization
header. Logged-in people (and anyone holding a session, e.g. for a flash message or a CSRF token) always get a
freshly rendered page, and what is rendered for them is never stored. What is stored: 200 responses of the routes in
CACHEABLE_ROUTES that set no cookie and do not forbid storing.

Validators: a strong ETag (hash of the body) and Last-Modified (when the generation or this process's index last
moved, whole seconds); If-None-Match is answered exactly, If-Modified-Since only when If-None-Match is absent.
``Cache-Control: public, max-age=0, must-revalidate`` (plus ``s-maxage`` when ``portal.page_cache_shared_max_age``
is set) and ``Vary: Cookie`` let a reverse proxy keep anonymous pages and revalidate them cheaply.

Settings: ``portal.page_cache`` (default true), ``portal.page_cache_bytes`` (memory budget per process, default
32 MiB), ``portal.page_cache_shared_max_age`` (seconds a proxy may serve without asking, default 0).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

from pyramid.settings import asbool
from sqlalchemy.exc import SQLAlchemyError
from webob import Response

from portal.content import generation, memo
from portal.models import write_intent

#: Public pages whose content depends only on the database and the search index (and the URL).
CACHEABLE_ROUTES = frozenset({
    "home", "over", "privacy", "colofon", "toegankelijkheid",
    "voorbeelden", "voorbeeld", "themas", "thema", "regios", "regio", "kennis", "kennisartikel", "bronnen", "bron",
    "feed_voorbeelden", "sitemap", "robots",
    "api_voorbeelden", "api_voorbeeld", "zoeken", "api_zoeken", "api_suggesties",
})
SESSION_COOKIES = frozenset({"portal_session", "portal_sid"})
#: Response headers worth keeping; the rest (Date, Content-Length, security headers) is added per response.
KEPT_HEADERS = frozenset({"content-type", "content-language", "content-disposition", "link", "x-robots-tag"})
CACHE_HEADER = "X-Portal-Cache"


@dataclass(frozen=True)
class Entry:
    status: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    etag: str
    last_modified: dt.datetime

    @property
    def size(self) -> int:
        return len(self.body) + 200


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


def _not_modified(request, entry: Entry) -> bool:
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        return _etag_matches(if_none_match, entry.etag)
    since = _parse_http_date(request.headers.get("If-Modified-Since"))
    return since is not None and entry.last_modified.replace(microsecond=0) <= since


def _bypasses(request) -> bool:
    return (request.method not in ("GET", "HEAD")
            or bool(SESSION_COOKIES & request.cookies.keys())
            or "Authorization" in request.headers)


def _storable(request, response) -> bool:
    route = request.matched_route
    if request.method != "GET" or route is None or route.name not in CACHEABLE_ROUTES:
        return False
    if response.status_code != 200 or "Set-Cookie" in response.headers:
        return False
    cache_control = response.headers.get("Cache-Control", "")
    if "no-store" in cache_control or "private" in cache_control:
        return False
    # A page that embeds this visitor's CSRF token (a form) belongs to this visitor alone.
    token = request.cookies.get("portal_csrf", "").strip('"')
    return not (token and token.encode() in response.body)


class PageCache:
    def __init__(self, registry):
        settings = registry.settings
        self.enabled = asbool(settings.get("portal.page_cache", True))
        self.store = PageStore(int(settings.get("portal.page_cache_bytes", 32 * 1024 * 1024)))
        shared = int(settings.get("portal.page_cache_shared_max_age", 0))
        self.cache_control = "public, max-age=0, must-revalidate" + (f", s-maxage={shared}" if shared > 0 else "")
        self.registry = registry

    def _state(self) -> tuple[int, dt.datetime, tuple]:
        token = write_intent.set(False)  # a read: on SQLite a plain BEGIN, never the write lock
        try:
            with self.registry["db_engine"].connect() as connection:
                number, changed_at = generation.read(connection)
        finally:
            write_intent.reset(token)
        service = self.registry.get("search_service")
        if service is None:
            return number, changed_at, ()
        index_changed = dt.datetime.fromtimestamp(service.keeper.changed_wall, dt.UTC).replace(tzinfo=None)
        return number, max(changed_at, index_changed), service.state()

    def handle(self, handler, request):
        if not self.enabled or _bypasses(request):
            return handler(request)
        try:
            number, last_modified, index_state = self._state()
        except SQLAlchemyError:
            # No database: no cache either; the view answers (the health check says 503, pages their error page).
            return handler(request)
        request.environ[memo.ENVIRON_KEY] = number  # vocabulary memos of this request use the same generation
        environ = request.environ
        # The raw WSGI strings: request.path_qs would decode, and undecodable paths must reach the 404/400 views.
        key = (number, index_state, environ.get("HTTP_HOST", ""), environ.get("SCRIPT_NAME", ""),
               environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", ""))
        entry = self.store.get(key)
        outcome = "hit"
        if entry is None:
            response = handler(request)
            if not _storable(request, response):
                return response
            body = response.body
            entry = Entry(
                status=response.status,
                headers=tuple((k, v) for k, v in response.headerlist if k.lower() in KEPT_HEADERS),
                body=body,
                etag='"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"',
                last_modified=last_modified,
            )
            self.store.put(key, entry)
            outcome = "miss"
        return self._respond(request, entry, outcome)

    def _respond(self, request, entry: Entry, outcome: str) -> Response:
        validators = [("ETag", entry.etag), ("Last-Modified", _http_date(entry.last_modified)),
                      ("Cache-Control", self.cache_control), ("Vary", "Cookie"), (CACHE_HEADER, outcome)]
        if _not_modified(request, entry):
            response = Response(status=304, headerlist=[])
            for name, value in validators:
                response.headers[name] = value
            return response
        response = Response(status=entry.status, headerlist=list(entry.headers), body=entry.body)
        for name, value in validators:
            response.headers[name] = value
        return response


def page_cache_tween_factory(handler, registry):
    cache = PageCache(registry)
    registry["page_cache"] = cache

    def tween(request):
        return cache.handle(handler, request)

    return tween


def includeme(config):
    # Under the input checks (hostile requests never reach the cache), over the transaction: a hit opens no session.
    config.add_tween("portal.pagecache.page_cache_tween_factory",
                     under="portal.tweens.input_boundary_tween_factory", over="pyramid_tm.tm_tween_factory")
