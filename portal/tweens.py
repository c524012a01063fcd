"""Tweens around every request: an access log line, security headers with a strict CSP, a maximum body size, and
the input boundary (a well-formed UTF-8 form body without NUL, before any view runs)."""

from __future__ import annotations

import logging
import time
from urllib.parse import quote, unquote_to_bytes

from pyramid.response import Response
from pyramid.settings import asbool
from pyramid.tweens import INGRESS
from pyramid_retry import is_error_retryable

from portal import inputs

#: One line per request: ``GET /zoeken?q=x 200 12.3 ms``. Configured in the ini files ([logger_access]); without
#: configuration it follows whatever the root logger does.
access_log = logging.getLogger("portal.access")

#: Characters left as they are when the path and query string are written to the log (everything else, control
#: characters and spaces included, is percent-encoded, so one request is always one line).
PATH_SAFE = "/:@!$&'()*+,;=-._~"
QUERY_SAFE = PATH_SAFE + "?%[]"

#: Cookies that mark a visitor the portal knows (a login, or a session kept for a form): pages for them are never
#: stored by caches (here for proxies and browsers, in portal.pagecache for the page cache).
SESSION_COOKIES = frozenset({"portal_session", "portal_sid"})

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'")

#: Set on every response unless the view set the header itself (Strict-Transport-Security too, with secure cookies).
SECURITY_HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)

TOO_LARGE = """<!DOCTYPE html>
<html lang="nl"><head><meta charset="utf-8"><title>Verzoek te groot | Kennisportaal Onderwijs &amp; Jeugd</title>
</head><body><main><h1>Verzoek te groot</h1>
<p>Wat u verstuurde is groter dan {limit} kB en is daarom niet verwerkt. Er is niets opgeslagen. Maak de tekst
korter of verdeel hem, en probeer het opnieuw.</p></main></body></html>"""


def _logged_target(environ: dict) -> str:
    """The path and query string as sent, percent-encoded; never raises (invalid UTF-8 included)."""
    path = inputs.raw_path(environ).encode("latin-1", "replace")
    target = quote(path, safe=PATH_SAFE) or "/"
    query = environ.get("QUERY_STRING", "")
    if query:
        target += "?" + quote(query.encode("latin-1", "replace"), safe=QUERY_SAFE)
    return target


def access_log_tween_factory(handler, registry):
    """Log method, path, status and duration of every request (on top of the other tweens: error pages too).

    pyramid_retry runs the tweens once per attempt; an attempt that will be retried is not logged, and the duration
    of the logged attempt counts from the start of the first one.
    """

    def tween(request):
        environ = request.environ
        started = environ.setdefault("portal.access_started", time.perf_counter())
        try:
            response = handler(request)
        except Exception as exc:
            if is_error_retryable(request, exc):
                raise
            log_request(environ, 500, started)  # what the server will answer
            raise
        exc = getattr(request, "exception", None)
        if exc is None or not is_error_retryable(request, exc):
            log_request(environ, response.status_int, started)
        return response

    return tween


def log_request(environ: dict, status: int, started: float) -> None:
    if access_log.isEnabledFor(logging.INFO):
        elapsed = (time.perf_counter() - started) * 1000
        method = quote(environ.get("REQUEST_METHOD", "-"), safe="")
        access_log.info("%s %s %d %.1f ms", method, _logged_target(environ), status, elapsed)


def security_headers_tween_factory(handler, registry):
    secure = asbool(registry.settings.get("portal.secure_cookies", True))
    base_url = registry.settings.get("portal.base_url", "").rstrip("/")

    defaults = SECURITY_HEADERS + ((("Strict-Transport-Security", "max-age=31536000"),) if secure else ())
    defaults_lowered = tuple((name.lower(), (name, value)) for name, value in defaults)

    def tween(request):
        response = handler(request)
        headerlist = response.headerlist
        present = {name.lower() for name, _value in headerlist}
        if base_url and "location" in present:
            location = response.headers.get("Location", "")
            if location.startswith("/") and not location.startswith("//"):
                # WebOb would complete a relative redirect with the Host header; the configured address is the truth.
                response.headers["Location"] = base_url + location
        # What a view set itself stays (one pass over the header list instead of a look-up per header).
        headerlist.extend(header for lowered, header in defaults_lowered if lowered not in present)
        # Pages for logged-in people may show drafts, remarks or private contacts: never store them in caches.
        if SESSION_COOKIES & request.cookies.keys() or request.environ.get("portal.identity"):
            response.headers["Cache-Control"] = "private, no-store"
        return response

    return tween


