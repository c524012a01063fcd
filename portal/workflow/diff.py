"""Readable differences between two versions of a field, for editors: per word within paragraphs.

Every changed run of words is one ``<del>`` (old text) followed by one ``<ins>`` (new text), each starting with a
visually hidden "verwijderd:" / "toegevoegd:" for screen readers; the markers themselves are styled by CSS (no "+"
or "-" characters in the text). Paragraphs are matched first, so a change in one paragraph does not strike and
re-add the whole text; unchanged paragraphs far from a change are folded into a count. Lists (themes, tips,
partners, contacts) are compared item by item. Everything from the content is escaped.

Pure functions on plain values: no database, no request.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Callable, Iterable
from typing import Any

from markupsafe import Markup, escape

#: Words (letters and digits in any script), single punctuation marks, and runs of whitespace.
TOKEN_RE = re.compile(r"\w+|[^\w\s]|\s+")
PARAGRAPH_RE = re.compile(r"\n[ \t]*\n\s*")

DEL_OPEN = Markup('<del class="wd-del"><span class="visually-hidden">verwijderd: </span>')
INS_OPEN = Markup('<ins class="wd-ins"><span class="visually-hidden">toegevoegd: </span>')
DEL_CLOSE, INS_CLOSE = Markup("</del>"), Markup("</ins>")

LEGEND = Markup(
    '<p class="wd-legend"><span class="wd-legend-title">Legenda:</span> '
    '<ins class="wd-ins"><span class="visually-hidden">toegevoegd: </span>toegevoegde tekst</ins> '
    '<del class="wd-del"><span class="visually-hidden">verwijderd: </span>verwijderde tekst</del> '
    'en gewone tekst is niet veranderd.</p>')


def tokens(text: str) -> list[str]:
    return TOKEN_RE.findall(text)


def paragraphs(text: str) -> list[str]:
    text = (text or "").replace("\r\n", "\n").strip()
    return [p.strip() for p in PARAGRAPH_RE.split(text) if p.strip()] if text else []


def _deleted(text: str) -> Markup:
    return DEL_OPEN + escape(text) + DEL_CLOSE if text else Markup("")


def _inserted(text: str) -> Markup:
    return INS_OPEN + escape(text) + INS_CLOSE if text else Markup("")


def _runs(old: list[str], new: list[str]) -> list[tuple[str, str, str]]:
    """(tag, old text, new text) runs; a whitespace-only equal run between two changes joins them, so a changed
    phrase reads as one deletion and one insertion instead of word, space, word."""
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    runs: list[tuple[str, str, str]] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        runs.append(("equal" if tag == "equal" else "change", "".join(old[i1:i2]), "".join(new[j1:j2])))
    merged: list[tuple[str, str, str]] = []
    index = 0
    while index < len(runs):
        tag, a, b = runs[index]
        after_change = bool(merged) and merged[-1][0] == "change"
        before_change = index + 1 < len(runs) and runs[index + 1][0] == "change"
        if after_change and (tag == "change" or (not a.strip() and before_change)):
            merged[-1] = ("change", merged[-1][1] + a, merged[-1][2] + b)
        else:
            merged.append((tag, a, b))
        index += 1
    return merged


def _common_space(a: str, b: str) -> tuple[str, str, str, str]:
    """Whitespace both sides share at the start and end of a change stays outside the markers:
    (lead, old, new, trail). Whitespace only one side has stays inside, so each side reads exactly as written."""
    start = 0
    while start < min(len(a), len(b)) and a[start] == b[start] and a[start].isspace():
        start += 1
    a_rest, b_rest = a[start:], b[start:]
    end = 0
    while (end < min(len(a_rest), len(b_rest)) and a_rest[-1 - end] == b_rest[-1 - end]
           and a_rest[-1 - end].isspace()):
        end += 1
    trail = a_rest[len(a_rest) - end:] if end else ""
    return a[:start], a_rest[: len(a_rest) - end], b_rest[: len(b_rest) - end], trail


def word_diff(old: str, new: str) -> Markup:
    """Inline HTML for one paragraph (or one line): unchanged words plain, changed runs as <del> then <ins>."""
    parts = []
    for tag, a, b in _runs(tokens(old or ""), tokens(new or "")):
        if tag == "equal":
            parts.append(escape(a))
            continue
        lead, a, b, trail = _common_space(a, b)
        parts.append(escape(lead) + _deleted(a) + _inserted(b) + escape(trail))
    return Markup("").join(parts)


PARAGRAPH_OPEN = {"": Markup("<p>"), "added": Markup('<p class="wd-added">'),
                  "removed": Markup('<p class="wd-removed">')}


def _paragraph(html: Markup, kind: str = "") -> Markup:
    return PARAGRAPH_OPEN[kind] + html + Markup("</p>")


def _folded(count: int) -> Markup:
    noun = "alinea" if count == 1 else "alinea's"
    return Markup('<p class="wd-folded">… ') + escape(f"{count} ongewijzigde {noun}") + Markup(" …</p>")


def text_diff(old: str, new: str, context: int = 1) -> Markup:
    """A block of paragraphs: paragraphs are matched first, then changed pairs are compared per word.

    Unchanged paragraphs more than ``context`` paragraphs away from a change are folded into a count."""
    old_paras, new_paras = paragraphs(old), paragraphs(new)
    blocks: list[tuple[bool, Markup]] = []  # (changed, html)
    matcher = difflib.SequenceMatcher(None, old_paras, new_paras, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            blocks.extend((False, _paragraph(escape(p))) for p in old_paras[i1:i2])
            continue
        olds, news = old_paras[i1:i2], new_paras[j1:j2]
        for index in range(max(len(olds), len(news))):
            a = olds[index] if index < len(olds) else None
            b = news[index] if index < len(news) else None
            if a is None:
                blocks.append((True, _paragraph(_inserted(b or ""), "added")))
            elif b is None:
                blocks.append((True, _paragraph(_deleted(a), "removed")))
            else:
                blocks.append((True, _paragraph(word_diff(a, b))))
    changed = [n for n, (is_changed, _html) in enumerate(blocks) if is_changed]
    out: list[Markup] = []
    hidden = 0
    for n, (is_changed, html) in enumerate(blocks):
        if is_changed or any(abs(n - c) <= context for c in changed):
            if hidden:
                out.append(_folded(hidden))
                hidden = 0
            out.append(html)
        else:
            hidden += 1
    if hidden:
        out.append(_folded(hidden))
    return Markup('<div class="wd-text">') + Markup("").join(out) + Markup("</div>")


def list_diff(old: Iterable[str], new: Iterable[str]) -> Markup:
    """A list compared item by item: removed items struck, added items marked, a changed item per word."""
    old_items, new_items = list(old), list(new)
    rows: list[Markup] = []
    matcher = difflib.SequenceMatcher(None, old_items, new_items, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            rows.extend(Markup("<li>") + escape(item) + Markup("</li>") for item in old_items[i1:i2])
            continue
        olds, news = old_items[i1:i2], new_items[j1:j2]
        for index in range(max(len(olds), len(news))):
            a = olds[index] if index < len(olds) else None
            b = news[index] if index < len(news) else None
            if a is None:
                rows.append(Markup('<li class="wd-added">') + _inserted(b or "") + Markup("</li>"))
            elif b is None:
                rows.append(Markup('<li class="wd-removed">') + _deleted(a) + Markup("</li>"))
            else:
                rows.append(Markup("<li>") + word_diff(a, b) + Markup("</li>"))
    if not rows:
        return Markup('<p class="wd-empty">(leeg)</p>')
    return Markup('<ul class="wd-list">') + Markup("").join(rows) + Markup("</ul>")


def contact_line(contact: dict[str, Any]) -> str:
    visibility = "openbaar" if contact.get("public") else "alleen redactie"
    consent = ", toestemming gegeven" if contact.get("consent") else ""
    parts = [str(contact.get(k) or "").strip() for k in ("name", "role", "organisation", "email")]
    return " · ".join(p for p in parts if p) + f" ({visibility}{consent})"


def as_items(field: str, value: Any, label: Callable[[str, str], str] | None = None) -> list[str]:
    """A list field's items as display text (vocabulary slugs through ``label`` when given)."""
    if not value:
        return []
    if field == "contacts":
        return [contact_line(c) for c in value]
    return [label(field, str(v)) if label else str(v) for v in value]


