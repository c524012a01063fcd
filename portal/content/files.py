"""Reading and validating content/ files (Markdown + YAML front matter) into plain records.

Nothing here touches the database: every file is parsed and checked first, so a bad file stops the load before
anything is written. Errors name the file, the field, the line where we can find it, and the reason, in Dutch.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import itertools
import os
import re
from pathlib import Path
from typing import Any

import yaml

from portal.content.places import PLACES_FILE, PlaceIndex, normalise, read_places
from portal.rendering import CONTENT_DIRS, content_link

SLUG_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.IGNORECASE)
MAX_SLUG = 80
MAX_SUMMARY = 600
MAX_THEMES = 8
PROJECT_STATUSES = ("lopend", "afgerond", "pilot", "onbekend")
ARTICLE_KINDS = (
    "definitie", "werkprincipes", "model", "stappenplan", "succesfactoren", "knelpunten", "aanbevelingen",
    "effecten", "rolbeschrijving", "perspectief", "tips", "interview", "financiering", "beleidscontext",
    "inleiding", "overzicht",
)
EXAMPLE_HEADINGS = ("Aanleiding", "Aanpak", "Resultaten", "Financiering", "Geleerde lessen")

EXAMPLE_FIELDS = {
    "slug", "title", "summary", "place", "gemeente", "jeugdregio", "provincie", "school_types", "target_group",
    "themes", "partners", "financing", "start_year", "status", "featured", "source", "source_chapter", "tips",
    "contacts",
}
ARTICLE_FIELDS = {"slug", "title", "summary", "kind", "themes", "source", "source_chapter", "related", "featured"}
SOURCE_FIELDS = {"slug", "title", "publisher", "year", "year_note", "url", "summary"}
CONTACT_FIELDS = {"name", "role", "organisation", "email", "consent", "organisation_email"}
#: Contact flags: true or false only. Without them an address counts as a person's own and stays with the editors.
CONTACT_FLAGS = ("consent", "organisation_email")


class DuplicateKeyError(yaml.YAMLError):
    """A mapping with the same key twice: PyYAML would silently keep the last one, losing the editor's text."""

    def __init__(self, key: Any, mark: yaml.Mark):
        super().__init__(f"sleutel {key!r} komt twee keer voor")
        self.key, self.problem_mark, self.problem = key, mark, f"sleutel {key!r} komt twee keer voor"


class _RefuseDuplicateKeys:
    """Loader mixin that refuses duplicate keys instead of overwriting the first value."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: set = set()
            for key_node, _value_node in node.value:
                key = self.construct_object(key_node, deep=deep)
                try:
                    duplicate = key in seen
                    seen.add(key)
                except TypeError:  # unhashable key: let PyYAML report it
                    continue
                if duplicate:
                    raise DuplicateKeyError(key, key_node.start_mark)
        return super().construct_mapping(node, deep=deep)


class _StrictLoader(_RefuseDuplicateKeys, yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys instead of overwriting the first value."""


