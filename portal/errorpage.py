"""The last resort: an exception that escapes every other tween becomes a small static Dutch error page.

Exception views cover what views raise. Some errors happen where they cannot: pyramid_tm looks up the user before
the exception-view tween runs (a database that is down fails there), an exception view may itself fail, and so
may a commit. Without this tween the server would answer with its own English "Internal Server Error".
"""

from __future__ import annotations

import logging

from pyramid.tweens import INGRESS, MAIN
from pyramid_retry import is_error_retryable

from portal.views.errors import static_error_response

log = logging.getLogger(__name__)


def last_resort_tween_factory(handler, registry):
    def tween(request):
        try:
            return handler(request)
        except Exception as exc:
            if is_error_retryable(request, exc):
                raise  # pyramid_retry runs the request again
            log.exception("Fout buiten de foutpagina's om bij %s %r", request.method,
                          request.environ.get("PATH_INFO", ""))
            return static_error_response(request.environ, 500)

    return tween


def includeme(config):
    # Outermost: above the access log and the security headers where they exist (so the log records the 500 that is
    # sent), else directly under the ingress.
    config.add_tween("portal.errorpage.last_resort_tween_factory", under=INGRESS,
                     over=("portal.tweens.access_log_tween_factory", "portal.tweens.security_headers_tween_factory",
                           MAIN))