def as_text(field: str, value: Any, label: Callable[[str, str], str] | None = None) -> str:
    if value is None:
        return ""
    if label is not None and isinstance(value, str) and value:
        return label(field, value)
    return str(value)


def field_value(field: str, value: Any, label: Callable[[str, str], str] | None = None) -> Markup:
    """One field's whole value without markers (for a first review): paragraphs, or a list."""
    if isinstance(value, list):
        items = as_items(field, value, label)
        if not items:
            return Markup('<p class="wd-empty">(leeg)</p>')
        return Markup('<ul class="wd-list">') + Markup("").join(
            Markup("<li>") + escape(item) + Markup("</li>") for item in items) + Markup("</ul>")
    paras = paragraphs(as_text(field, value, label))
    if not paras:
        return Markup('<p class="wd-empty">(leeg)</p>')
    return Markup('<div class="wd-text">') + Markup("").join(_paragraph(escape(p)) for p in paras) + Markup("</div>")


@dataclasses.dataclass(frozen=True)
class FieldChange:
    field: str
    label: str
    html: Markup


def field_diff(field: str, old: Any, new: Any, label: Callable[[str, str], str] | None = None) -> Markup | None:
    """HTML for one field's change, or None when it did not change."""
    if old == new or (not old and not new):
        return None
    if isinstance(old, list) or isinstance(new, list):
        return list_diff(as_items(field, old, label), as_items(field, new, label))
    return text_diff(as_text(field, old, label), as_text(field, new, label))


def snapshot_changes(old: dict[str, Any], new: dict[str, Any], labels: dict[str, str],
                     label: Callable[[str, str], str] | None = None) -> list[FieldChange]:
    """The changed fields, in the order of ``labels`` (field -> label shown)."""
    changes = []
    for field, title in labels.items():
        html = field_diff(field, old.get(field), new.get(field), label)
        if html is not None:
            changes.append(FieldChange(field, title, html))
    return changes
