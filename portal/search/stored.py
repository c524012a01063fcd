"""Stored fields of result documents, decoded once per segment and kept while there is room.

Whoosh decompresses and unpickles a document's stored fields (its body included) on every call, some 40-60 µs
per hit, and the display data is JSON on top of that; the same documents come back in result after result. A
segment never changes once written, so its documents' decoded fields stay valid for as long as the segment is
in use: they are kept per (segment, document number), least recently used out beyond a budget of text.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict

from portal.search.masks import lasting_segment_key

#: Characters of stored text kept (roughly twice that in bytes): the whole real content many times over, some
#: thousands of documents at 10,000 examples.
DEFAULT_LIMIT_CHARS = 16_000_000


class StoredDocuments:
    """(stored fields, display data) of documents: read-only, shared by all requests; never modify them."""

    def __init__(self, limit_chars: int = DEFAULT_LIMIT_CHARS):
        self.limit_chars = limit_chars
        self._entries: OrderedDict[tuple[str, int], tuple[dict, dict, int]] = OrderedDict()
        self._chars = 0
        self._lock = threading.Lock()

    def get(self, searcher, docnum: int) -> tuple[dict, dict]:
        reader, local = _leaf(searcher.reader(), docnum)
        key = lasting_segment_key(reader)
        if key is None:  # a reader without a segment (in memory): nothing to key on
            fields = reader.stored_fields(local)
            return fields, json.loads(fields.get("data") or "{}")
        with self._lock:
            entry = self._entries.get((key, local))
            if entry is not None:
                self._entries.move_to_end((key, local))
                return entry[0], entry[1]
        fields = reader.stored_fields(local)
        data = json.loads(fields.get("data") or "{}")
        size = sum(len(v) for v in fields.values() if isinstance(v, str)) + 64
        with self._lock:
            if (key, local) not in self._entries:
                self._entries[(key, local)] = (fields, data, size)
                self._chars += size
                while self._chars > self.limit_chars and self._entries:
                    _key, (_f, _d, dropped) = self._entries.popitem(last=False)
                    self._chars -= dropped
        return fields, data

    def forget_segments_except(self, live: set[str]) -> None:
        """Drop the documents of segments no longer in use (after merges and rebuilds)."""
        with self._lock:
            for key in [k for k in self._entries if k[0] not in live]:
                self._chars -= self._entries.pop(key)[2]


def _leaf(reader, docnum: int):
    """(segment reader, document number within it) of a global document number."""
    if hasattr(reader, "_segment_and_docnum"):
        segmentnum, local = reader._segment_and_docnum(docnum)
        return reader.readers[segmentnum], local
    return reader, docnum
