"""Values computed from the database once per content generation, shared by all requests of one process.

Vocabulary lists and their counts (themes, school types, the region tree) change only when content changes, so
they are read once per content generation (portal.content.generation) instead of once per request. What is kept
are plain frozen snapshots, never ORM objects: those belong to the session (and thread) that loaded them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from portal.content.generation import ContentGeneration

ENVIRON_KEY = "portal.content_generation"


@dataclass(frozen=True)
class Term:
    """A theme, school type or region as pages show it."""

    id: int
    slug: str
    name: str
    description: str = ""
    kind: str = ""


def term(obj) -> Term:
    return Term(obj.id, obj.slug, obj.name, getattr(obj, "description", "") or "", getattr(obj, "kind", "") or "")


class GenerationMemo:
    #: Values per request parameters (a name with "?", e.g. "facets?thema=...") kept per generation at most; beyond
    #: it (every filter combination a crawler tries) they are computed but not kept, so memory stays bounded
    #: whatever the requests. Fixed names (the vocabulary, counts) are always kept: a crawler must not crowd them out.
    MAX_VALUES = 1000

    def __init__(self):
        self._generation: int | None = None
        self._values: dict[str, Any] = {}
        self._per_request = 0
        self._lock = threading.Lock()

    def get(self, generation: int, name: str, compute: Callable[[], Any]) -> Any:
        with self._lock:
            if generation == self._generation and name in self._values:
                return self._values[name]
        value = compute()  # outside the lock: two requests may compute the same value once, never wait on each other
        with self._lock:
            if self._generation is None or generation > self._generation:
                self._generation, self._values, self._per_request = generation, {}, 0
            if generation == self._generation and name not in self._values:
                if "?" not in name:
                    self._values[name] = value
                elif self._per_request < self.MAX_VALUES:
                    self._values[name] = value
                    self._per_request += 1
        return value


def current_generation(request) -> int:
    """The generation this request works with: the page cache's reading, else one read in the request's session."""
    number = request.environ.get(ENVIRON_KEY)
    if number is None:
        number = request.dbsession.scalar(select(ContentGeneration.value).where(ContentGeneration.id == 1)) or 0
        request.environ[ENVIRON_KEY] = number
    return number


def memoized(request, name: str, compute: Callable[[], Any]) -> Any:
    memo = request.registry.get("generation_memo")
    if memo is None:
        return compute()
    return memo.get(current_generation(request), name, compute)


def includeme(config) -> None:
    config.registry["generation_memo"] = GenerationMemo()
