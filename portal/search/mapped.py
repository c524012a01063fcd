"""Index files read through memory maps instead of ``read()`` calls.

Whoosh reads its term dictionary and postings with a ``seek`` and a ``read`` per lookup: some twenty system calls
for one search. Each call releases the GIL, and in a threaded server every release hands the interpreter to another
request's thread and back: on two cores with eight threads that cost more CPU than the reads themselves. A read
from a memory map is a copy in memory that keeps the GIL (the pages come from the same OS page cache).

Whoosh's own compound files use a map too, but copy the whole segment into a ``BytesIO`` on every open (see the
note in portal.search.index), so the index keeps separate files and maps each one here.

A map stays valid when the file is deleted (a merge) while a searcher still reads it, as an open file does.
Index files are never rewritten once written, and start-up checks them against the manifest before they are
opened (portal.search.index.verify); a file cut short *while* mapped would stop the process instead of raising.
"""

from __future__ import annotations

import mmap

from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.structfile import StructFile


class MappedStorage(FileStorage):
    """A FileStorage whose files open as read-only memory maps (an empty file, which cannot be mapped, as a file)."""

    def open_file(self, name, **kwargs):
        with open(self._fpath(name), "rb") as handle:
            try:
                data = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
            except ValueError:  # an empty file
                return super().open_file(name, **kwargs)
        return StructFile(data, name=name, **kwargs)