class _FastStrictLoader(_RefuseDuplicateKeys, getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """The same strictness with libyaml's parser where it is installed: the vocabulary (all 342 gemeenten) parses in
    a tenth of the time, which every portal-load pays."""


def _safe_load(text: str) -> Any:
    """Front matter through libyaml (about two thirds of a full load's time in pure Python); when libyaml refuses it,
    PyYAML's own parser decides, so an editor gets the same message (problem and line) as always."""
    try:
        return yaml.load(text, Loader=_FastStrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass


class ContentError(Exception):
    """A content file that cannot be loaded; the message is meant for the editor who wrote it."""

    def __init__(self, path: Path | str, field: str | None, reason: str, line: int | None = None):
        self.path, self.field, self.reason, self.line = str(path), field, reason, line
        where = self.path + (f":{line}" if line else "")
        super().__init__(f"{where}: {'veld ' + repr(field) + ': ' if field else ''}{reason}")


@dataclasses.dataclass
class Vocabulary:
    themes: list[dict[str, Any]]
    school_types: list[dict[str, Any]]
    provinces: list[dict[str, Any]]
    youth_regions: list[dict[str, Any]]
    municipalities: list[dict[str, Any]]
    digest: str
    #: (woonplaats, gemeente slug) from vocabulaire/woonplaatsen.csv, for finding a gemeente by a place name.
    places: list[tuple[str, str]] = dataclasses.field(default_factory=list)

    @functools.cached_property
    def _municipality_index(self) -> dict[str, dict[str, Any]]:
        return {m["slug"]: m for m in self.municipalities}

    @functools.cached_property
    def place_index(self) -> PlaceIndex:
        return PlaceIndex(((m["slug"], m["name"], m.get("aliases") or []) for m in self.municipalities), self.places)

    @property
    def theme_slugs(self) -> set[str]:
        return {t["slug"] for t in self.themes}

    @property
    def school_type_slugs(self) -> set[str]:
        return {t["slug"] for t in self.school_types}

    def municipality(self, slug: str) -> dict[str, Any] | None:
        return self._municipality_index.get(slug)

    def youth_region(self, slug: str) -> dict[str, Any] | None:
        return next((m for m in self.youth_regions if m["slug"] == slug), None)

    @property
    def province_slugs(self) -> set[str]:
        return {p["slug"] for p in self.provinces}


@dataclasses.dataclass(frozen=True)
class Link:
    """A link in a body that points into the portal: to a content file (``../kennis/x.md``) or a page URL."""

    line: int
    href: str
    directory: str | None  # voorbeelden, kennis, bronnen, themas, regios; None: outside the content tree
    slug: str


# [text](href "title") and reference definitions [label]: href
_INLINE_LINK_RE = re.compile(r"\]\(\s*(<[^>\n]*>|[^)\s]+)(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)")
_REFERENCE_RE = re.compile(r"^ {0,3}\[[^\]\n]+\]:\s*(<[^>\n]*>|\S+)", re.MULTILINE)
_PAGE_LINK_RE = re.compile(r"^/(voorbeelden|kennis|bronnen|themas|regios)/([^/?#]+)/?(?:[?#].*)?$")


def _scan_links(body: str, directory: str, first_line: int) -> tuple[str, list[Link]]:
    """Find the links in a body that point into the portal.

    Returns the body with links without a directory (``x.md``, ``./x.md``) written out as ``../<directory>/x.md``,
    so they resolve the same wherever the text is rendered, and the links found (with their line in the file).
    """
    links: list[Link] = []
    out: list[str] = []
    fenced = False
    for number, line in enumerate(body.split("\n"), start=first_line):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        if fenced:
            out.append(line)
            continue

        def visit(match: re.Match, number=number) -> str:
            raw = match.group(1)
            href = raw[1:-1] if raw.startswith("<") else raw
            page = _PAGE_LINK_RE.match(href)
            if page:
                links.append(Link(number, href, page.group(1), page.group(2)))
                return match.group(0)
            path = href.split("#", 1)[0].split("?", 1)[0]
            if ":" in path or href.startswith(("/", "#")) or not path.endswith(".md"):
                return match.group(0)
            found = content_link(href, directory)
            if found is None:
                links.append(Link(number, href, None, ""))
                return match.group(0)
            links.append(Link(number, href, found[0], found[1]))
            if "/" not in path.removeprefix("./"):
                start, end = match.span(1)
                written = f"../{directory}/{path.removeprefix('./')}" + href[len(path):]
                text = match.group(0)
                offset = match.start(0)
                return text[: start - offset] + written + text[end - offset:]
            return match.group(0)

        line = _INLINE_LINK_RE.sub(visit, line)
        line = _REFERENCE_RE.sub(visit, line)
        out.append(line)
    return "\n".join(out), links


@dataclasses.dataclass
class ContentFile:
    """One parsed and validated item file."""

    kind: str  # "voorbeeld", "kennis" or "bron"
    path: Path
    relpath: str
    meta: dict[str, Any]
    body: str
    digest: str
    sections: dict[str, str] = dataclasses.field(default_factory=dict)
    links: list[Link] = dataclasses.field(default_factory=list)

    @property
    def slug(self) -> str:
        return self.meta["slug"]


def _line_of(text: str, field: str) -> int | None:
    """Line number (1-based) of ``field:`` in the front matter, to point editors at the right place."""
    for number, line in enumerate(text.splitlines(), start=1):
        if re.match(rf"^{re.escape(field)}\s*:", line):
            return number
    return None


def _load_yaml(path: Path) -> Any:
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_FastStrictLoader)  # noqa: S506 - SafeLoader
    except UnicodeDecodeError:
        raise ContentError(path, None, "het bestand is geen geldige UTF-8-tekst") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ContentError(path, None, f"ongeldige YAML ({getattr(exc, 'problem', exc)})",
                           mark.line + 1 if mark else None) from None


def _check_entries(path: Path, entries: Any, label: str, extra: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    if not isinstance(entries, list) or not entries:
        raise ContentError(path, label, "verwacht een niet-lege lijst")
    seen: set[str] = set()
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("slug"), str) or not entry.get("name"):
            raise ContentError(path, label, f"elk item heeft een 'slug' en een 'name' nodig (gevonden: {entry!r})")
        slug = entry["slug"]
        if not SLUG_RE.match(slug) or len(slug) > MAX_SLUG:
            raise ContentError(path, label, f"ongeldige slug {slug!r}")
        if slug in seen:
            raise ContentError(path, label, f"slug {slug!r} komt twee keer voor")
        seen.add(slug)
        for key in extra:
            if not entry.get(key):
                raise ContentError(path, label, f"{slug!r} mist '{key}'")
    return entries


def read_vocabulary(content_dir: Path) -> Vocabulary:
    vocab_dir = content_dir / "vocabulaire"
    paths = [vocab_dir / name for name in ("themas.yaml", "schooltypes.yaml", "regios.yaml")]
    for path in paths:
        if not path.is_file():
            raise ContentError(path, None, "bestand ontbreekt")
    themes = _check_entries(paths[0], _load_yaml(paths[0]), "themas")
    school_types = _check_entries(paths[1], _load_yaml(paths[1]), "schooltypes")
    regions = _load_yaml(paths[2])
    if not isinstance(regions, dict):
        raise ContentError(paths[2], None, "verwacht de sleutels provincies, jeugdregios en gemeenten")
    provinces = _check_entries(paths[2], regions.get("provincies"), "provincies")
    youth = _check_entries(paths[2], regions.get("jeugdregios"), "jeugdregios", ("provincie",))
    municipalities = _check_entries(paths[2], regions.get("gemeenten"), "gemeenten", ("jeugdregio", "provincie"))
    all_slugs = [r["slug"] for r in provinces + youth + municipalities]
    duplicates = {s for s in all_slugs if all_slugs.count(s) > 1}
    if duplicates:
        raise ContentError(paths[2], None, f"slug gebruikt voor meer dan één regio: {', '.join(sorted(duplicates))}")
    _check_region_fields(paths[2], provinces + youth + municipalities)
    province_slugs = {p["slug"] for p in provinces}
    youth_slugs = {y["slug"] for y in youth}
    for entry in youth + municipalities:
        if entry["provincie"] not in province_slugs:
            raise ContentError(paths[2], "provincie", f"{entry['slug']!r}: onbekende provincie {entry['provincie']!r}")
    for entry in municipalities:
        if entry["jeugdregio"] not in youth_slugs:
            raise ContentError(paths[2], "jeugdregio",
                               f"{entry['slug']!r}: onbekende jeugdregio {entry['jeugdregio']!r}")
    _check_region_details(paths[2], youth, municipalities)
    places = _read_places(vocab_dir / PLACES_FILE, {m["slug"] for m in municipalities})
    if places:
        paths.append(vocab_dir / PLACES_FILE)
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in paths)).hexdigest()
    return Vocabulary(themes, school_types, provinces, youth, municipalities, digest, places)


