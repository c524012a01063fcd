"""Numbers per document as bit planes: plane b is a bitset (a Python int) of the documents whose number has bit b.

Adding two such numbers for every document at once is a ripple-carry addition over the planes, and the documents
with the highest sums are found by walking the planes from the top: a few big-integer operations per plane, run at
C speed, instead of Python work per document. Used to rank search results (``portal.search.ranking``) and to find
related examples (``portal.search.related``).
"""

from __future__ import annotations

from collections import deque

#: Levels are bytes: 8 planes at most per packed term.
BITS = 8

#: _TABLES[b][j]: bytes.translate table taking a level byte to bit ``j`` when the level has bit ``b``.
_TABLES = [[bytes((1 << j) if v >> b & 1 else 0 for v in range(256)) for j in range(8)] for b in range(BITS)]


def pack(docs, levels, size: int) -> list[int]:
    """The 8 planes of per-document levels (0..255) for documents numbered below ``size``. One byte per document
    holds its level (set at C speed), then each plane is packed by slicing and translating those bytes."""
    flags = bytearray(((size >> 3) + 1) << 3)
    deque(map(flags.__setitem__, docs, levels), maxlen=0)
    slices = [flags[j::8] for j in range(8)]
    planes = []
    for tables in _TABLES:
        plane = 0
        for j, part in enumerate(slices):
            plane |= int.from_bytes(part.translate(tables[j]), "little")
        planes.append(plane)
    return planes


def add(total: list[int], planes: list[int], shift: int = 0) -> None:
    """total += planes * 2**shift, per document (in place; ``total`` grows as the sums need)."""
    carry = 0
    at = shift
    for plane in planes:
        while len(total) <= at:
            total.append(0)
        current = total[at]
        partial = current ^ plane
        total[at] = partial ^ carry
        carry = (current & plane) | (carry & partial)
        at += 1
    while carry:
        if len(total) <= at:
            total.append(0)
        current = total[at]
        total[at] = current ^ carry
        carry &= current
        at += 1


def add_times(total: list[int], planes: list[int], times: int) -> None:
    """total += planes * times, per document (one shifted addition per bit of ``times``)."""
    for shift in range(times.bit_length()):
        if times >> shift & 1:
            add(total, planes, shift)


def split_top(total: list[int], mask: int, count: int) -> tuple[int, int, int]:
    """Walk the planes from the top: (chosen, tied, need) where ``chosen`` holds documents of ``mask`` whose sums
    are certainly among the ``count`` highest, and the ``need`` places left go to documents of ``tied``, whose sums
    are equal (and below those of ``chosen``)."""
    chosen = 0
    remaining = mask
    need = count
    for plane in reversed(total):
        if need <= 0:
            break
        hit = remaining & plane
        found = hit.bit_count()
        if found >= need:
            remaining = hit
        else:
            chosen |= hit
            need -= found
            remaining &= ~plane
    return chosen, remaining, need


def lowest_bits(mask: int, count: int) -> list[int]:
    """The ``count`` lowest set bits of ``mask`` (a few operations per bit: results are few, bitsets long)."""
    out = []
    while mask and len(out) < count:
        low = mask & -mask
        out.append(low.bit_length() - 1)
        mask ^= low
    return out


def sums_of(total: list[int], docs: list[int]) -> list[int]:
    """The sums of ``docs`` (one lookup per document and plane)."""
    width = (max(docs, default=0) >> 3) + 1
    rows = [plane.to_bytes(max(width, (plane.bit_length() + 7) >> 3), "little") for plane in total]
    return [sum((row[doc >> 3] >> (doc & 7) & 1) << b for b, row in enumerate(rows)) for doc in docs]
