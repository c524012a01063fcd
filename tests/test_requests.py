"""The request class (portal.requests): one class for every request, carrying the request extensions."""

from __future__ import annotations

from pyramid.interfaces import INewRequest, IRequestExtensions
from pyramid.scripting import prepare

EXTENSIONS = ("dbsession", "tm", "search", "links", "application_url")


def test_every_request_is_of_one_class_that_carries_the_extensions(site):
    seen: list = []
    site.registry.registerHandler(lambda event: seen.append(event.request), (INewRequest,))
    app = site.testapp()
    app.get("/")
    app.get("/zoeken?q=jeugdhulp")
    app.get("/voorbeelden/koesterklas-nunspeet")
    assert len(seen) == 3
    assert len({type(request) for request in seen}) == 1  # no class made per request
    request_class = type(seen[0])
    for name in EXTENSIONS:
        assert name in vars(request_class), name
    # Reified per request, as before: each request its own transaction manager and database session.
    assert seen[0].tm is not seen[1].tm
    assert seen[1].__dict__.get("search") is not None
    extensions = site.registry.queryUtility(IRequestExtensions)
    assert not extensions.descriptors and not extensions.methods


def test_scripts_get_the_same_request_class(site):
    env = prepare(registry=site.registry)
    try:
        request = env["request"]
        for name in EXTENSIONS:
            assert name in vars(type(request)), name
        assert request.links.voorbeelden.endswith("/voorbeelden")
    finally:
        env["closer"]()
