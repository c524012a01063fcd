#!/usr/bin/env python3
"""Measure verbatim overlap between content/ and the seed documents.

For every content file, count the word 8-grams it shares with any seed and report the
longest run of consecutive words shared with one seed. Words are lowercased and
punctuation is stripped. Seed 001 lost the letters "ij" (onderwijs -> onderwis) and the
ligatures fi/fl/ff/ffi/ffl (effectief -> efectief); comparisons with seed 001 therefore
use a normalised form of both texts (ij -> i, ligatures -> f), so a copied sentence is
found whether or not the writer repaired the damage.

This prints figures; it is not a test. Usage:

    python bench/content_overlap.py [--content content] [--seeds ../shared/seeds]
                                    [--n 8] [--show 10] [--files PATTERN]

--show N lists every shared run of N or more words (file, line, seed, text).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from pathlib import Path

WORD = re.compile(r"[0-9a-zà-öø-ÿ]+")
LIGATURE = re.compile(r"ff[il]|f[fil]")
DAMAGED_SEEDS = {"001"}


def words(text: str) -> list[tuple[str, int]]:
    """Lowercased words with their 1-based line numbers; punctuation acts as a separator."""
    out: list[tuple[str, int]] = []
    for lineno, line in enumerate(text.lower().splitlines(), 1):
        out.extend((w, lineno) for w in WORD.findall(line))
    return out


def repair_free(word: str) -> str:
    """Normalise a word to the damaged spelling of seed 001 (ij -> i, fi/fl/ff -> f)."""
    word = word.replace("ij", "i")
    while True:  # "filmpjes" is printed "flmpjes": reduce until stable on both sides
        new = LIGATURE.sub("f", word)
        if new == word:
            return word
        word = new


def index(tokens: list[str], n: int) -> dict[tuple[str, ...], list[int]]:
    idx: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for i in range(len(tokens) - n + 1):
        idx[tuple(tokens[i:i + n])].append(i)
    return idx


def shared_runs(doc: list[str], seed: list[str], idx, n: int):
    """Maximal runs (start in doc, length) of >= n words that also occur in seed."""
    runs: dict[int, int] = {}
    for i in range(len(doc) - n + 1):
        for j in idx.get(tuple(doc[i:i + n]), ()):
            if i > 0 and j > 0 and doc[i - 1] == seed[j - 1]:
                continue  # not the left edge of a maximal run
            k = n
            while i + k < len(doc) and j + k < len(seed) and doc[i + k] == seed[j + k]:
                k += 1
            runs[i] = max(runs.get(i, 0), k)
    return runs


def main(argv=None) -> int:
    here = Path(__file__).resolve().parent.parent
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--content", default=str(here / "content"))
    ap.add_argument("--seeds", default=str(here.parent / "shared" / "seeds"))
    ap.add_argument("--n", type=int, default=8, help="n-gram size (default 8)")
    ap.add_argument("--show", type=int, default=0, help="list runs of at least this many words")
    ap.add_argument("--files", default="*/*.md", help="glob under --content (default */*.md)")
    args = ap.parse_args(argv)
    n = args.n

    seeds = {}
    for p in sorted(Path(args.seeds).glob("*.txt")):
        key = p.name[:3]
        toks = [w for w, _ in words(p.read_text(encoding="utf-8"))]
        if key in DAMAGED_SEEDS:
            toks = [repair_free(w) for w in toks]
        seeds[key] = (toks, index(toks, n))
    if not seeds:
        print("no seeds found in", args.seeds, file=sys.stderr)
        return 2

    files = sorted(Path(args.content).glob(args.files))
    total_grams = 0
    total_long = 0
    worst = 0
    print(f"{'file':70} {n}-grams  longest  seed")
    for path in files:
        wl = words(path.read_text(encoding="utf-8"))
        plain = [w for w, _ in wl]
        lines = [ln for _, ln in wl]
        norm = [repair_free(w) for w in plain]
        hit = [False] * len(plain)
        best, best_seed = 0, "-"
        found = []
        for key, (toks, idx) in seeds.items():
            doc = norm if key in DAMAGED_SEEDS else plain
            for i, length in shared_runs(doc, toks, idx, n).items():
                for p in range(i, i + length - n + 1):
                    hit[p] = True
                if length > best:
                    best, best_seed = length, key
                if args.show and length >= args.show:
                    found.append((i, length, key))
        count = sum(hit)
        total_grams += count
        worst = max(worst, best)
        if best >= 10:
            total_long += 1
        rel = path.relative_to(args.content)
        print(f"{rel!s:70} {count:7d}  {best:7d}  {best_seed}")
        for i, length, key in sorted(found):
            text = " ".join(plain[i:i + length])
            print(f"    L{lines[i]} [{key}] {length}w: {text}")
    print(f"TOTAL files={len(files)} shared {n}-grams={total_grams} "
          f"files with a run >= 10 words={total_long} longest run={worst}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
