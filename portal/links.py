"""The portal's fixed addresses (menu, footer, style sheets), worked out once per application instead of per page.

Every page's layout links the same dozen routes and static files. Generating each of them through Pyramid's URL
machinery cost some 25 calls and 0.1 ms per page; they depend only on the script name (the path a proxy mounts
the portal under), so they are computed once per script name and read as attributes (``request.links.over``).
"""

from __future__ import annotations

import threading
from types import SimpleNamespace

#: Routes linked from the layout and the pages every visitor sees; attribute name = route name.
ROUTES = (
    "home", "voorbeelden", "themas", "regios", "kennis", "bronnen", "over", "privacy", "toegankelijkheid",
    "colofon", "zoeken", "feed_voorbeelden", "bijdragen", "inloggen", "api_voorbeelden",
)
#: Static files of the layout: attribute name -> asset spec.
STATIC = {
    "portal_css": "portal:static/portal.css",
    "print_css": "portal:static/print.css",
    "favicon": "portal:static/favicon.svg",
    "search_css": "portal:static/search.css",
}
#: Script names remembered per application: a proxy mounts the portal under one or two; this bounds what odd
#: SCRIPT_NAME values could add.
MAX_SCRIPT_NAMES = 8


class _LinkTable:
    def __init__(self):
        self._by_script_name: dict[str, SimpleNamespace] = {}
        self._lock = threading.Lock()

    def for_request(self, request) -> SimpleNamespace:
        script_name = request.script_name
        links = self._by_script_name.get(script_name)
        if links is None:
            links = SimpleNamespace(
                **{name: request.route_path(name) for name in ROUTES},
                **{name: request.static_path(spec) for name, spec in STATIC.items()},
            )
            with self._lock:
                if len(self._by_script_name) < MAX_SCRIPT_NAMES:
                    self._by_script_name[script_name] = links
        return links


def includeme(config):
    table = _LinkTable()
    config.add_request_method(table.for_request, "links", reify=True)