def _check_region_fields(path: Path, entries: list) -> None:
    """Aliases are lists of names; a gemeente has exactly one jeugdregio and one provincie (a slug, not a list)."""
    for entry in entries:
        aliases = entry.get("aliases")
        if aliases is not None and (not isinstance(aliases, list)
                                    or not all(isinstance(a, str) and a.strip() for a in aliases)):
            raise ContentError(path, "aliases", f"{entry['slug']!r}: verwacht een lijst met namen")
        for key in ("jeugdregio", "provincie"):
            if key in entry and not isinstance(entry[key], str):
                raise ContentError(path, key, f"{entry['slug']!r}: verwacht precies één {key} (een slug)")


def _check_region_details(path: Path, youth: list, municipalities: list) -> None:
    """Every jeugdregio has gemeenten; no name or alias stands for two gemeenten."""
    used = {m["jeugdregio"] for m in municipalities}
    empty = [y["slug"] for y in youth if y["slug"] not in used]
    if empty:
        raise ContentError(path, "jeugdregios", f"jeugdregio zonder gemeenten: {', '.join(empty)}")
    owners: dict[str, str] = {}
    for entry in municipalities:
        for text in {entry["name"], *(entry.get("aliases") or [])}:
            key = normalise(text)
            if owners.setdefault(key, entry["slug"]) != entry["slug"]:
                raise ContentError(path, "gemeenten", f"de naam {text!r} hoort bij twee gemeenten: "
                                   f"{owners[key]!r} en {entry['slug']!r}")


