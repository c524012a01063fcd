"""Error pages in Dutch: HTML for pages, JSON for /api/. Never a traceback, and never an error page that fails.

Error pages do not touch the database: the error may be the database's, and the request's transaction may be
unusable (after a failed flush SQLAlchemy refuses every query and has expired every loaded object, the user
included). So the page shows the user from what is already in memory (``page_account``), and if rendering the
template fails anyway, a small static Dutch page with the same status goes out instead (``static_error_response``;
portal.errorpage uses it too, for exceptions that escape everything else).
"""

from __future__ import annotations

import html
import json
import logging
import types

from pyramid.httpexceptions import HTTPBadRequest, HTTPException, HTTPNotFound
from pyramid.renderers import render_to_response
from pyramid.response import Response
from pyramid.view import exception_view_config, notfound_view_config
from pyramid_retry import is_error_retryable
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from portal import inputs
from portal.content.catalog import InvalidQuery
from portal.workflow.snapshot import FIELD_LABELS

log = logging.getLogger(__name__)

MESSAGES = {
    400: ("Ongeldige aanvraag", "De aanvraag bevat een waarde die we niet begrijpen."),
    403: ("Geen toegang", "U heeft geen toegang tot deze pagina."),
    404: ("Pagina niet gevonden", "Deze pagina bestaat niet (meer). Misschien is het adres verkeerd getypt."),
    405: ("Methode niet toegestaan", "Deze pagina kan op deze manier niet worden opgevraagd."),
    409: ("Tegelijk gewijzigd", "Iemand anders wijzigde dit op hetzelfde moment. Uw wijziging is niet opgeslagen. "
                                "Bekijk de nieuwste versie en probeer het opnieuw."),
    413: ("Verzoek te groot", "Wat u verstuurde is te groot om te verwerken."),
    500: ("Er ging iets mis", "Er ging aan onze kant iets mis. Probeer het later opnieuw."),
}

#: The registry setting that names the error template (tests point it at a template that does not exist).
TEMPLATE_SETTING = "portal.error_template"
DEFAULT_TEMPLATE = "portal:templates/error.jinja2"

#: Security headers for the static page (it may be sent from outside the tween that adds them to other pages).
STATIC_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "private, no-store",
}

STATIC_PAGE = """<!DOCTYPE html>
<html lang="nl"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} | Kennisportaal Onderwijs &amp; Jeugd</title>
<style>body{{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;line-height:1.5}}
textarea{{width:100%}}</style></head>
<body><main><p><a href="/">Kennisportaal Onderwijs &amp; Jeugd</a></p><h1>{title}</h1><p>{message}</p>{typed}
<p>Foutcode {status}. Ga <a href="/">naar de startpagina</a>.</p></main></body></html>"""


def raw_path(request) -> str:
    """The path as sent, safe to use even when it is not valid UTF-8 (request.path would raise)."""
    return inputs.raw_path(request.environ)


def is_api(request) -> bool:
    return raw_path(request).startswith("/api/")


def _title_and_message(status: int, detail: str | None) -> tuple[str, str]:
    title, default = MESSAGES.get(status, (f"Fout {status}", "Er ging iets mis."))
    return title, detail or default


def static_error_response(environ: dict, status: int, detail: str | None = None,
                          typed: list[tuple[str, str]] | None = None) -> Response:
    """A page (or JSON for /api/) built without templates, database or request state: it cannot fail."""
    title, message = _title_and_message(status, detail)
    if inputs.raw_path(environ).startswith("/api/"):
        body = json.dumps({"error": {"status": status, "title": title, "message": message}})
        response = Response(body, content_type="application/json", charset="utf-8")
    else:
        fields = "".join(f'<p><label>{html.escape(label)}<br><textarea readonly rows="4">{html.escape(text)}'
                         f"</textarea></label></p>" for label, text in typed or [])
        if fields:
            fields = "<h2>Wat u verstuurde</h2><p>Kopieer wat u wilt bewaren.</p>" + fields
        body = STATIC_PAGE.format(title=html.escape(title), message=html.escape(message), typed=fields,
                                  status=status)
        response = Response(body, content_type="text/html", charset="utf-8")
    response.status_int = status
    response.headers.update(STATIC_HEADERS)
    return response