def body_limit_tween_factory(handler, registry):
    limit = int(registry.settings.get("portal.max_body_bytes", 2_000_000))

    def too_large(request):
        accept_json = request.path.startswith("/api/")
        if accept_json:
            response = Response(json_body={"error": {"status": 413, "title": "Verzoek te groot",
                                                     "message": f"Maximaal {limit // 1000} kB."}})
        else:
            response = Response(TOO_LARGE.format(limit=limit // 1000), content_type="text/html", charset="utf-8")
        response.status_int = 413
        return response

    def tween(request):
        length = request.content_length
        if length is not None and length > limit:
            return too_large(request)
        if length is None and request.method in ("POST", "PUT", "PATCH"):
            # No length given (chunked): read at most limit + 1 bytes to find out.
            body = request.body_file_raw.read(limit + 1)
            if len(body) > limit:
                return too_large(request)
            request.body = body
        return handler(request)

    return tween


#: Content types a request body may have (the portal's forms post these two; the API only reads).
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")
#: The login form's copy of a form being typed when the session ended: a JSON list of [name, value] pairs.
RESUME_FIELD = "resume"

MALFORMED = "Het verzoek is beschadigd of heeft een onbekend formaat. Er is niets opgeslagen."
NOT_UTF8 = "Het verzoek bevat tekens die geen geldige UTF-8 zijn. Er is niets opgeslagen."
WRONG_CHARSET = "Het formulier moet in UTF-8 worden verstuurd. Er is niets opgeslagen."


def _header_params(value: str) -> tuple[str, dict[str, str]]:
    """``type/sub; a=b`` as ('type/sub', {'a': 'b'}), names lower-cased, quotes removed."""
    kind, _sep, rest = value.partition(";")
    params = {}
    for part in rest.split(";"):
        name, eq, val = part.partition("=")
        if eq:
            params[name.strip().lower()] = val.strip().strip('"')
    return kind.strip().lower(), params


def _body_problem(request) -> str | None:
    body = request.body
    content_type = request.headers.get("Content-Type", "")
    if not body and not content_type:
        return None
    kind, params = _header_params(content_type)
    if kind not in FORM_TYPES:
        return MALFORMED
    charset = params.get("charset")
    if charset is not None and charset.lower().replace("_", "-") not in ("utf-8", "utf8"):
        return WRONG_CHARSET
    if kind == "multipart/form-data" and not params.get("boundary"):
        return MALFORMED
    try:
        raw = unquote_to_bytes(body.replace(b"+", b" ")) if kind == FORM_TYPES[0] else body
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return NOT_UTF8
    if b"\x00" in raw:
        return inputs.NUL_ERROR
    try:
        items = list(request.POST.items())
    except Exception:  # webob/cgi refuse the body in many ways (ValueError, DeprecationWarning, ...)
        return MALFORMED
    for name, value in items:
        if not isinstance(value, str):  # a file: the portal has no uploads
            return MALFORMED
        if inputs.has_nul(name) or inputs.has_nul(value):
            return inputs.NUL_ERROR
    if RESUME_FIELD in request.POST and inputs.load_pairs(request.POST[RESUME_FIELD]) is None:
        request.POST[RESUME_FIELD] = ""  # a damaged or hostile copy of a form counts as absent
    return None


def input_boundary_tween_factory(handler, registry):
    """A Dutch 400 (JSON under /api/) for NUL anywhere in a posted form, and for a body that is not a UTF-8 form
    (urlencoded, or multipart with a boundary), before any view sees the request. (Query strings are checked by the
    views' own parameter parsing: unknown values are a Dutch 400 or ignored, undecodable ones a 400.)"""
    from portal.views.errors import error_response

    def tween(request):
        problem = None
        if request.method in BODY_METHODS or request.content_length:
            problem = _body_problem(request)
        if problem is not None:
            return error_response(request, 400, problem)
        return handler(request)

    return tween


def includeme(config):
    # The access log on top (only a last-resort error page may wrap it), so that it sees every response and times
    # all the rest. Right under it the security headers, so that every response (error pages included) gets them;
    # big bodies never reach a view.
    config.add_tween("portal.tweens.access_log_tween_factory", under=INGRESS)
    config.add_tween("portal.tweens.security_headers_tween_factory", under="portal.tweens.access_log_tween_factory")
    config.add_tween("portal.tweens.body_limit_tween_factory", under="portal.tweens.security_headers_tween_factory")
    config.add_tween("portal.tweens.input_boundary_tween_factory", under="portal.tweens.body_limit_tween_factory")
    # Absolute URLs from portal.base_url, never from the Host header.
    config.include("portal.inputs")