def _read_places(path: Path, municipality_slugs: set[str]) -> list[tuple[str, str]]:
    """vocabulaire/woonplaatsen.csv: optional (an exported content/ has none), but checked when present."""
    if not path.is_file():
        return []
    try:
        places = read_places(path)
    except UnicodeDecodeError:
        raise ContentError(path, None, "het bestand is geen geldige UTF-8-tekst") from None
    except ValueError as exc:
        raise ContentError(path, None, exc.args[0], exc.args[1]) from None
    lines = path.read_text(encoding="utf-8").splitlines()
    for place, slug in places:
        if slug not in municipality_slugs:
            line = next((n for n, text in enumerate(lines, start=1) if text.startswith(f"{place},")), None)
            raise ContentError(path, "gemeente", f"{place!r}: onbekende gemeente {slug!r} (zie regios.yaml)", line)
    return places


def _split_front_matter(path: Path, text: str) -> tuple[dict[str, Any], str, str]:
    if not text.startswith("---\n"):
        raise ContentError(path, None, "het bestand moet beginnen met een regel '---' (YAML-kop)", 1)
    end = text.find("\n---\n", 4)
    if end < 0:
        raise ContentError(path, None, "de YAML-kop wordt niet afgesloten met een regel '---'")
    front = text[4:end]
    try:
        meta = _safe_load(front)
    except DuplicateKeyError as exc:
        raise ContentError(path, str(exc.key), "komt twee keer voor in de YAML-kop",
                           exc.problem_mark.line + 2) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ContentError(path, None, f"ongeldige YAML in de kop ({getattr(exc, 'problem', exc)})",
                           mark.line + 2 if mark else None) from None
    if not isinstance(meta, dict):
        raise ContentError(path, None, "de YAML-kop moet sleutels met waarden bevatten", 2)
    return meta, text[end + 5:], front


class _Checker:
    """Field checks for one file; every failure raises ContentError with the field's line."""

    def __init__(self, path: Path, meta: dict[str, Any], text: str):
        self.path, self.meta, self.text = path, meta, text

    def fail(self, field: str, reason: str):
        raise ContentError(self.path, field, reason, _line_of(self.text, field))

    def known_fields(self, allowed: set[str]) -> None:
        for key in self.meta:
            if key not in allowed:
                self.fail(str(key), f"onbekend veld (toegestaan: {', '.join(sorted(allowed))})")

    def text_field(self, field: str, required: bool = True, max_length: int | None = None) -> None:
        value = self.meta.get(field)
        if value is None or value == "":
            if required:
                self.fail(field, "verplicht veld ontbreekt of is leeg")
            self.meta[field] = ""
            return
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = self.meta[field] = str(value)
        if not isinstance(value, str):
            self.fail(field, "verwacht tekst")
        self.meta[field] = value = value.strip()
        if max_length and len(value) > max_length:
            self.fail(field, f"te lang ({len(value)} tekens, maximaal {max_length})")

    def string_list(self, field: str, allowed: set[str] | None = None, minimum: int = 0,
                    maximum: int | None = None) -> None:
        value = self.meta.get(field)
        if value is None:
            value = []
        if not isinstance(value, list):
            self.fail(field, "verwacht een lijst met tekst")
        for index, entry in enumerate(value, start=1):
            if isinstance(entry, dict):
                self.fail(field, f"item {index} is geen tekst; bevat het een dubbele punt met spatie? "
                          "Zet de tekst dan tussen aanhalingstekens")
            if not isinstance(entry, str) or not entry.strip():
                self.fail(field, f"item {index} is leeg of geen tekst")
        if len(value) < minimum:
            self.fail(field, f"minstens {minimum} nodig")
        if maximum is not None and len(value) > maximum:
            self.fail(field, f"maximaal {maximum} toegestaan")
        if len(set(value)) != len(value):
            self.fail(field, "bevat dubbele waarden")
        if allowed is not None:
            unknown = [v for v in value if v not in allowed]
            if unknown:
                self.fail(field, f"onbekende waarde(n): {', '.join(unknown)}")
        self.meta[field] = [v.strip() for v in value]

    def boolean(self, field: str) -> None:
        value = self.meta.setdefault(field, False)
        if not isinstance(value, bool):
            self.fail(field, "verwacht true of false")

    def year(self, field: str) -> None:
        value = self.meta.get(field)
        if value is None:
            return
        if not isinstance(value, int) or isinstance(value, bool) or not 1900 <= value <= 2100:
            self.fail(field, "verwacht een jaartal (bijvoorbeeld 2019)")

    def choice(self, field: str, choices: tuple[str, ...], required: bool = False) -> None:
        value = self.meta.get(field)
        if value is None and not required:
            return
        if value not in choices:
            self.fail(field, f"ongeldige waarde {value!r} (kies uit: {', '.join(choices)})")