def page_account(request):
    """Who the navigation shows as logged in, from memory only (never a query): the user the request already
    looked up, with the role if that is still loaded; else, if the session cookie names a user, a logged-in user
    of unknown role (the navigation then leaves out the role's links); else None."""
    user = request.environ.get("portal.identity")
    if user is not None:
        try:
            loaded = inspect(user).dict  # what is loaded; reading it never queries
        except Exception:  # not a mapped object: show no role
            loaded = {}
        return types.SimpleNamespace(role=loaded.get("role"))
    try:
        logged_in = "uid" in request.session
    except Exception:  # an unreadable session is an anonymous one
        logged_in = False
    return types.SimpleNamespace(role=None) if logged_in else None


def error_response(request, status: int, detail: str | None = None, typed: list[tuple[str, str]] | None = None):
    title, message = _title_and_message(status, detail)
    if is_api(request):
        response = request.response
        response.status_int = status
        response.content_type = "application/json"
        response.json_body = {"error": {"status": status, "title": title, "message": message}}
        return response
    template = request.registry.settings.get(TEMPLATE_SETTING) or DEFAULT_TEMPLATE
    try:
        response = render_to_response(template, {"status": status, "title": title, "message": message,
                                                 "typed": typed or [], "nav_account": page_account(request)},
                                      request=request)
    except Exception:
        log.exception("Foutpagina %d kon niet worden opgemaakt; eenvoudige pagina verstuurd", status)
        return static_error_response(request.environ, status, message, typed)
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


#: Forms whose typed text the conflict page gives back, and the labels of their text fields. Anything else posted
#: (passwords!) is never echoed.
TYPED_ROUTES = frozenset({"bijdragen", "bijdrage", "redactie_bewerken", "redactie_besluit"})
TYPED_LABELS = {
    **{f: FIELD_LABELS[f] for f in ("title", "summary", "place", "target_group", "partners", "start_year",
                                    "background", "approach", "results", "financing", "financing_text", "lessons",
                                    "source_chapter", "source_note")},
    "tip": "Tip", "name": "Contactpersoon: naam", "role": "Contactpersoon: functie",
    "organisation": "Contactpersoon: organisatie", "email": "Contactpersoon: e-mailadres",
    "reason": "Toelichting",
    **{f"remark_{f}": f"Opmerking bij {label}" for f, label in FIELD_LABELS.items()},
}


def typed_text(request) -> list[tuple[str, str]]:
    """The text fields of a contribution or decision form as posted (label, text), for the conflict page."""
    route = getattr(request, "matched_route", None)
    if request.method != "POST" or route is None or route.name not in TYPED_ROUTES:
        return []
    try:
        items = list(request.POST.items())
    except Exception:  # an unreadable body: nothing to give back
        return []
    return [(TYPED_LABELS[name], value) for name, value in items
            if name in TYPED_LABELS and isinstance(value, str) and value.strip()]


@exception_view_config(StaleDataError)
@exception_view_config(IntegrityError)
def simultaneous_write(exc, request):
    """Another transaction wrote the same row first (see portal.models: these errors are retryable).

    While pyramid_retry has attempts left it discards this answer and runs the request again, which then reads the
    other's work and answers as usual. After the last attempt: a Dutch 409 that gives the typed text back."""
    if is_error_retryable(request, exc):
        log.info("Gelijktijdige wijziging bij %s %r; opnieuw geprobeerd: %s", request.method, raw_path(request),
                 exc.__class__.__name__)
        return Response(status=409)
    log.warning("Gelijktijdige wijziging bij %s %r; geen pogingen meer", request.method, raw_path(request),
                exc_info=exc)
    typed = typed_text(request)
    detail = MESSAGES[409][1] + (" Hieronder staat de tekst die u verstuurde." if typed else "")
    return error_response(request, 409, detail, typed)


@exception_view_config(Exception)
def server_error(exc, request):
    log.exception("Onverwachte fout bij %s %r", request.method, raw_path(request))
    return error_response(request, 500)


__all__ = ["HTTPBadRequest", "error_response", "static_error_response"]
