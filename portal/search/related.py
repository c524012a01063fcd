"""Related examples kept per index generation, computed when an example is indexed instead of per page view.

A "more like this" search costs tens of milliseconds and grows with the collection, so the lists are computed by the
index writer right after it applied a change (for the changed examples and the examples that list them), and for
the whole generation by a background warm-up after start-up or a rebuild. A page view only resolves the kept slugs
to their current stored fields, skipping items that are gone or hidden since, so a list never shows a withdrawn
example and always shows current titles. An example not computed yet is computed on first view and kept.

Only slugs are kept, per generation name: memory is a few hundred bytes per example.
"""

from __future__ import annotations

import threading


class RelatedLists:
    def __init__(self):
        self._generation: str | None = None
        self._lists: dict[str, tuple[str, ...]] = {}
        self._lock = threading.Lock()

    def get(self, generation: str, slug: str) -> tuple[str, ...] | None:
        with self._lock:
            if generation != self._generation:
                return None
            return self._lists.get(slug)

    def put(self, generation: str, slug: str, related: tuple[str, ...]) -> None:
        with self._lock:
            if generation != self._generation:
                self._generation, self._lists = generation, {}
            self._lists[slug] = related

    def listing(self, generation: str, slugs: set[str]) -> set[str]:
        """The examples whose kept list names one of ``slugs``."""
        with self._lock:
            if generation != self._generation:
                return set()
            return {owner for owner, related in self._lists.items() if slugs.intersection(related)}

    def __len__(self) -> int:
        return len(self._lists)