# Editor's meta-talk about "the source" or "the portal" does not belong in public text: say what is (not) known.
# Every phrase names "bron" or "portal": _meta_talk_reason relies on it (tested).
META_TALK_RE = re.compile(
    r"\bopmerkingen bij de bron\b"
    r"|\bde bron (?:noemt|vermeldt|meldt|beschrijft|geeft|zegt|spreekt|bevat|laat)\b"
    r"|\b(?:noemt|vermeldt|meldt|beschrijft|geeft|zegt) de bron\b"
    r"|\b(?:staat|staan) niet in de bron\b"
    r"|\b(?:genoemd|vermeld|beschreven|weergegeven|opgenomen) in de (?:beschikbare tekst van de )?bron\b"
    r"|\bin de beschikbare tekst van de bron\b"
    r"|\b(?:in|op|bij|van) de portal\b|\bdeze portal\b",
    re.IGNORECASE,
)
PUBLIC_TEXT_FIELDS = ("title", "summary", "place", "target_group", "financing", "source_chapter", "year_note")
PUBLIC_LIST_FIELDS = ("partners", "tips")


def _meta_talk_reason(value: str) -> str | None:
    lowered = value.lower()
    if "bron" not in lowered and "portal" not in lowered:  # in every phrase; the search itself is slow on long text
        return None
    match = META_TALK_RE.search(" ".join(value.split()))
    if match is None:
        return None
    return (f"bevat redactionele opmerking {match.group(0)!r}; schrijf voor de lezer wat wel of niet bekend is "
            "(bijvoorbeeld 'Over de financiering zijn geen gegevens bekend.') of laat het weg")


def _check_meta_talk(check: _Checker, body: str, first_line: int) -> None:
    """Refuse meta-talk about "de bron" / "de portal" in public fields and in the body (with the body's line)."""
    for field in PUBLIC_TEXT_FIELDS:
        value = check.meta.get(field)
        if isinstance(value, str) and (reason := _meta_talk_reason(value)):
            check.fail(field, reason)
    for field in PUBLIC_LIST_FIELDS:
        for index, entry in enumerate(check.meta.get(field) or [], start=1):
            if isinstance(entry, str) and (reason := _meta_talk_reason(entry)):
                check.fail(field, f"item {index} {reason}")
    if _meta_talk_reason(body) is None:  # a phrase in a line, or over a line break, is also one in the whole body
        return
    lines = body.split("\n")
    for number, line in enumerate(lines):
        if reason := _meta_talk_reason(line):
            raise ContentError(check.path, "body", reason, first_line + number)
    for number, (line, following) in enumerate(itertools.pairwise(lines)):  # a phrase over a line break
        if reason := _meta_talk_reason(f"{line} {following}"):
            raise ContentError(check.path, "body", reason, first_line + number)


def _split_sections(path: Path, body: str) -> dict[str, str]:
    headings = [(m.start(), m.end(), m.group(1).strip()) for m in re.finditer(r"^## +(.+)$", body, re.MULTILINE)]
    found = tuple(h for _s, _e, h in headings)
    if found != EXAMPLE_HEADINGS:
        raise ContentError(path, "body", "de tekst moet precies deze kopjes hebben, in deze volgorde: "
                           + ", ".join(f"'## {h}'" for h in EXAMPLE_HEADINGS) + f" (gevonden: {list(found)})")
    if body[: headings[0][0]].strip():
        raise ContentError(path, "body", "tekst vóór het eerste kopje '## Aanleiding'")
    sections = {}
    for index, (_start, end, heading) in enumerate(headings):
        stop = headings[index + 1][0] if index + 1 < len(headings) else len(body)
        text = body[end:stop].strip()
        if not text:
            raise ContentError(path, "body", f"het kopje '## {heading}' heeft geen tekst")
        sections[heading] = text
    return sections


