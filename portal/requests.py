"""One request class that carries the request extensions, built once at start-up.

``config.add_request_method`` (``request.dbsession``, ``request.tm``, ``request.search``, ``request.links``...)
keeps properties aside, and Pyramid applies them by creating a new subclass of the request class for every request
(``pyramid.util.InstancePropertyHelper.apply_properties``). That costs some 30 µs a request, the new class starts
with empty attribute caches, and each one is garbage that only the cycle collector frees. Here the extensions go,
once, onto one subclass that becomes the request factory: the same descriptors and methods, found the same way.
"""

from __future__ import annotations

from pyramid.interfaces import IRequestExtensions, IRequestFactory
from pyramid.request import Request


def fold_request_extensions(config) -> None:
    """Move every request extension registered so far onto one request class (call after the last include)."""
    config.commit()
    registry = config.registry
    extensions = registry.queryUtility(IRequestExtensions)
    if extensions is None or not (extensions.descriptors or extensions.methods):
        return
    base = registry.queryUtility(IRequestFactory, default=Request)
    attributes = {**extensions.methods, **extensions.descriptors, "__module__": base.__module__}
    request_class = type(base.__name__, (base,), attributes)
    # Nothing is left to apply per request: the router then only builds the request.
    extensions.descriptors = {}
    extensions.methods = {}
    config.set_request_factory(request_class)
    config.commit()
