"""Markdown to safe HTML: rendered with python-markdown, then sanitised with nh3 (the only way HTML reaches pages).

Links between content files are written as relative file paths, the way they work in an editor or on GitHub
(``../voorbeelden/koesterklas-nunspeet.md``, ``../kennis/werkprincipes-onderwijszorgarrangement.md#aanpak``). While
rendering, such links become the portal's page URLs (``/voorbeelden/koesterklas-nunspeet``), wherever Markdown is
rendered: pages, the API's HTML fields, previews.
"""

from __future__ import annotations

import functools
import posixpath
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from urllib.parse import urlsplit

import markdown
import nh3
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor
from markupsafe import Markup

ALLOWED_TAGS = {
    "p", "br", "hr", "h2", "h3", "h4", "h5", "h6", "strong", "em", "b", "i", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td", "abbr", "sup", "sub",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "th": {"scope", "colspan", "rowspan"},
                      "td": {"colspan", "rowspan"}, "ol": {"start"}}
URL_SCHEMES = {"http", "https", "mailto"}

# content directory -> URL prefix of its item pages (portal.routes: voorbeeld, kennisartikel, bron)
CONTENT_DIRS = {"voorbeelden": "/voorbeelden", "kennis": "/kennis", "bronnen": "/bronnen"}
_SLUG_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


@functools.lru_cache(maxsize=4096)
def content_link(href: str, base_dir: str | None = None) -> tuple[str, str, str] | None:
    """``(directory, slug, fragment)`` when ``href`` is a relative link to a content file, else None.

    ``base_dir`` is the content directory of the file the link is written in (``kennis``), used for links without
    a directory (``x.md``, ``./x.md``). A link that leaves the content tree or names another directory is not a
    content link (None), nor is anything with a scheme, a host or a query.
    """
    parts = urlsplit(href.strip())
    if parts.scheme or parts.netloc or parts.query or not parts.path.endswith(".md"):
        return None
    path = parts.path
    if path.startswith("/"):
        return None
    if base_dir is not None:
        path = posixpath.normpath(posixpath.join(base_dir, path))
    else:
        path = posixpath.normpath(path)
        while path.startswith("../"):
            path = path[3:]
    segments = path.split("/")
    if len(segments) == 1 and base_dir is None:
        return ("", segments[0][:-3], parts.fragment)
    if len(segments) != 2 or segments[0] not in CONTENT_DIRS:
        return None
    return (segments[0], segments[1][:-3], parts.fragment)


def content_link_url(href: str, base_dir: str | None = None) -> str | None:
    """The page URL for a link to a content file, or None when ``href`` is not one (then it stays as written).

    Without ``base_dir`` a bare ``x.md`` becomes the relative URL ``x``: the pages that render a content body live
    under the URL prefix of the body's own directory, so the browser resolves it there.
    """
    found = content_link(href, base_dir)
    if found is None:
        return None
    directory, slug, fragment = found
    url = f"{CONTENT_DIRS[directory]}/{slug}" if directory else slug
    return url + (f"#{fragment}" if fragment else "")


class _ContentLinks(Treeprocessor):
    def run(self, root):
        for element in root.iter("a"):
            href = element.get("href")
            url = content_link_url(href) if href else None
            if url is not None:
                element.set("href", url)


class ContentLinkExtension(Extension):
    """Rewrites links to content files (``../kennis/x.md``) into page URLs (``/kennis/x``)."""

    def extendMarkdown(self, md):
        # after "inline" (priority 20), which creates the <a> elements
        md.treeprocessors.register(_ContentLinks(md), "portal_content_links", 5)


@functools.lru_cache(maxsize=4096)
def render_markdown(text: str) -> Markup:
    """Render Markdown and strip anything unsafe (scripts, event handlers, javascript: links, raw HTML)."""
    html = markdown.markdown(text or "", extensions=["tables", "sane_lists", ContentLinkExtension()],
                             output_format="html")
    cleaned = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
    )
    # Tables scroll inside their own box on small screens: keyboard users must be able to reach and scroll it.
    cleaned = cleaned.replace("<table>", '<table tabindex="0">')
    return Markup(cleaned)  # noqa: S704 - sanitised by nh3 just above


class FragmentCache:
    """Rendered HTML by a key that says everything the HTML depends on, so an entry is never stale, only unused.

    Bounded: beyond ``size`` entries the least recently used go. Shared by the threads of a process.
    """

    def __init__(self, size: int):
        self.size = size
        self._entries: OrderedDict[object, Markup] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key, render: Callable[[], str]) -> Markup:
        with self._lock:
            html = self._entries.get(key)
            if html is not None:
                self._entries.move_to_end(key)
                return html
        html = Markup(render())  # noqa: S704 - a macro's output, escaped by the template
        with self._lock:
            self._entries[key] = html
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return html


#: About 1 kB each: 10,000 cards at most.
CARDS = FragmentCache(10_000)


def card_html(example, heading: str, script_name: str, render) -> Markup:
    """An example card (templates/macros/cards.jinja2): kept per card value when it is a frozen Card, whose fields
    are all the macro reads; rendered every time for anything else (a PracticeExample can change under its id)."""
    from portal.content.cards import Card

    if not isinstance(example, Card):
        return Markup(render(example, heading))  # noqa: S704 - a macro's output
    return CARDS.get((example, heading, script_name), lambda: render(example, heading))


def cards_html(examples, heading: str, script_name: str, render) -> Markup:
    """Several cards (card_html) one after the other."""
    return Markup("").join(card_html(e, heading, script_name, render) for e in examples)


#: Parts of the layout that depend only on the portal's fixed addresses: a few per script name.
LAYOUT_PARTS = FragmentCache(64)


def layout_part(name: str, script_name: str, render) -> Markup:
    """A part of the layout (templates/layout.jinja2) that links only ``request.links``, which depend on nothing
    but the script name: rendered once per script name instead of on every page."""
    return LAYOUT_PARTS.get((name, script_name), render)


def idle_text(settings) -> str:
    """How long a login session may stay idle before it ends, in Dutch words ("2 uur", "45 minuten")."""
    from portal.accounts.sessions import idle_limit

    minutes = round(idle_limit(settings).total_seconds() / 60)
    if minutes and minutes % 60 == 0:
        return f"{minutes // 60} uur"
    return f"{minutes} {'minuut' if minutes == 1 else 'minuten'}"


def includeme(config):
    config.commit()  # make sure pyramid_jinja2's environment exists before we add a filter
    env = config.get_jinja2_environment()
    env.filters["markdown"] = render_markdown
    env.filters["idle_text"] = idle_text
    env.globals["card_html"] = card_html
    env.globals["cards_html"] = cards_html
    env.globals["layout_part"] = layout_part