def read_item(path: Path, kind: str, vocabulary: Vocabulary, content_dir: Path) -> ContentFile:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8").replace("\r\n", "\n")
    except UnicodeDecodeError:
        raise ContentError(path, None, "het bestand is geen geldige UTF-8-tekst") from None
    meta, body, _front = _split_front_matter(path, text)
    check = _Checker(path, meta, text)
    fields = {"voorbeeld": EXAMPLE_FIELDS, "kennis": ARTICLE_FIELDS, "bron": SOURCE_FIELDS}[kind]
    check.known_fields(fields)
    slug = meta.get("slug")
    if not isinstance(slug, str) or not slug:
        check.fail("slug", "verplicht veld ontbreekt")
    if not SLUG_RE.match(slug) or len(slug) > MAX_SLUG:
        check.fail("slug", "alleen kleine letters, cijfers en losse koppeltekens, maximaal 80 tekens")
    if slug != path.stem:
        check.fail("slug", f"moet gelijk zijn aan de bestandsnaam ({path.stem!r})")
    check.text_field("title", max_length=300)
    check.text_field("summary", max_length=MAX_SUMMARY if kind != "bron" else 2000)
    first_body_line = text[: len(text) - len(body)].count("\n") + 1
    body, links = _scan_links(body, path.parent.name, first_body_line)
    item = ContentFile(kind, path, path.relative_to(content_dir).as_posix(), meta, body.strip(),
                       hashlib.sha256(raw + vocabulary.digest.encode()).hexdigest(), links=links)
    if kind == "voorbeeld":
        _check_example(check, vocabulary)
        item.sections = _split_sections(path, body)
    elif kind == "kennis":
        check.choice("kind", ARTICLE_KINDS, required=True)
        check.string_list("themes", vocabulary.theme_slugs, minimum=1, maximum=MAX_THEMES)
        check.text_field("source")
        check.text_field("source_chapter", max_length=300)
        check.string_list("related")
        check.boolean("featured")
        if not item.body:
            check.fail("body", "de tekst van het artikel ontbreekt")
    else:
        check.text_field("publisher", max_length=300)
        check.year("year")
        check.text_field("year_note", required=False)
        check.text_field("url", required=False, max_length=500)
        if meta["url"] and not re.match(r"^https?://", meta["url"]):
            check.fail("url", "moet beginnen met http:// of https://")
    _check_meta_talk(check, body, first_body_line)
    return item


def _check_example(check: _Checker, vocabulary: Vocabulary) -> None:
    meta = check.meta
    for field in ("place", "target_group", "financing", "source", "source_chapter"):
        check.text_field(field, max_length=300 if field in ("place", "source_chapter") else 2000)
    check.string_list("school_types", vocabulary.school_type_slugs)
    check.string_list("themes", vocabulary.theme_slugs, minimum=1, maximum=MAX_THEMES)
    check.string_list("partners")
    check.string_list("tips")
    check.year("start_year")
    check.choice("status", PROJECT_STATUSES)
    check.boolean("featured")
    for field in ("gemeente", "jeugdregio", "provincie"):
        if meta.get(field) is not None and not isinstance(meta[field], str):
            check.fail(field, "verwacht één slug uit vocabulaire/regios.yaml")
    gemeente, jeugdregio, provincie = meta.get("gemeente"), meta.get("jeugdregio"), meta.get("provincie")
    if gemeente is not None:
        municipality = vocabulary.municipality(gemeente)
        if municipality is None:
            check.fail("gemeente", _unknown_gemeente(vocabulary, gemeente))
        if provincie is not None and provincie != municipality["provincie"]:
            check.fail("provincie", f"{gemeente!r} ligt in {municipality['provincie']!r}, niet in {provincie!r}")
        if jeugdregio is not None and jeugdregio != municipality["jeugdregio"]:
            check.fail("jeugdregio", f"{gemeente!r} hoort bij {municipality['jeugdregio']!r}, niet bij {jeugdregio!r}")
        meta["jeugdregio"], meta["provincie"] = municipality["jeugdregio"], municipality["provincie"]
    else:
        if jeugdregio is not None:
            region = vocabulary.youth_region(jeugdregio)
            if region is None:
                check.fail("jeugdregio", f"onbekende jeugdregio {jeugdregio!r}")
            meta.setdefault("provincie", region["provincie"])
        if meta.get("provincie") is None:
            check.fail("provincie", "verplicht als er geen gemeente is opgegeven")
        if meta["provincie"] not in vocabulary.province_slugs:
            check.fail("provincie", f"onbekende provincie {meta['provincie']!r}")
    meta["contacts"] = _check_contacts(check, meta.get("contacts") or [])


