"""From what a person types to a gemeente: municipality names, their aliases and woonplaatsen.

"sudwest fryslan", "Den Bosch", "Cadier en Keer" and "JOURE" all resolve to one gemeente; case, diacritics,
punctuation and a leading "gemeente" do not matter. A woonplaats that lies in two gemeenten resolves to both, and
the caller asks which one. Used by portal-load (unknown gemeente in a content file: suggestions) and by the
contribution form (the gemeente field is a text field with a list of all gemeenten).

The data: gemeenten with aliases from vocabulaire/regios.yaml (or the regions table), woonplaatsen from
vocabulaire/woonplaatsen.csv (woonplaats,gemeente-slug).
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import functools
import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path

PLACES_FILE = "woonplaatsen.csv"
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_PREFIX = re.compile(r"^(gemeente|gem)\s+")


def normalise(text: str) -> str:
    """Lower case, no diacritics, punctuation as spaces, single spaces: 'Súdwest-Fryslân' -> 'sudwest fryslan'."""
    text = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode().lower()
    text = " ".join(_NON_ALNUM.sub(" ", text).split())
    return _PREFIX.sub("", text)


@dataclasses.dataclass(frozen=True)
class Resolution:
    """The outcome of resolving a text: one gemeente (``slug``), several (``candidates``), or none."""

    slug: str | None = None
    candidates: tuple[str, ...] = ()  # gemeente slugs when the text names a place in more than one gemeente
    suggestions: tuple[str, ...] = ()  # display texts of close matches when nothing matched exactly


class PlaceIndex:
    """Lookup from normalised names (gemeente, alias, woonplaats, slug) to gemeente slugs."""

    def __init__(self, municipalities: Iterable[tuple[str, str, Iterable[str]]],
                 places: Iterable[tuple[str, str]] = ()):
        self.names: dict[str, str] = {}  # slug -> display name
        self._keys: dict[str, set[str]] = {}  # normalised text -> gemeente slugs
        self._labels: dict[str, str] = {}  # normalised text -> how to show it as a suggestion
        self._own: dict[str, set[str]] = {}  # normalised gemeente name, slug or alias -> gemeente slugs
        for slug, name, aliases in municipalities:
            self.names[slug] = name
            short = name.split("(")[0]  # "Bergen" for Bergen (NH) and Bergen (L): asks which one
            for text in {name, slug, short, *aliases}:
                self._add(text, slug, name)
                if normalise(text):
                    self._own.setdefault(normalise(text), set()).add(slug)
        for place, slug in places:
            if slug in self.names:
                self._add(place, slug, f"{place} (gemeente {self.names[slug]})")

    @staticmethod
    @functools.lru_cache(maxsize=8)
    def cached(municipalities: tuple[tuple[str, str, tuple[str, ...]], ...],
               places: tuple[tuple[str, str], ...]) -> PlaceIndex:
        """The same index for the same data (the form builds it on every request; read-only once built)."""
        return PlaceIndex(municipalities, places)

    def _add(self, text: str, slug: str, label: str) -> None:
        key = normalise(text)
        if not key:
            return
        self._keys.setdefault(key, set()).add(slug)
        if key not in self._labels or self._labels[key] != self.names.get(slug):
            self._labels.setdefault(key, label)

    def resolve(self, text: str) -> Resolution:
        key = normalise(text)
        # A gemeente's own name wins over a woonplaats of the same name elsewhere (Beek, Bergen, Hengelo).
        found = self._own.get(key) or self._keys.get(key)
        if found and len(found) == 1:
            return Resolution(slug=next(iter(found)))
        if found:
            return Resolution(candidates=tuple(sorted(found, key=lambda s: self.names[s])))
        return Resolution(suggestions=self.suggest(text))

    def _close(self, text: str, limit: int) -> list[str]:
        key = normalise(text)
        if not key:
            return []
        close = difflib.get_close_matches(key, self._keys.keys(), n=limit * 2, cutoff=0.75)
        if not close:  # a part of a longer name ("fryslan")
            close = [k for k in self._keys if key in k.split() or (len(key) > 3 and k.startswith(key))][:limit * 2]
        return close

    def suggest(self, text: str, limit: int = 4) -> tuple[str, ...]:
        """Display texts of the names closest to ``text`` ("Harderwijk", "Joure (gemeente De Fryske Marren)")."""
        labels: list[str] = []
        for match in self._close(text, limit):
            if self._labels[match] not in labels:
                labels.append(self._labels[match])
        return tuple(labels[:limit])

    def suggest_slugs(self, text: str, limit: int = 4) -> tuple[str, ...]:
        """The gemeenten of the names closest to ``text``."""
        slugs: list[str] = []
        for match in self._close(text, limit):
            slugs += [s for s in sorted(self._keys[match]) if s not in slugs]
        return tuple(slugs[:limit])

    def describe(self, resolution: Resolution, text: str) -> str:
        """A Dutch sentence for a text that did not resolve to exactly one gemeente."""
        if resolution.candidates:
            names = ", ".join(self.names[s] for s in resolution.candidates)
            return f"'{text}' ligt in meer dan één gemeente ({names}); typ de naam van de gemeente."
        hint = f" Bedoelt u: {', '.join(resolution.suggestions)}?" if resolution.suggestions else ""
        return f"Geen gemeente of woonplaats gevonden met de naam '{text}'.{hint}"


def read_places(path: Path) -> list[tuple[str, str]]:
    """(woonplaats, gemeente-slug) rows of a woonplaatsen.csv; lines starting with # are comments.

    Raises ValueError naming the line for a malformed row (portal-load turns that into a ContentError)."""
    rows: list[tuple[str, str]] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    data = [(number, line) for number, line in enumerate(lines, start=1) if line.strip() and not line.startswith("#")]
    if not data or [c.strip() for c in next(csv.reader([data[0][1]]))] != ["woonplaats", "gemeente"]:
        raise ValueError("de eerste regel moet 'woonplaats,gemeente' zijn", data[0][0] if data else None)
    for number, line in data[1:]:
        fields = next(csv.reader([line]))
        if len(fields) != 2 or not fields[0].strip() or not fields[1].strip():
            raise ValueError("verwacht twee kolommen: woonplaats,gemeente", number)
        rows.append((fields[0].strip(), fields[1].strip()))
    return rows


@functools.lru_cache(maxsize=4)
def _cached_places(path: str, mtime: float) -> tuple[tuple[str, str], ...]:
    try:
        return tuple(read_places(Path(path)))
    except (OSError, ValueError):
        return ()


def places_in(content_dir: str | Path | None) -> tuple[tuple[str, str], ...]:
    """The woonplaatsen of a content directory (empty when it has none); re-read only when the file changes."""
    if not content_dir:
        return ()
    path = Path(content_dir) / "vocabulaire" / PLACES_FILE
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return ()
    return _cached_places(str(path), mtime)
