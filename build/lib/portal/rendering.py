"""Markdown to safe HTML: rendered with python-markdown, then sanitised with nh3 (the only way HTML reaches pages)."""

from __future__ import annotations

import functools

import markdown
import nh3
from markupsafe import Markup

ALLOWED_TAGS = {
    "p", "br", "hr", "h2", "h3", "h4", "h5", "h6", "strong", "em", "b", "i", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td", "abbr", "sup", "sub",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "th": {"scope", "colspan", "rowspan"},
                      "td": {"colspan", "rowspan"}, "ol": {"start"}}
URL_SCHEMES = {"http", "https", "mailto"}


@functools.lru_cache(maxsize=4096)
def render_markdown(text: str) -> Markup:
    """Render Markdown and strip anything unsafe (scripts, event handlers, javascript: links, raw HTML)."""
    html = markdown.markdown(text or "", extensions=["tables", "sane_lists"], output_format="html")
    cleaned = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
    )
    return Markup(cleaned)  # noqa: S704 - sanitised by nh3 just above


def includeme(config):
    config.commit()  # make sure pyramid_jinja2's environment exists before we add a filter
    env = config.get_jinja2_environment()
    env.filters["markdown"] = render_markdown