def _unknown_gemeente(vocabulary: Vocabulary, value: str) -> str:
    """Why a gemeente slug is refused, with the slug(s) it probably should be (a name, woonplaats or typo)."""
    index = vocabulary.place_index
    found = index.resolve(value)
    slugs = [found.slug] if found.slug else list(found.candidates) or list(index.suggest_slugs(value))
    hint = f"; bedoelt u {' of '.join(repr(s) + ' (' + index.names[s] + ')' for s in slugs[:4])}?" if slugs else ""
    return f"onbekende gemeente {value!r} (zie vocabulaire/regios.yaml){hint}"


def _contact_line(text: str, index: int, key: str) -> int | None:
    """Line (1-based) of ``key:`` in the ``index``-th (1-based) entry under ``contacts:``, else the entry's first line,
    else the line of ``contacts:``; so portal-load points at the exact flag that is wrong."""
    lines = text.splitlines()
    start = _line_of(text, "contacts")
    if start is None:
        return None
    entry, entry_line = 0, None
    for number in range(start, len(lines)):
        line = lines[number]
        if line == "---" or (line and not line[0].isspace() and not line.startswith("-")):
            break
        if re.match(r"^\s*-\s", line) or line.strip() == "-":
            entry += 1
            if entry > index:
                break
            if entry == index:
                entry_line = number + 1
        if entry == index and re.match(rf"^\s*(-\s+)?{re.escape(key)}\s*:", line):
            return number + 1
    return entry_line or start


def _check_contacts(check: _Checker, contacts: Any) -> list[dict[str, Any]]:
    """Contacts are people named in a publication. Their e-mail address stays with the editors unless the file says
    ``consent: true`` (the person agreed to publication) or ``organisation_email: true`` (a functional mailbox such
    as info@..., not a person's own address)."""

    def fail(index: int, key: str, reason: str):
        raise ContentError(check.path, "contacts", f"contactpersoon {index}: {reason}",
                           _contact_line(check.text, index, key))

    if not isinstance(contacts, list):
        check.fail("contacts", "verwacht een lijst met contactpersonen")
    for index, contact in enumerate(contacts, start=1):
        if not isinstance(contact, dict) or not isinstance(contact.get("name"), str) or not contact["name"].strip():
            fail(index, "name", "heeft geen naam")
        unknown = set(contact) - CONTACT_FIELDS
        if unknown:
            fail(index, sorted(unknown)[0], f"onbekend veld {', '.join(sorted(unknown))} "
                 f"(toegestaan: {', '.join(sorted(CONTACT_FIELDS))})")
        for key in ("role", "organisation"):
            if contact.get(key) is not None and not isinstance(contact[key], str):
                fail(index, key, f"'{key}' moet tekst zijn")
        email = contact.get("email")
        if email is not None and (not isinstance(email, str) or not EMAIL_RE.match(email)):
            fail(index, "email", f"ongeldig e-mailadres {email!r}")
        for key in CONTACT_FLAGS:
            value = contact.setdefault(key, False)
            if not isinstance(value, bool):
                fail(index, key, f"'{key}' moet true of false zijn, niet {value!r}")
        if contact["organisation_email"] and not email:
            fail(index, "organisation_email", "'organisation_email: true' zonder e-mailadres; zet 'email' erbij "
                 "of haal de regel weg")
    return contacts


KIND_DIRS = {"bronnen": "bron", "voorbeelden": "voorbeeld", "kennis": "kennis"}
DIR_OF_KIND = {kind: dirname for dirname, kind in KIND_DIRS.items()}


def quick_digests(content_dir: Path) -> dict[str, str] | None:
    """{relpath: digest} of every item file, computed from the raw bytes alone (no parsing), equal to the digests
    read_content() gives when the files are valid. None when anything looks unusual (the full read says what)."""
    vocab_dir = content_dir / "vocabulaire"
    names = ["themas.yaml", "schooltypes.yaml", "regios.yaml"]
    if (vocab_dir / PLACES_FILE).is_file():
        names.append(PLACES_FILE)
    try:
        vocabulary_digest = hashlib.sha256(b"".join((vocab_dir / n).read_bytes() for n in names)).hexdigest().encode()
        digests = {}
        for dirname in KIND_DIRS:
            directory = content_dir / dirname
            if not directory.is_dir():
                continue
            # os.scandir and plain names: pathlib's glob, sort and relative_to cost more than the hashing here
            with os.scandir(directory) as found:
                entries = sorted((e for e in found if not e.name.startswith(".")), key=lambda e: e.name)
            for entry in entries:
                if entry.is_dir():
                    continue
                if not entry.name.endswith(".md"):
                    return None
                with open(entry.path, "rb") as file:
                    digests[f"{dirname}/{entry.name}"] = hashlib.sha256(file.read() + vocabulary_digest).hexdigest()
    except OSError:
        return None
    return digests


