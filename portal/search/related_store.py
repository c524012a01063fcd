"""Stored related lists: the file in a generation directory (``RELATED_FILE``), what a process serves from it
(``RelatedLists``), and how kept slugs become what a page shows (``resolve_kept``). The lists are computed in
``portal.search.related``."""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path

from portal.search.stored import StoredDocuments

log = logging.getLogger(__name__)

#: The file in a generation directory (see portal.search.index).
RELATED_FILE = "related.json"
FORMAT = 1


# -- the file -----------------------------------------------------------------------------------------------------


@dataclass
class RelatedState:
    """What RELATED_FILE holds: per example its kept list and its key terms, the index state (TOC generation) the
    newest lists were computed from, and the examples whose lists are still to be computed again (``outdated``: an
    update that gave way to newer index changes left them; whichever process updates next does them first)."""

    toc: int = 0
    lists: dict[str, tuple[str, ...]] = field(default_factory=dict)
    key_terms: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    outdated: set[str] = field(default_factory=set)

    def dumps(self) -> str:
        """Three JSON lines: header, lists, key terms (readers stop after the second). Slugs and terms are
        numbered once: the file stays about 150 bytes per example."""
        slugs = sorted(set(self.lists) | set(self.key_terms) | {s for kept in self.lists.values() for s in kept})
        number = {slug: n for n, slug in enumerate(slugs)}
        terms = sorted({term for keys in self.key_terms.values() for term, _tf in keys})
        term_number = {term: n for n, term in enumerate(terms)}
        header = {"format": FORMAT, "toc": self.toc, "examples": len(self.lists), "outdated": sorted(self.outdated)}
        lists = {"slugs": slugs, "lists": {str(number[s]): [number[o] for o in kept] for s, kept in self.lists.items()}}
        keys = {"terms": terms,
                "keys": {str(number[s]): [x for term, tf in kt for x in (term_number[term], tf)]
                         for s, kt in self.key_terms.items()}}
        return "\n".join(json.dumps(part, separators=(",", ":"), ensure_ascii=False)
                         for part in (header, lists, keys)) + "\n"

    @classmethod
    def read(cls, path: Path, key_terms: bool = True) -> RelatedState | None:
        """The state in a generation directory, or None when there is none or it is unreadable (an index built
        before lists were stored, or a damaged file: lists are then computed on view)."""
        try:
            with (path / RELATED_FILE).open(encoding="utf-8") as f:
                header = json.loads(f.readline())
                if not isinstance(header, dict) or header.get("format") != FORMAT:
                    return None
                part = json.loads(f.readline())
                slugs = part["slugs"]
                state = cls(int(header["toc"]), outdated={str(slug) for slug in header.get("outdated", ())})
                state.lists = {slugs[int(s)]: tuple(slugs[o] for o in kept) for s, kept in part["lists"].items()}
                if key_terms:
                    part = json.loads(f.readline())
                    terms = part["terms"]
                    state.key_terms = {slugs[int(s)]: [(terms[flat[i]], int(flat[i + 1]))
                                                       for i in range(0, len(flat) - 1, 2)]
                                       for s, flat in part["keys"].items()}
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError, KeyError, IndexError, AttributeError):
            log.warning("verwante voorbeelden in %s onleesbaar; ze worden bij bekijken berekend", path, exc_info=True)
            return None
        return state

    def write(self, path: Path) -> None:
        tmp = path / f".{RELATED_FILE}.{secrets.token_hex(4)}.tmp"
        tmp.write_text(self.dumps(), encoding="utf-8")
        os.replace(tmp, path / RELATED_FILE)


def file_identity(path: Path) -> tuple | None:
    """Changes whenever the file is replaced (os.replace gives it a new inode)."""
    try:
        st = (path / RELATED_FILE).stat()
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


# -- in a process -------------------------------------------------------------------------------------------------


class RelatedLists:
    """The lists a process serves: those of its generation's file (read again whenever the file is replaced) and,
    for examples the file lacks, lists computed on view, kept until the index changes."""

    def __init__(self):
        self._lock = threading.Lock()
        self._source: tuple | None = None  # (generation path, file identity) of the lists read
        self._lists: dict[str, tuple[str, ...]] = {}
        self._toc = -1
        self._computed: tuple[object, dict[str, tuple[str, ...]]] = (None, {})
        #: Lists this process computed on view (tests and logs: a stored list needs none).
        self.computed_on_view = 0

    def follow(self, path: Path | None) -> None:
        """Read the generation's file when it is new or replaced (a stat per call; no lock held while parsing)."""
        if path is None:
            return
        source = (str(path), file_identity(path))
        with self._lock:
            if source == self._source:
                return
        state = RelatedState.read(path, key_terms=False) if source[1] is not None else None
        with self._lock:
            self._source = source
            self._lists = state.lists if state is not None else {}
            self._toc = state.toc if state is not None else -1

    def get(self, path: Path, version, slug: str) -> tuple[str, ...] | None:
        with self._lock:
            if self._source is not None and self._source[0] == str(path):
                kept = self._lists.get(slug)
                if kept is not None:
                    return kept
            key, computed = self._computed
            return computed.get(slug) if key == (str(path), version) else None

    def put_computed(self, path: Path, version, slug: str, kept: tuple[str, ...]) -> None:
        with self._lock:
            key = (str(path), version)
            if self._computed[0] != key:
                self._computed = (key, {})
            self._computed[1][slug] = kept
            self.computed_on_view += 1

    @property
    def toc(self) -> int:
        """The index state (TOC generation) the lists read were computed from; -1 without a file."""
        return self._toc

    def __len__(self) -> int:
        return len(self._lists)


def resolve_kept(view, kept: tuple[str, ...], limit: int, stored: StoredDocuments) -> list[dict]:
    """The kept slugs as they are now in ``view`` (an IndexView): gone or hidden examples are skipped, titles are
    current (read through ``stored``, the engine's decoded documents)."""
    searcher = view.searcher
    out = []
    for other in kept:
        key = f"voorbeeld:{other}"
        if key in view.hidden:
            continue
        docnum = searcher.document_number(key=key)
        if docnum is None:
            continue
        fields, data = stored.get(searcher, docnum)
        out.append({
            "slug": fields["slug"],
            "title": fields["title"],
            "place": data.get("place", ""),
            "summary": fields.get("summary", ""),
            "route": data.get("route", "voorbeeld"),
        })
        if len(out) >= limit:
            break
    return out
