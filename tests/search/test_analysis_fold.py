"""fold() replaces each distinct non-ASCII character once: the same result as translating every character
with the accent map."""

from __future__ import annotations

from portal.search.analysis import accent_map, fold


def _reference(text: str) -> str:
    return text.lower().translate(accent_map)


def test_fold_equals_a_translation_of_every_character():
    every_key = "".join(chr(k) for k in accent_map)
    samples = [
        "", "jeugdhulp", "Fryslân", "Coördinator Zorg", "Súdwest-Fryslân en 's-Hertogenbosch", "ĲSSELLAND ĳs",
        "café – “naïeve” cliënt’s reünie…", "ﬁnanciering ﬂexibel", every_key, every_key.upper(), every_key[::-1] + "x",
        "İstanbul ẞ Ǆ", "abc\x00déf\u200b", "😀 emoji en ë",
    ]
    for text in samples:
        assert fold(text) == _reference(text), text
    # lowercase ASCII is never changed by the map, which is what lets fold skip it
    assert all(accent_map.get(ord(c), c) == c for c in "abcdefghijklmnopqrstuvwxyz0123456789 -'")
