"""Kennisportaal Onderwijs & Jeugd: the WSGI application factory."""

from pyramid.config import Configurator
from pyramid.settings import asbool

# Registers the search outbox listener on every SQLAlchemy session (web, scripts such as portal-load, tests), so
# each content change writes its SearchOutbox row in the same transaction.
import portal.search.outbox  # noqa: F401
from portal import activity, gcfreeze, pagecache
from portal.environment import with_environment
from portal.requests import fold_request_extensions


def main(global_config, **settings):
    """Build the WSGI application from ini settings (and the environment, see portal.environment)."""
    settings = with_environment(settings)
    config = Configurator(settings=settings)
    try:
        with config:
            config.include("pyramid_jinja2")
            config.include("portal.models")
            config.include("portal.security")
            config.include("portal.rendering")
            config.include("portal.links")
            config.include("portal.routes")
            config.include("portal.search")
            config.include("portal.mail")
            config.include("portal.tweens")
            config.include("portal.pagecache")
            config.include("portal.content.memo")
            config.include("portal.errorpage")
            config.include("portal.workflow.forms")
            config.scan("portal.views")
        # Last: every request extension is registered by now (portal.requests).
        fold_request_extensions(config)
    except BaseException:
        # A setting refused after the search service started (its index writer thread, open index files) must not
        # leave them running in a process that carries on: a test run, a supervisor that builds the app again.
        close = getattr(config.registry, "portal_close", None)
        if callable(close):
            close()
        raise
    # The page cache answers anonymous hits before Pyramid's router (portal.pagecache); around it, the count of
    # requests in flight that background work waits for (portal.activity).
    app = activity.wrap(pagecache.wrap(config.make_wsgi_app()))
    if asbool(settings.get("portal.gc_freeze")):
        gcfreeze.freeze("start")
    return app