def read_content(content_dir: Path) -> tuple[Vocabulary, list[ContentFile]]:
    """Parse and validate the whole content tree; raises ContentError on the first bad file."""
    if not content_dir.is_dir():
        raise ContentError(content_dir, None, "map bestaat niet")
    vocabulary = read_vocabulary(content_dir)
    items: list[ContentFile] = []
    for dirname, kind in KIND_DIRS.items():
        directory = content_dir / dirname
        for path in sorted(directory.glob("*")) if directory.is_dir() else []:
            if path.name.startswith(".") or path.is_dir():
                continue
            if path.suffix != ".md":
                raise ContentError(path, None, "onverwacht bestand: alleen .md-bestanden horen in deze map")
            items.append(read_item(path, kind, vocabulary, content_dir))
    targets = {(DIR_OF_KIND[i.kind], i.slug) for i in items}
    _check_references(items, targets)
    _check_links(items, vocabulary, targets)
    return vocabulary, items


def read_files(content_dir: Path, relpaths: list[str], targets: set[tuple[str, str]]
               ) -> tuple[Vocabulary, list[ContentFile]]:
    """Parse and validate only ``relpaths`` (in content order), as read_content() would: the same checks and the same
    first error. ``targets`` is (directory, slug) of every item file in the tree, for their sources, related examples
    and links; it comes from the file names, since a valid file's slug is its file name."""
    vocabulary = read_vocabulary(content_dir)
    items = [read_item(content_dir / relpath, KIND_DIRS[relpath.split("/", 1)[0]], vocabulary, content_dir)
             for relpath in relpaths]
    _check_references(items, targets)
    _check_links(items, vocabulary, targets)
    return vocabulary, items


def file_targets(relpaths) -> set[tuple[str, str]]:
    """(directory, slug) for item files named by their relative paths."""
    return {(relpath.split("/", 1)[0], relpath.rsplit("/", 1)[-1].removesuffix(".md")) for relpath in relpaths}


def _check_links(items: list[ContentFile], vocabulary: Vocabulary, targets: set[tuple[str, str]]) -> None:
    """Every link into the portal must reach an existing page: a link that would give a 404 stops the load."""
    targets = set(targets) | {("themas", slug) for slug in vocabulary.theme_slugs}
    regions = vocabulary.provinces + vocabulary.youth_regions + vocabulary.municipalities
    targets |= {("regios", r["slug"]) for r in regions}
    for item in items:
        for link in item.links:
            if link.directory is None:
                raise ContentError(item.path, "body", f"link {link.href!r} wijst niet naar een bestand in "
                                   f"{', '.join(d + '/' for d in CONTENT_DIRS)} (schrijf bijvoorbeeld "
                                   "'../voorbeelden/<slug>.md')", link.line)
            if (link.directory, link.slug) not in targets:
                if link.directory in CONTENT_DIRS:
                    reason = (f"link {link.href!r} wijst naar een bestand dat niet bestaat "
                              f"({link.directory}/{link.slug}.md)")
                else:
                    what = "thema" if link.directory == "themas" else "regio"
                    reason = f"link {link.href!r} wijst naar een {what} die niet bestaat ({link.slug!r})"
                raise ContentError(item.path, "body", reason, link.line)


def _check_references(items: list[ContentFile], targets: set[tuple[str, str]]) -> None:
    for item in items:
        if item.kind in ("voorbeeld", "kennis") and ("bronnen", item.meta["source"]) not in targets:
            raise ContentError(item.path, "source",
                               f"onbekende bron {item.meta['source']!r} (geen bestand in bronnen/)",
                               _line_of(item.path.read_text(encoding="utf-8"), "source"))
        for related in item.meta.get("related", []) if item.kind == "kennis" else []:
            if ("voorbeelden", related) not in targets:
                raise ContentError(item.path, "related", f"onbekend praktijkvoorbeeld {related!r}",
                                   _line_of(item.path.read_text(encoding="utf-8"), "related"))
