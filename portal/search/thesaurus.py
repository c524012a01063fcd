"""The search thesaurus: abbreviations, synonyms and variants, read from the editable thesaurus.yaml."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from portal.search.analysis import query_stems

THESAURUS_PATH = Path(__file__).with_name("thesaurus.yaml")


@dataclass(frozen=True)
class Alternative:
    #: The term as the thesaurus spells it (shown to visitors under "ook gezocht op").
    label: str
    #: Its stems as the query side analyses them.
    stems: tuple[str, ...]


class Thesaurus:
    """Maps a sequence of query stems to alternatives. Matching is longest-first over consecutive words."""

    def __init__(self, mapping: dict[tuple[str, ...], list[Alternative]]):
        self._mapping = mapping
        self.max_len = max((len(k) for k in mapping), default=0)

    @classmethod
    def load(cls, path: Path = THESAURUS_PATH) -> Thesaurus:
        # libyaml when present (every app start reads this file; the pure-Python parser took about 0.1 s)
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader) or {}  # noqa: S506 - a safe loader
        mapping: dict[tuple[str, ...], list[Alternative]] = {}

        def add(key_text: str, alt_text: str) -> None:
            key, alt = tuple(query_stems(key_text)), tuple(query_stems(alt_text))
            if not key or not alt or key == alt:
                return
            alternatives = mapping.setdefault(key, [])
            if all(a.stems != alt for a in alternatives):
                alternatives.append(Alternative(alt_text, alt))

        for group in data.get("equivalents") or []:
            terms = [str(t) for t in group]
            for term in terms:
                for other in terms:
                    add(term, other)
        for key, targets in (data.get("broader") or {}).items():
            for target in targets:
                add(str(key), str(target))
        return cls(mapping)

    def phrases(self) -> set[tuple[str, ...]]:
        """Every multi-word term (keys and alternatives) as stems: what the index prepares as single terms."""
        out = {key for key in self._mapping if len(key) > 1}
        out.update(a.stems for alternatives in self._mapping.values() for a in alternatives if len(a.stems) > 1)
        return out

    def alternative_stems(self) -> set[str]:
        """Every stem an expansion may add to a query."""
        return {s for alternatives in self._mapping.values() for a in alternatives for s in a.stems}

    def lookup(self, stems: tuple[str, ...]) -> list[Alternative]:
        return self._mapping.get(stems, [])

    def match(self, stems: list[str]) -> list[tuple[int, int, list[Alternative]]]:
        """Non-overlapping (start, end, alternatives) spans of ``stems``, longest match first."""
        spans = []
        i = 0
        while i < len(stems):
            for length in range(min(self.max_len, len(stems) - i), 0, -1):
                alternatives = self.lookup(tuple(stems[i : i + length]))
                if alternatives:
                    spans.append((i, i + length, alternatives))
                    i += length
                    break
            else:
                i += 1
        return spans
