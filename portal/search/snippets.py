"""Search-result snippets: short excerpts of a stored text with the matched words in <mark>."""

from __future__ import annotations

import html

from whoosh import highlight

from portal.search.analysis import fold


class MarkFormatter(highlight.Formatter):
    """Snippets as HTML: every piece of text escaped, matched words in <mark>."""

    between = " … "

    def _text(self, text):
        return html.escape(text, quote=False)

    def format_token(self, text, token, replace=False):
        return f"<mark>{html.escape(highlight.get_text(text, token, replace), quote=False)}</mark>"


SNIPPET_WINDOW = 260


def snippets(text: str, terms: set[str], analyzer, limit: int = 2) -> list[str]:
    """Up to ``limit`` HTML snippets of ``text`` with the matched words in <mark> (everything else escaped).

    Analysing a whole body per hit is slow, so we first look for the places where a term can occur (its first
    letters in the folded text) and analyse only windows around them.
    """
    if limit <= 0:
        return []
    folded = fold(text)
    if len(folded) != len(text):
        folded = text.lower()
    probes = {t[: max(4, len(t) - 2)] for t in terms if len(t) >= 2}
    positions = sorted(p for p in (folded.find(probe) for probe in probes) if p >= 0)
    out: list[str] = []
    covered_until = -1
    formatter = MarkFormatter()
    for pos in positions:
        if pos < covered_until or len(out) >= limit:
            continue
        start = max(0, pos - SNIPPET_WINDOW // 3)
        if start:
            space = text.find(" ", start)
            start = space + 1 if 0 <= space < pos else start
        end = min(len(text), start + SNIPPET_WINDOW)
        if end < len(text):
            space = text.rfind(" ", pos, end)
            end = space if space > pos else end
        excerpt = " ".join(text[start:end].split())
        marked = highlight.highlight(
            excerpt, terms, analyzer, highlight.WholeFragmenter(), formatter, top=1, mode="index"
        )
        covered_until = end
        if "<mark>" not in marked:
            continue
        out.append(("… " if start else "") + marked + (" …" if end < len(text) else ""))
    return out
