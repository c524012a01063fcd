"""Error pages in Dutch: HTML for pages, JSON for /api/. Never a traceback."""

from __future__ import annotations

import logging

from pyramid.httpexceptions import HTTPBadRequest, HTTPException, HTTPNotFound
from pyramid.renderers import render_to_response
from pyramid.view import exception_view_config, notfound_view_config

from portal.content.catalog import InvalidQuery

log = logging.getLogger(__name__)

MESSAGES = {
    400: ("Ongeldige aanvraag", "De aanvraag bevat een waarde die we niet begrijpen."),
    403: ("Geen toegang", "U heeft geen toegang tot deze pagina."),
    404: ("Pagina niet gevonden", "Deze pagina bestaat niet (meer). Misschien is het adres verkeerd getypt."),
    405: ("Methode niet toegestaan", "Deze pagina kan op deze manier niet worden opgevraagd."),
    413: ("Verzoek te groot", "Wat u verstuurde is te groot om te verwerken."),
    500: ("Er ging iets mis", "Er ging aan onze kant iets mis. Probeer het later opnieuw."),
}


def raw_path(request) -> str:
    """The path as sent (WSGI latin-1), safe to use even when it is not valid UTF-8 (request.path would raise)."""
    environ = request.environ
    return environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")


def is_api(request) -> bool:
    return raw_path(request).startswith("/api/")


def error_response(request, status: int, detail: str | None = None):
    title, default = MESSAGES.get(status, (f"Fout {status}", "Er ging iets mis."))
    message = detail or default
    if is_api(request):
        response = request.response
        response.status_int = status
        response.content_type = "application/json"
        response.json_body = {"error": {"status": status, "title": title, "message": message}}
        return response
    response = render_to_response("portal:templates/error.jinja2",
                                  {"status": status, "title": title, "message": message}, request=request)
    response.status_int = status
    return response


@notfound_view_config()
def not_found(exc, request):
    detail = exc.detail if isinstance(exc, HTTPNotFound) and isinstance(exc.detail, str) and exc.detail else None
    if detail == request.path_info:  # Pyramid's router puts the bare path here; show our Dutch text instead
        detail = None
    return error_response(request, 404, detail)


@exception_view_config(InvalidQuery)
def invalid_query(exc, request):
    return error_response(request, 400, str(exc))


@exception_view_config(UnicodeDecodeError)
def undecodable(exc, request):
    """A path or query string that is not valid UTF-8 (WebOb and Pyramid raise UnicodeDecodeError): a 400."""
    return error_response(request, 400, "Het adres bevat tekens die geen geldige UTF-8 zijn.")


@exception_view_config(HTTPException)
def http_exception(exc, request):
    if exc.code < 400:  # redirects and the like pass through untouched
        return exc
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail else None
    return error_response(request, exc.code, detail)


@exception_view_config(Exception)
def server_error(exc, request):
    log.exception("Onverwachte fout bij %s %r", request.method, raw_path(request))
    return error_response(request, 500)


__all__ = ["HTTPBadRequest", "error_response"]
