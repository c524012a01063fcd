"""Generate N synthetic practice examples in the real content format, next to a copy of the real content.

Usage: ``.venv/bin/python bench/generate.py N DEST [--seed 1] [--source content]``

DEST becomes a complete content directory that ``portal-load`` accepts: a copy of the repository's ``content/``
(vocabulary, sources, articles and the real examples) plus ``voorbeelden/bench-NNNNN-<words>.md`` for N generated
examples. Each generated file has the front matter of a real example (title, summary, place with a gemeente or a
provincie from ``vocabulaire/regios.yaml``, 1-4 themes from ``themas.yaml``, 0-2 school types, target group,
partners, financing, start year, status, a source and chapter from ``bronnen/``, tips, contacts) and a body with
the five required sections (Aanleiding, Aanpak, Resultaten, Financiering, Geleerde lessen), some with ``###``
sub-headings and bullet lists.

The text is drawn from the real content: a word-bigram chain trained on every sentence of the real examples and
articles, so word frequencies, word lengths, compounds and common word pairs (phrases) follow the real Dutch text,
while the sentences themselves are new. Sentences that would trip the loader's editor-meta-talk check are drawn
again. Deterministic for a given seed and source content. Generating 10,000 examples takes a few seconds.

``bench/web.py`` and ``bench/search.py`` import :func:`make_content_dir`.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import sys
from collections import defaultdict
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CONTENT = ROOT / "content"
SLUG_PREFIX = "bench-"

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_WORD = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿ]+(?:[’'\-][A-Za-zÀ-ÖØ-öø-ÿ]+)*|\d+")
_MD_NOISE = re.compile(r"\[([^\]]*)\]\([^)]*\)|`[^`]*`|[*_>#|]")
START, END = "\x02", "\x03"

FIRST_NAMES = ["Anouk", "Bas", "Carla", "Daan", "Eline", "Femke", "Gert", "Hanneke", "Inge", "Joost", "Karin",
               "Lotte", "Marco", "Nadia", "Okke", "Petra", "Rutger", "Sanne", "Thijs", "Ursula", "Vera", "Wim",
               "Yara", "Zeynep"]
LAST_NAMES = ["de Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "de Boer", "Mulder", "de Groot", "Bos",
              "Vos", "Peters", "Hendriks", "van Dijk", "Dekker", "Brouwer", "Kaya", "El Amrani", "Postma", "Wouters"]
ROLES = ["directeur", "intern begeleider", "zorgcoördinator", "beleidsmedewerker jeugd", "gedragswetenschapper",
         "projectleider", "jeugdhulpverlener", "orthopedagoog", "teamleider", "coördinator passend onderwijs"]
ORG_KINDS = ["Basisschool", "Stichting", "Samenwerkingsverband", "Jeugdhulp", "Kindcentrum", "SO", "VSO",
             "Scholengroep", "Zorggroep", "Wijkteam"]
STATUSES = ["lopend", "afgerond", "pilot", "onbekend"]
HEADINGS = ("Aanleiding", "Aanpak", "Resultaten", "Financiering", "Geleerde lessen")


def _plain(markdown: str) -> str:
    return _MD_NOISE.sub(lambda m: m.group(1) or " ", markdown)


def _front_matter(text: str) -> tuple[dict, str]:
    _, front, body = text.split("---\n", 2)
    return yaml.safe_load(front), body


class TextModel:
    """A word-bigram chain over the sentences of the real content (examples and articles)."""

    def __init__(self, source: Path):
        self.next: dict[str, list[str]] = defaultdict(list)
        self.sentences = 0
        for path in sorted([*(source / "voorbeelden").glob("*.md"), *(source / "kennis").glob("*.md")]):
            meta, body = _front_matter(path.read_text(encoding="utf-8"))
            texts = [body, str(meta.get("summary") or ""), *(str(t) for t in meta.get("tips") or [])]
            for text in texts:
                for line in _plain(text).splitlines():
                    for sentence in _SENTENCE_END.split(line.strip()):
                        self._learn(_WORD.findall(sentence))
        if not self.sentences:
            raise SystemExit(f"no text found in {source}")
        try:  # the loader's own check; absent in very old trees
            from portal.content.files import META_TALK_RE
        except ImportError:  # pragma: no cover
            META_TALK_RE = re.compile(r"(?!)")
        self.forbidden = META_TALK_RE

    def _learn(self, words: list[str]) -> None:
        if len(words) < 3:
            return
        self.sentences += 1
        previous = START
        for word in words:
            if previous == START and not word.isupper():
                word = word[:1].lower() + word[1:]
            self.next[previous].append(word)
            previous = word
        self.next[previous].append(END)

    def words(self, rng: random.Random, minimum: int, maximum: int) -> list[str]:
        out: list[str] = []
        word = START
        while len(out) < maximum:
            word = rng.choice(self.next.get(word) or [END])
            if word == END:
                if len(out) >= minimum:
                    break
                word = START
                continue
            out.append(word)
        return out

    def sentence(self, rng: random.Random, minimum: int = 6, maximum: int = 24) -> str:
        for _attempt in range(20):
            words = self.words(rng, minimum, maximum)
            text = " ".join(words)
            text = text[:1].upper() + text[1:] + "."
            if not self.forbidden.search(text):
                return text
        return "Het team werkt samen met ouders en school."

    def paragraph(self, rng: random.Random, sentences: int) -> str:
        return " ".join(self.sentence(rng) for _ in range(sentences))

    def phrase(self, rng: random.Random, minimum: int, maximum: int) -> str:
        for _attempt in range(20):
            text = " ".join(self.words(rng, minimum, maximum))
            if not self.forbidden.search(text):
                return text[:1].upper() + text[1:]
        return "Samen verder"


def _wrap(text: str, width: int = 110) -> str:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return "\n".join(lines)


def _q(value: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(value, ensure_ascii=False)


class ExampleWriter:
    def __init__(self, source: Path, seed: int):
        self.rng = random.Random(seed)
        self.model = TextModel(source)
        vocab = source / "vocabulaire"
        self.themes = [t["slug"] for t in yaml.safe_load((vocab / "themas.yaml").read_text(encoding="utf-8"))]
        self.school_types = [t["slug"] for t in
                             yaml.safe_load((vocab / "schooltypes.yaml").read_text(encoding="utf-8"))]
        regions = yaml.safe_load((vocab / "regios.yaml").read_text(encoding="utf-8"))
        self.gemeenten = regions["gemeenten"]
        self.provinces = regions["provincies"]
        self.sources: list[tuple[str, list[str]]] = []
        for path in sorted((source / "bronnen").glob("*.md")):
            meta, body = _front_matter(path.read_text(encoding="utf-8"))
            chapters = [h.strip() for h in re.findall(r"^#{2,3} +(.+)$", body, re.MULTILINE)] or ["Inleiding"]
            self.sources.append((meta["slug"], chapters))

    def _section(self, heading: str) -> str:
        rng, model = self.rng, self.model
        parts = [_wrap(model.paragraph(rng, rng.randint(2, 5)))]
        if heading in ("Aanpak", "Resultaten", "Geleerde lessen") and rng.random() < 0.6:
            if heading == "Aanpak" and rng.random() < 0.5:
                for _ in range(rng.randint(1, 3)):
                    parts.append(f"### {model.phrase(rng, 2, 5)}\n\n" + _wrap(model.paragraph(rng, rng.randint(2, 4))))
            else:
                parts.append("\n".join(f"- {_wrap(model.sentence(rng, 5, 18))}".replace("\n", "\n  ")
                                       for _ in range(rng.randint(2, 5))))
        return f"## {heading}\n\n" + "\n\n".join(parts)

    def example(self, number: int) -> tuple[str, str]:
        rng, model = self.rng, self.model
        title = model.phrase(rng, 3, 9)
        slug_words = "-".join(re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-").split("-")[:4]) or "voorbeeld"
        slug = f"{SLUG_PREFIX}{number:06d}-{slug_words}"[:80].rstrip("-")
        summary = model.paragraph(rng, rng.randint(2, 4))
        while len(summary) > 590:
            summary = summary[: summary.rfind(".", 0, 580) + 1] or model.sentence(rng)
        if rng.random() < 0.8:
            gemeente = rng.choice(self.gemeenten)
            place, region_lines = gemeente["name"], [f"gemeente: {gemeente['slug']}"]
        else:
            province = rng.choice(self.provinces)
            place, region_lines = province["name"], [f"provincie: {province['slug']}"]
        source, chapters = rng.choice(self.sources)
        partners = [f"{rng.choice(ORG_KINDS)} {model.phrase(rng, 1, 3)}" for _ in range(rng.randint(1, 4))]
        tips = [model.sentence(rng, 6, 20) for _ in range(rng.randint(0, 5))]
        contacts = []
        for _ in range(rng.randint(0, 2)):
            contacts.append(f"  - name: {_q(rng.choice(FIRST_NAMES) + ' ' + rng.choice(LAST_NAMES))}\n"
                            f"    role: {_q(rng.choice(ROLES))}\n"
                            f"    organisation: {_q(rng.choice(ORG_KINDS) + ' ' + place)}")
        lines = [
            "---",
            f"slug: {slug}",
            f"title: {_q(title)}",
            f"summary: {_q(summary)}",
            f"place: {_q(place)}",
            *region_lines,
            f"school_types: [{', '.join(rng.sample(self.school_types, rng.randint(0, 2)))}]",
            f"target_group: {_q(model.sentence(rng, 5, 14))}",
            f"themes: [{', '.join(rng.sample(self.themes, rng.randint(1, 4)))}]",
            "partners:" + ("".join(f"\n  - {_q(p)}" for p in partners) if partners else " []"),
            f"financing: {_q(model.sentence(rng, 6, 20))}",
            f"start_year: {rng.randint(2010, 2025)}",
            f"status: {rng.choice(STATUSES)}",
            "featured: false",
            f"source: {source}",
            f"source_chapter: {_q(rng.choice(chapters)[:300])}",
            "tips:" + ("".join(f"\n  - {_q(t)}" for t in tips) if tips else " []"),
            "contacts:" + ("\n" + "\n".join(contacts) if contacts else " []"),
            "---",
            "\n\n".join(self._section(h) for h in HEADINGS),
            "",
        ]
        return slug, "\n".join(lines)


def make_content_dir(count: int, dest: Path, seed: int = 1, source: Path = CONTENT) -> list[str]:
    """Copy ``source`` to ``dest`` (replaced) and add ``count`` generated examples; returns their slugs."""
    dest = Path(dest)
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(source, dest)
    writer = ExampleWriter(source, seed)
    slugs = []
    target = dest / "voorbeelden"
    for number in range(1, count + 1):
        slug, text = writer.example(number)
        (target / f"{slug}.md").write_text(text, encoding="utf-8")
        slugs.append(slug)
    return slugs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", type=int, help="number of examples to generate")
    parser.add_argument("dest", type=Path, help="content directory to write (replaced if it exists)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--source", type=Path, default=CONTENT, help="the real content to copy and learn from")
    args = parser.parse_args(argv)
    if args.count < 0:
        parser.error("count must be 0 or more")
    slugs = make_content_dir(args.count, args.dest, args.seed, args.source)
    print(f"{len(slugs)} examples generated in {args.dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
