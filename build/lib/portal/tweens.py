"""Tweens that guard every response: security headers with a strict CSP, and a maximum request body size."""

from __future__ import annotations

from pyramid.response import Response
from pyramid.settings import asbool
from pyramid.tweens import INGRESS

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'")

TOO_LARGE = """<!DOCTYPE html>
<html lang="nl"><head><meta charset="utf-8"><title>Verzoek te groot | Kennisportaal Onderwijs &amp; Jeugd</title>
</head><body><main><h1>Verzoek te groot</h1>
<p>Wat u verstuurde is groter dan {limit} kB en is daarom niet verwerkt. Er is niets opgeslagen. Maak de tekst
korter of verdeel hem, en probeer het opnieuw.</p></main></body></html>"""


def security_headers_tween_factory(handler, registry):
    secure = asbool(registry.settings.get("portal.secure_cookies", True))

    def tween(request):
        response = handler(request)
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if secure:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        # Pages for logged-in people may show drafts, remarks or private contacts: never store them in caches.
        if "portal_session" in request.cookies or request.environ.get("portal.identity") is not None:
            headers["Cache-Control"] = "private, no-store"
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


def includeme(config):
    # Outermost, so that every response (error pages included) gets the headers and big bodies never reach a view.
    config.add_tween("portal.tweens.security_headers_tween_factory", under=INGRESS)
    config.add_tween("portal.tweens.body_limit_tween_factory", under="portal.tweens.security_headers_tween_factory")
