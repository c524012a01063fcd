"""Index storage: generations on disk, atomic swap, rebuild, and applying outbox changes.

Layout of ``search.index_dir``::

    CURRENT                 name of the live generation (replaced atomically with os.replace)
    gen-<time>-<rand>/      a complete Whoosh index, plus
        lexicon.txt         the compound-splitting lexicon it was built with
        outbox.pos          id of the last SearchOutbox row reflected in this generation

A rebuild writes a new generation next to the live one and swaps CURRENT when it is complete, so searches keep
working during a rebuild and a crash mid-rebuild leaves the old index in place. Old generations are removed
after the swap (open files stay readable on POSIX until their readers close them).
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from whoosh import index as windex
from whoosh.index import FileIndex

from portal.search.analysis import Lexicon, build_lexicon
from portal.search.schema import build_schema, with_derived_fields
from portal.search.writing import install as install_fast_writing

install_fast_writing()

log = logging.getLogger(__name__)

CURRENT = "CURRENT"
LEXICON = "lexicon.txt"
POSITION = "outbox.pos"
#: Documents read before indexing starts, to build the compound lexicon from the corpus.
LEXICON_SAMPLE = 2_000
#: Processes analysing documents during a large rebuild.
WRITER_PROCS = max(1, min(4, os.cpu_count() or 1))


class IndexUnavailable(Exception):
    """The index directory holds no usable index (missing or corrupt)."""


@dataclass
class Generation:
    name: str
    path: Path
    index: FileIndex
    lexicon: Lexicon

    def read_position(self) -> int:
        try:
            return int((self.path / POSITION).read_text().strip() or 0)
        except (OSError, ValueError):
            return 0

    def write_position(self, position: int) -> None:
        _atomic_write(self.path / POSITION, f"{position}\n")


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


class IndexStore:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def current_name(self) -> str | None:
        try:
            name = (self.root / CURRENT).read_text(encoding="utf-8").strip()
        except OSError:
            return None
        return name or None

    def open(self) -> Generation:
        """The live generation; raises IndexUnavailable when it is missing or unreadable."""
        name = self.current_name()
        if not name:
            raise IndexUnavailable("geen zoekindex gevonden")
        path = self.root / name
        try:
            lexicon = Lexicon.load(path / LEXICON)
            lexicon.stems  # noqa: B018  (computed now, not during the first search)
            ix = windex.open_dir(str(path), schema=build_schema(lexicon))
            with ix.searcher() as searcher:  # reads every segment's TOC entry: proves the files are there
                searcher.doc_count()
        except Exception as exc:  # Whoosh raises many kinds of errors on damaged files
            raise IndexUnavailable(f"zoekindex {name} is onleesbaar: {exc}") from exc
        return Generation(name, path, ix, lexicon)

    def rebuild(self, documents: Iterable[dict], position: int, on_progress: Callable[[int], None] | None = None):
        """Build a complete new generation from ``documents`` and make it live. Returns the new Generation."""
        self.root.mkdir(parents=True, exist_ok=True)
        name = f"gen-{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}"
        tmp_path = self.root / f".building-{name}"
        tmp_path.mkdir()
        try:
            docs = iter(documents)
            sample = list(islice(docs, LEXICON_SAMPLE))
            lexicon = build_lexicon(f"{d.get('title', '')} {d.get('summary', '')} {d.get('body', '')}" for d in sample)
            lexicon.save(tmp_path / LEXICON)
            ix = windex.create_in(str(tmp_path), build_schema(lexicon))
            # Large corpora are analysed by several processes (Whoosh's MpWriter; each builds a segment).
            procs = WRITER_PROCS if len(sample) >= LEXICON_SAMPLE else 1
            # compound=False: separate segment files are opened lazily; a compound file is read into memory
            # on every open, which made each refresh of a 100k index cost half a second.
            writer = ix.writer(limitmb=128, procs=procs, multisegment=procs > 1, compound=False)
            count = 0
            try:
                for doc in _chain(sample, docs):
                    writer.add_document(**with_derived_fields(doc))
                    count += 1
                    if on_progress and count % 10_000 == 0:
                        on_progress(count)
            except BaseException:
                writer.cancel()
                raise
            writer.commit(optimize=procs == 1)
            _atomic_write(tmp_path / POSITION, f"{position}\n")
            os.replace(tmp_path, self.root / name)
        except BaseException:
            shutil.rmtree(tmp_path, ignore_errors=True)
            raise
        _atomic_write(self.root / CURRENT, f"{name}\n")
        self._remove_old(keep={name})
        log.info("zoekindex %s opgebouwd met %d documenten", name, count)
        return self.open()

    def _remove_old(self, keep: set[str]) -> None:
        for child in self.root.iterdir():
            if child.is_dir() and child.name.startswith("gen-") and child.name not in keep:
                shutil.rmtree(child, ignore_errors=True)
            elif child.name.startswith(".building-") and time.time() - child.stat().st_mtime > 24 * 3600:
                shutil.rmtree(child, ignore_errors=True)  # left behind by a crashed rebuild

    def apply(
        self,
        generation: Generation,
        collect: Callable[[int], tuple[dict[tuple[str, str], list[dict]], int]],
    ) -> int:
        """Apply outbox changes under the index's write lock (one writer per index, across processes).

        ``collect(position)`` returns ({(doc_type, slug): documents}, new_position) for the outbox rows after
        ``position``; an empty document list removes the item. Returns the number of items changed.
        """
        writer = generation.index.writer(timeout=30.0, compound=False)
        try:
            changes, position = collect(generation.read_position())
            for (doc_type, slug), docs in changes.items():
                key = f"{doc_type}:{slug}"
                writer.delete_by_term("key", key)
                if doc_type == "voorbeeld":
                    writer.delete_by_term("parent", key)
                for doc in docs:
                    writer.add_document(**with_derived_fields(doc))
            if not changes:
                writer.cancel()
                return 0
            writer.commit()
            generation.write_position(position)
        except BaseException:
            if not writer.is_closed:
                writer.cancel()
            raise
        return len(changes)


def _chain(first: list[dict], rest: Iterable[dict]):
    yield from first
    yield from rest
