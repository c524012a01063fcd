"""The facets' display names (value -> label per facet), made from the vocabulary of one content generation.

Requests pass the current generation's labels to the search (``RequestSearch``), so a renamed theme shows under
its new name as soon as the rename is committed; the search engine reads its own copy only when no request asks
(warm-up, scripts).
"""

from __future__ import annotations

from portal.content.cards import Vocabulary
from portal.search.documents import TYPE_LABELS


def facet_labels(vocabulary: Vocabulary) -> dict[str, dict[str, str]]:
    regions = {term.slug: term.name for term in vocabulary.regions.values()}
    return {
        "type": dict(TYPE_LABELS),
        "thema": {term.slug: term.name for term in vocabulary.themes.values()},
        "schooltype": {term.slug: term.name for term in vocabulary.school_types.values()},
        "regio": regions,
        "provincie": regions,
    }
