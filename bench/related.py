"""Related-examples benchmark: what computing and storing the related lists costs (portal.search.related).

Usage: ``.venv/bin/python bench/related.py [options]``::

    --examples N     generated examples beside the real content (default 10000; bench/generate.py)
    --workdir DIR    (default: a new temporary directory, removed at the end unless --keep)
    --reuse          with --workdir: use the database an earlier run loaded there instead of loading it again
    --edits N        single-example updates timed (default 20)
    --keep           keep the temporary directory

Figures only; nothing here passes or fails. The corpus is the repository's content plus N generated examples,
loaded into SQLite with ``portal-init`` and ``portal-load`` (not timed). Then, on this machine as it is (say so
when it is shared: other processes inflate wall times, and CPU times somewhat):

* **portal-reindex**: the script as an operator runs it, in a subprocess: wall time, and user+system CPU of the
  process and its children (the rebuild analyses text in several processes); it includes the related pass.
* **whole-index pass**: ``related.compute_all`` on the index portal-reindex built (the pass a rebuild runs before
  the generation goes live), in this process: CPU (``time.process_time``) and wall, split into the example table,
  key terms (one pass over the postings) and scoring; plus the size of the file it writes (``related.json``).
* **writer update**: ``related.update`` after one example changed (its list, and those of the examples listing it
  or listed by it), as the index writer runs it after applying a change: ``--edits`` examples, CPU per update.
* **reader**: reading the lists from the file (``RelatedState.read`` without key terms), as every process does once
  after each change: CPU per read.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin"
sys.path.insert(0, str(Path(__file__).resolve().parent))


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def load_corpus(work: Path, examples: int, reuse: bool) -> Path:
    ini = work / "bench.ini"
    if reuse and ini.exists() and (work / "portal.sqlite").exists():
        return ini
    from generate import make_content_dir
    from sites import loaded_sqlite_site

    content = work / "content"
    shutil.rmtree(content, ignore_errors=True)
    make_content_dir(examples, content)
    return loaded_sqlite_site(work, content, "bench-related")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--examples", type=int, default=10_000)
    p.add_argument("--workdir", type=Path)
    p.add_argument("--reuse", action="store_true")
    p.add_argument("--edits", type=int, default=20)
    p.add_argument("--keep", action="store_true")
    args = p.parse_args(argv)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-related-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        run(work, args)
    finally:
        if args.workdir is None and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


def run(work: Path, args) -> None:
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from portal.search import related, related_store
    from portal.search.documents import all_documents
    from portal.search.index import IndexStore

    print(f"related lists: real content + {args.examples} generated examples, in {work} (cpu count {os.cpu_count()}, "
          f"load average {os.getloadavg()[0]:.1f})")
    ini = load_corpus(work, args.examples, args.reuse)

    before, started = children_cpu(), time.perf_counter()
    done = subprocess.run([str(BIN / "portal-reindex"), str(ini)], capture_output=True, text=True, timeout=3600,  # noqa: S603
                          check=False)
    if done.returncode != 0:
        raise RuntimeError(f"portal-reindex failed:\n{done.stdout}{done.stderr[-3000:]}")
    print(f"portal-reindex: {time.perf_counter() - started:.1f} s wall, {children_cpu() - before:.1f} s CPU "
          "(process and children)")

    with Session(create_engine(f"sqlite:///{work / 'portal.sqlite'}")) as session:
        left_out = {d["slug"]: related.left_out(d) for d in all_documents(session) if d["type"] == "voorbeeld"}
    generation = IndexStore(work / "index").open(check=False)
    path = generation.path
    with generation.index.searcher() as searcher:
        cpu, wall = time.process_time(), time.perf_counter()
        space = related.ExampleSpace(searcher)
        table = time.process_time() - cpu
        key_terms = related.key_terms_from_index(space, left_out)
        terms = time.process_time() - cpu - table
        lists = {space.slug(n): space.related(n, key_terms[n]) for n in range(space.size)}
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        print(f"whole-index pass, {len(lists)} examples: {cpu:.1f} s CPU ({wall:.1f} s wall): example table "
              f"{table:.1f} s, key terms {terms:.1f} s, scoring {cpu - table - terms:.1f} s; "
              f"{1000 * cpu / max(1, space.size):.2f} ms CPU per example")
        size = (path / related_store.RELATED_FILE).stat().st_size
        print(f"{related_store.RELATED_FILE} (written by portal-reindex): {size / 1e6:.2f} MB, "
              f"{size / max(1, space.size):.0f} bytes per example")

        state = related_store.RelatedState.read(path)
        slugs = sorted(random.Random(1).sample(sorted(state.lists), min(args.edits, len(state.lists))))
        times = []
        for slug in slugs:
            cpu = time.process_time()
            related.update(state, searcher, {slug})
            times.append(time.process_time() - cpu)
        times.sort()
        print(f"writer update after one example changed ({len(times)} examples): median "
              f"{1000 * times[len(times) // 2]:.0f} ms CPU, max {1000 * times[-1]:.0f} ms")
    reads = []
    for _ in range(5):
        cpu = time.process_time()
        related_store.RelatedState.read(path, key_terms=False)
        reads.append(time.process_time() - cpu)
    print(f"reader: the lists from the file in {1000 * sorted(reads)[2]:.0f} ms CPU (median of 5)")
    generation.release()


if __name__ == "__main__":
    sys.exit(main())
