"""Index storage: generations on disk, atomic swap, rebuild, verification, applying changes, cleaning files.

Layout of ``search.index_dir`` (one directory per process: indexes are local, the database is shared)::

    CURRENT                 name of the live generation (replaced atomically with os.replace)
    gen-<time>-<rand>/      a complete Whoosh index, plus
        lexicon.txt         the compound-splitting lexicon it was built with
        phrases.txt         the thesaurus phrases indexed as single terms (see schema.PhraseText), one a line
        outbox.pos          how far the outbox has been applied (see portal.search.cursor)
        manifest.json       size and CRC-32 of every file of the live index state
        related.json        each example's related examples and key terms, and the index state they were computed
                            from (portal.search.related); written by whoever writes the index, read by every process
        .in-use             locked (shared) by every process that has this generation open

A rebuild writes a new generation next to the live one and swaps CURRENT when it is complete, so searches keep
working during a rebuild and a crash mid-rebuild leaves the old index in place. A generation directory is removed
only when no process holds its ``.in-use`` lock, and files of merged-away segments only when no searcher of this
process can still open them: readers never see files disappear under them.

Any damage (CURRENT with arbitrary bytes, a missing, truncated or altered file, an unreadable position) makes
:meth:`IndexStore.open` raise :class:`IndexUnavailable`, and the keeper rebuilds at start-up. The related lists are
not part of the manifest: without them (an index built before they were stored, or a damaged file) example pages
compute a list on view.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import secrets
import shutil
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

from whoosh import index as windex
from whoosh.index import TOC, FileIndex

from portal.search import related, related_store
from portal.search.analysis import Lexicon, build_lexicon
from portal.search.cursor import Position, PositionError
from portal.search.mapped import MappedStorage
from portal.search.schema import build_schema, phrase_term, with_derived_fields
from portal.search.thesaurus import Thesaurus
from portal.search.writing import merge_small_segments, small_segments, writer_for

log = logging.getLogger(__name__)

CURRENT = "CURRENT"
LEXICON = "lexicon.txt"
PHRASES = "phrases.txt"
POSITION = "outbox.pos"
MANIFEST = "manifest.json"
IN_USE = ".in-use"
#: Held by the process that updates a generation's related lists (IndexStore.update_related).
RELATED_LOCK = ".related.lock"
GENERATION_NAME = re.compile(r"gen-[0-9A-Za-z-]{1,60}")
#: Documents read before indexing starts, to build the compound lexicon from the corpus.
LEXICON_SAMPLE = 2_000
#: Processes analysing documents during a large rebuild.
WRITER_PROCS = max(1, min(4, os.cpu_count() or 1))
_TOC_NAME = TOC._pattern("MAIN")
_SEGMENT_FILE = TOC._segment_pattern("MAIN")


class IndexUnavailable(Exception):
    """The index directory holds no usable index (missing or damaged)."""


@dataclass
class Generation:
    name: str
    path: Path
    index: FileIndex
    lexicon: Lexicon
    #: Open file whose shared lock tells other processes this generation is in use (None once released).
    _in_use: object | None = field(default=None, repr=False)

    def read_position(self) -> Position:
        """Raises PositionError when the file is missing or damaged."""
        try:
            raw = (self.path / POSITION).read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise PositionError(f"outbox-positie van {self.name} onleesbaar") from exc
        return Position.loads(raw)

    def write_position(self, position: Position) -> None:
        _atomic_write(self.path / POSITION, position.dumps())

    def position_age(self) -> float:
        """Seconds since the position was last written or confirmed (see confirm_position)."""
        try:
            return time.time() - (self.path / POSITION).stat().st_mtime
        except OSError:
            return float("inf")

    def confirm_position(self) -> None:
        """The outbox had nothing new: record that the position is current without creating any file."""
        with contextlib.suppress(OSError):
            os.utime(self.path / POSITION)

    def release(self) -> None:
        handle, self._in_use = self._in_use, None
        if handle is not None:
            handle.close()  # closing drops the flock


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _crc(path: Path) -> int:
    crc = 0
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            crc = zlib.crc32(chunk, crc)
    return crc


def _live_files(path: Path, ix: FileIndex) -> list[str]:
    """The files that make up the index state: the newest TOC, the files of its segments, the lexicon."""
    toc = ix._read_toc()
    segment_ids = {s.segment_id() for s in toc.segments}
    names = [LEXICON, f"_MAIN_{toc.generation}.toc"]
    if (path / PHRASES).exists():  # generations built before phrases were prepared have none
        names.append(PHRASES)
    for child in path.iterdir():
        match = _SEGMENT_FILE.match(child.name)
        if match and match.group(1) in segment_ids:
            names.append(child.name)
    return sorted(names)


def write_manifest(path: Path, ix: FileIndex, previous: dict[str, list[int]] | None = None) -> None:
    """Record size and checksum of every live file; files known from ``previous`` are immutable, not re-read."""
    previous = previous or {}
    manifest = {}
    for name in _live_files(path, ix):
        size = (path / name).stat().st_size
        known = previous.get(name)
        reuse = known and known[0] == size and not name.endswith(".toc")
        manifest[name] = known if reuse else [size, _crc(path / name)]
    _atomic_write(path / MANIFEST, json.dumps(manifest, sort_keys=True))


def read_manifest(path: Path) -> dict[str, list[int]]:
    try:
        data = json.loads((path / MANIFEST).read_bytes().decode("utf-8"))
        if not isinstance(data, dict):
            raise ValueError("geen object")
        return {str(k): [int(v[0]), int(v[1])] for k, v in data.items()}
    except (OSError, ValueError, TypeError, IndexError, KeyError) as exc:
        raise IndexUnavailable(f"manifest van {path.name} ontbreekt of is onleesbaar") from exc


def verify(path: Path) -> None:
    """Every file of the manifest is there with its size and checksum, and the manifest names the newest TOC."""
    manifest = read_manifest(path)
    tocs = sorted((int(m.group(1)) for m in map(_TOC_NAME.match, os.listdir(path)) if m), reverse=True)
    if not tocs or f"_MAIN_{tocs[0]}.toc" not in manifest:
        raise IndexUnavailable(f"zoekindex {path.name}: de inhoudsopgave past niet bij het manifest")
    for name, (size, crc) in manifest.items():
        file = path / name
        try:
            if file.stat().st_size != size or _crc(file) != crc:
                raise IndexUnavailable(f"zoekindex {path.name}: bestand {name} is beschadigd")
        except OSError as exc:
            raise IndexUnavailable(f"zoekindex {path.name}: bestand {name} ontbreekt") from exc


#: Index files the warm-up asks the OS to read ahead, most needed first: the term dictionaries (every query looks
#: words up), field lengths and dates (ranking, newest first), postings, stored fields (results shown).
_PREFETCH_ORDER = (".trm", "_len.col", ".col", ".pst")


def prefetch(path: Path, budget: int) -> int:
    """Ask the OS to read a generation's files into its page cache (asynchronously, in that order, up to ``budget``
    bytes in all), so the first queries after a start do not wait for the disk. Returns the bytes asked for."""
    def rank(file: Path) -> int:
        return next((n for n, suffix in enumerate(_PREFETCH_ORDER) if file.name.endswith(suffix)),
                    len(_PREFETCH_ORDER))

    asked = 0
    for file in sorted((f for f in path.iterdir() if f.is_file()), key=lambda f: (rank(f), f.name)):
        with contextlib.suppress(OSError):
            size = file.stat().st_size
            if asked + size > budget:
                continue
            fd = os.open(file, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_WILLNEED)
            finally:
                os.close(fd)
            asked += size
    return asked


def read_phrases(path: Path) -> list[tuple[str, ...]]:
    """The phrases a generation was built with: its changes must index them the same way (the thesaurus file
    may have changed since; a phrase it does not prepare is matched on positions)."""
    try:
        text = (path / PHRASES).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return [tuple(line.split()) for line in text.splitlines() if len(line.split()) > 1]


def _lock_in_use(path: Path):
    handle = (path / IN_USE).open("a")
    fcntl.flock(handle, fcntl.LOCK_SH)
    return handle


class IndexStore:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        #: The related state the writer last wrote or read: (generation path, file identity, RelatedState).
        self._related: tuple[str, tuple | None, related_store.RelatedState | None] | None = None

    def current_name(self) -> str | None:
        """The live generation's name, or None when CURRENT is missing or holds anything but a valid name."""
        try:
            raw = (self.root / CURRENT).read_bytes()
        except OSError:
            return None
        try:
            name = raw.decode("ascii").strip()
        except UnicodeDecodeError:
            return None
        return name if GENERATION_NAME.fullmatch(name) else None

    def open(self, check: bool = True) -> Generation:
        """The live generation; raises IndexUnavailable when it is missing or damaged in any way.

        ``check`` verifies every file against the manifest (start-up); following a swap made by a rebuild
        that just wrote and verified it may skip that.
        """
        name = self.current_name()
        if not name:
            raise IndexUnavailable("geen (leesbare) zoekindex gevonden")
        path = self.root / name
        handle = None
        try:
            handle = _lock_in_use(path)
            if check:
                verify(path)
            lexicon = Lexicon.load(path / LEXICON)
            lexicon.stems  # noqa: B018  (computed now, not during the first search)
            ix = MappedStorage(str(path)).open_index(schema=build_schema(lexicon, read_phrases(path)))
            with ix.searcher() as searcher:  # reads every segment's TOC entry: proves the files are there
                searcher.doc_count()
            generation = Generation(name, path, ix, lexicon, handle)
            generation.read_position()
        except Exception as exc:  # Whoosh, the lexicon and the position raise many kinds of errors on damage
            if handle is not None:
                handle.close()
            if isinstance(exc, IndexUnavailable):
                raise
            raise IndexUnavailable(f"zoekindex {name} is onleesbaar: {exc}") from exc
        return generation

    def rebuild(self, documents: Iterable[dict], position: Position,
                on_progress: Callable[[int], None] | None = None, related_lists: bool = True) -> Generation:
        """Build a complete new generation from ``documents`` and make it live. Returns the new Generation.

        ``related_lists``: compute every example's related list into the generation before it goes live.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        name = f"gen-{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}"
        tmp_path = self.root / f".building-{name}"
        tmp_path.mkdir()
        try:
            docs = iter(documents)
            sample = list(islice(docs, LEXICON_SAMPLE))
            lexicon = build_lexicon(f"{d.get('title', '')} {d.get('summary', '')} {d.get('body', '')}" for d in sample)
            lexicon.save(tmp_path / LEXICON)
            phrases = sorted(Thesaurus.load().phrases())
            _atomic_write(tmp_path / PHRASES, "".join(phrase_term(p) + "\n" for p in phrases))
            ix = windex.create_in(str(tmp_path), build_schema(lexicon, phrases))
            # Large corpora are analysed by several processes (each builds a segment).
            procs = WRITER_PROCS if len(sample) >= LEXICON_SAMPLE else 1
            # compound=False: separate segment files are opened lazily; a compound file is read into memory
            # on every open, which made each refresh of a 100k index cost half a second.
            writer = writer_for(ix, procs=procs, limitmb=128, multisegment=procs > 1, compound=False)
            count = 0
            left_out: dict[str, list[tuple[str, int]]] = {}
            try:
                for doc in _chain(sample, docs):
                    if related_lists and doc.get("type") == "voorbeeld":
                        left_out[str(doc.get("slug"))] = related.left_out(doc)
                    writer.add_document(**with_derived_fields(doc))
                    count += 1
                    if on_progress and count % 10_000 == 0:
                        on_progress(count)
            except BaseException:
                writer.cancel()
                raise
            writer.commit(optimize=procs == 1)
            _clean_files(ix)
            if related_lists:
                _write_all_related(ix, tmp_path, left_out)
            _atomic_write(tmp_path / POSITION, position.dumps())
            write_manifest(tmp_path, ix)
            os.replace(tmp_path, self.root / name)
        except BaseException:
            shutil.rmtree(tmp_path, ignore_errors=True)
            raise
        _atomic_write(self.root / CURRENT, f"{name}\n")
        self.remove_unused(keep={name})
        log.info("zoekindex %s opgebouwd met %d documenten", name, count)
        return self.open(check=False)

    def remove_unused(self, keep: set[str]) -> None:
        """Remove generations that no process has open (their .in-use lock is free), and stale builds."""
        if not self.root.is_dir():
            return
        for child in self.root.iterdir():
            if child.is_dir() and child.name.startswith("gen-") and child.name not in keep:
                try:
                    handle = (child / IN_USE).open("a")
                except OSError:
                    continue
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    continue  # a process still reads it; that process removes it when it moves on
                else:
                    shutil.rmtree(child, ignore_errors=True)
                finally:
                    handle.close()
            elif child.name.startswith(".building-") and time.time() - child.stat().st_mtime > 24 * 3600:
                shutil.rmtree(child, ignore_errors=True)  # left behind by a crashed rebuild

    def apply(self, generation: Generation, changes: dict[tuple[str, str], list[dict]], position: Position) -> int:
        """Write changed items ({(doc_type, slug): documents}; [] removes the item) and the new position.

        Takes the index's write lock. Opens a writer only when there is something to write, so an idle
        process creates no files.
        """
        if not changes:
            generation.write_position(position)
            return 0
        with _changing(generation, timeout=30.0) as writer:
            for (doc_type, slug), docs in changes.items():
                key = f"{doc_type}:{slug}"
                writer.delete_by_term("key", key)
                if doc_type == "voorbeeld":
                    writer.delete_by_term("parent", key)
                for doc in docs:
                    writer.add_document(**with_derived_fields(doc))
            # No merge here: merging small segments costs several times the change itself and would delay the
            # change reaching search; merge_small() does it once changes pause.
            writer.commit(merge=False)
        generation.write_position(position)
        return len(changes)

    def merge_small(self, generation: Generation, timeout: float = 30.0) -> bool:
        """Merge the small segments that changes left (``writing.merge_small_segments``), if there are enough; True
        when it did. Raises whoosh.index.LockError when another writer holds the index longer than ``timeout``."""
        if not small_segments(generation.index._read_toc().segments):
            return False
        with _changing(generation, timeout) as writer:
            writer.commit(mergetype=merge_small_segments)
        return True

    def follow_up_owed(self, generation: Generation) -> bool:
        """Whether changes left work undone: small segments to merge, or related lists an update left outdated."""
        if small_segments(generation.index._read_toc().segments):
            return True
        state = related_store.RelatedState.read(generation.path, key_terms=False)
        return state is not None and bool(state.outdated)

    def update_related(self, generation: Generation, changed: set[str], stop: Callable[[], bool] | None = None,
                       wait: bool = True) -> bool | None:
        """After ``apply``: the related lists of the examples ``changed`` (slugs), of those listing them or listed
        by them, and of those an earlier update left outdated, computed on the index as it is now and written into
        the generation (atomically). ``stop``: see ``related.update``.

        One process at a time (a lock file in the generation: two updates reading the same state would each undo
        the other's lists). Without ``wait`` it returns None at once when another process holds that lock.
        Otherwise True when every list is current, False when ``stop`` left some outdated."""
        path = generation.path
        with (path / RELATED_LOCK).open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                return None
            identity = related_store.file_identity(path)
            cached = self._related
            if cached is not None and cached[0] == str(path) and cached[1] == identity:
                state = cached[2]
            else:
                state = related_store.RelatedState.read(path) if identity is not None else None
            if not changed and (state is None or not state.outdated):
                return True
            with generation.index.searcher() as searcher:
                state = related.update(state, searcher, changed, stop)
            state.write(path)
            self._related = (str(path), related_store.file_identity(path), state)
            return not state.outdated

    def clean(self, generation: Generation) -> None:
        """Delete files no longer part of the index. Call only when no searcher can still open them."""
        lock = generation.index.lock("WRITELOCK")
        if not lock.acquire(blocking=False):
            return  # a writer is busy; the next clean removes them
        try:
            _clean_files(generation.index)
        finally:
            lock.release()


@contextlib.contextmanager
def _changing(generation: Generation, timeout: float):
    """A writer that changes the live generation in place (separate files, see rebuild); the block commits it.
    Cancelled when the block fails; afterwards the manifest records the new files."""
    writer = writer_for(generation.index, timeout=timeout, compound=False)
    try:
        yield writer
    except BaseException:
        if not writer.is_closed:
            writer.cancel()
        raise
    write_manifest(generation.path, generation.index, _manifest_or_empty(generation.path))


def _clean_files(ix: FileIndex) -> None:
    """Delete the files of segments the newest TOC no longer lists (Whoosh's own clean-up, run when we choose)."""
    toc = ix._read_toc()
    windex.clean_files(ix.storage, ix.indexname, toc.generation, toc.segments)


def _write_all_related(ix: FileIndex, path: Path, left_out: dict[str, list[tuple[str, int]]]) -> None:
    """Every example's related list, into a generation being built (its lists exist when it goes live)."""
    started, cpu = time.perf_counter(), time.process_time()
    try:
        with ix.searcher() as searcher:
            state = related.compute_all(searcher, left_out)
        state.write(path)
    except Exception:  # the index itself is fine: pages compute lists on view instead
        log.exception("verwante voorbeelden berekenen mislukt; ze worden bij bekijken berekend")
        return
    log.info("verwante voorbeelden van %d praktijkvoorbeelden berekend in %.1f s (%.1f s CPU)", len(state.lists),
             time.perf_counter() - started, time.process_time() - cpu)


def _manifest_or_empty(path: Path) -> dict[str, list[int]]:
    try:
        return read_manifest(path)
    except IndexUnavailable:
        return {}


def _chain(first: list[dict], rest: Iterable[dict]):
    yield from first
    yield from rest
