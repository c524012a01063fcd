"""Synchronise the database with content/: idempotent, all-or-nothing (the caller owns the transaction)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import flag_modified

from portal.content.files import (
    DIR_OF_KIND,
    KIND_DIRS,
    ContentError,
    ContentFile,
    Vocabulary,
    file_targets,
    quick_digests,
    read_content,
    read_files,
)
from portal.content.models import (
    Article,
    Contact,
    PracticeExample,
    Region,
    RegionKind,
    SchoolType,
    Source,
    Status,
    Theme,
    Tip,
    article_examples,
    utcnow,
)

__all__ = ["ContentError", "LoadReport", "load_content"]


@dataclasses.dataclass
class LoadReport:
    created: list[str] = dataclasses.field(default_factory=list)
    updated: list[str] = dataclasses.field(default_factory=list)
    unchanged: int = 0
    withdrawn: list[str] = dataclasses.field(default_factory=list)
    #: Files parsed and validated: every file on a full load, only the changed ones (and any file that names a
    #: removed one) otherwise, none when nothing changed.
    read: int = 0

    @property
    def parsed(self) -> bool:
        """False when nothing had changed and no file was even parsed."""
        return self.read > 0

    def summary(self) -> str:
        return (f"{len(self.created)} nieuw, {len(self.updated)} bijgewerkt, {self.unchanged} ongewijzigd, "
                f"{len(self.withdrawn)} ingetrokken; {self.read} {'bestand' if self.read == 1 else 'bestanden'} "
                "gelezen")


#: The item model kept for each content directory, in the order they are loaded (examples need sources, articles
#: need examples).
MODELS = {"bronnen": Source, "voorbeelden": PracticeExample, "kennis": Article}
#: Items applied between flushes on a large load.
FLUSH_EVERY = 100


def load_content(dbsession: Session, content_dir: Path) -> LoadReport:
    """Validate first, then write. Raises ContentError before any change if a file is bad.

    Files whose raw bytes (and vocabulary) are what was loaded last time are neither parsed nor written: they were
    valid then, and whatever they refer to is checked again when it changes or goes. Changed and new files are parsed
    and validated completely, against the names of all files. A first load, or a changed vocabulary (every file's
    digest covers it), takes the full path: every file parsed and validated, the vocabulary synchronised.
    """
    plan = _plan(dbsession, content_dir)
    if plan is None:
        return _load_all(dbsession, content_dir)
    if not plan.changed and not any(plan.removed.values()):
        return LoadReport(unchanged=len(plan.unchanged))
    return _load_changes(dbsession, content_dir, plan)


def _load_all(dbsession: Session, content_dir: Path) -> LoadReport:
    vocabulary, items = read_content(content_dir)
    _guard_against_web_items(dbsession, items)
    report = LoadReport(read=len(items))
    _sync_vocabulary(dbsession, vocabulary)
    dbsession.flush()
    _sync_all(dbsession, items, report, None)
    _drop_stale_regions(dbsession, vocabulary)
    return report


def _load_changes(dbsession: Session, content_dir: Path, plan: _Plan) -> LoadReport:
    changed = set(plan.changed)
    wanted = changed | _dependents(dbsession, content_dir, plan)
    _vocabulary, items = read_files(content_dir, [r for r in plan.order if r in wanted], plan.targets)
    items = [i for i in items if i.relpath in changed]  # the dependents were only checked: their bytes are loaded
    _guard_against_web_items(dbsession, items)
    report = LoadReport(unchanged=len(plan.unchanged), read=len(wanted))
    only = {model: {i.slug for i in items if MODELS[DIR_OF_KIND[i.kind]] is model} | set(plan.removed[model])
            for model in MODELS.values()}
    _sync_all(dbsession, items, report, only)
    return report


@dataclasses.dataclass
class _Plan:
    """How content/ differs from what is loaded, from raw bytes alone (nothing parsed)."""

    order: list[str]  # every item file, in the order read_content() reads them
    changed: list[str]  # new or changed files (or loaded ones that are not published or offline), in that order
    unchanged: list[str]
    removed: dict[type, list[str]]  # per model: slugs of loaded, not yet withdrawn items whose file is gone
    targets: set[tuple[str, str]]  # (directory, slug) of every item file


def _plan(dbsession: Session, content_dir: Path) -> _Plan | None:
    """None when the full path is needed: no content, a first load, a changed vocabulary, an unexpected file, or
    more than half of the files changed or removed."""
    if not content_dir.is_dir():
        return None
    digests = quick_digests(content_dir)
    if not digests:
        return None
    loaded: dict[str, tuple[str, str]] = {}  # relpath -> (digest, slug) of published or offline items
    present: dict[type, dict[str, str]] = {}  # per model: slug -> status of every loaded item
    for dirname, model in MODELS.items():
        rows = dbsession.execute(select(model.slug, model.origin_path, model.origin_hash, model.status)
                                 .where(model.origin_path != "")).all()
        present[model] = {slug: status for slug, _path, _hash, status in rows}
        loaded.update((path, (digest, slug)) for slug, path, digest, status in rows
                      if status in (Status.PUBLISHED, Status.OFFLINE) and path.startswith(dirname + "/"))
    plan = _Plan(order=list(digests), changed=[], unchanged=[], removed={}, targets=file_targets(digests))
    for relpath, digest in digests.items():
        known = loaded.get(relpath)
        same = known is not None and known[0] == digest and relpath == f"{relpath.split('/')[0]}/{known[1]}.md"
        (plan.unchanged if same else plan.changed).append(relpath)
    if not plan.unchanged:  # nothing matches: a first load, or the vocabulary changed
        return None
    for dirname, model in MODELS.items():
        plan.removed[model] = sorted(slug for slug, status in present[model].items()
                                     if status != Status.WITHDRAWN and (dirname, slug) not in plan.targets)
    if len(plan.changed) + sum(map(len, plan.removed.values())) > len(digests) // 2:
        return None  # mostly new: reading everything costs the same, and the search for dependents would not
    return plan


def _dependents(dbsession: Session, content_dir: Path, plan: _Plan) -> set[str]:
    """Unchanged files that may name an item whose file was removed (as source, related example or link), so that
    the load stops on them as a full load would. A link names its target's slug literally; the database's own
    references also count, in case a YAML escape spells a source or related slug differently in the file."""
    removed = [slug for slugs in plan.removed.values() for slug in slugs]
    if not removed:
        return set()
    pattern = re.compile(b"|".join(re.escape(slug.encode()) for slug in sorted(removed, key=len, reverse=True)))
    found: set[str] = set()
    for relpath in plan.unchanged:
        try:
            if pattern.search((content_dir / relpath).read_bytes()):
                found.add(relpath)
        except OSError:  # gone in the meantime: reading it again gives the error
            found.add(relpath)
    sources = select(Source.id).where(Source.slug.in_(plan.removed[Source]))
    for model in (PracticeExample, Article):
        found.update(dbsession.scalars(select(model.origin_path).where(model.source_id.in_(sources))))
    found.update(dbsession.scalars(
        select(Article.origin_path).join(article_examples, article_examples.c.article_id == Article.id)
        .join(PracticeExample, PracticeExample.id == article_examples.c.example_id)
        .where(PracticeExample.slug.in_(plan.removed[PracticeExample]))))
    return found & set(plan.unchanged)


def _sync_all(dbsession: Session, items: list[ContentFile], report: LoadReport,
              only: dict[type, set[str]] | None) -> None:
    """Write the items, per model in dependency order; ``only``: the slugs to touch per model (None: all)."""
    lookups = _Lookups(dbsession, items)
    apply = {Source: _apply_source, PracticeExample: _apply_example, Article: _apply_article}
    for dirname, model in MODELS.items():
        slugs = None if only is None else only[model]
        if slugs is not None and not slugs:
            continue
        kind = KIND_DIRS[dirname]
        _sync_items(dbsession, model, [i for i in items if i.kind == kind], apply[model], lookups, report, slugs)
        dbsession.flush()
        lookups.refresh(dbsession)


def _guard_against_web_items(dbsession: Session, items: list[ContentFile]) -> None:
    """A file may not silently take over an item that was made through the web forms."""
    slugs = [i.slug for i in items if i.kind == "voorbeeld"]
    clash = dbsession.scalars(
        select(PracticeExample).where(PracticeExample.slug.in_(slugs), PracticeExample.origin_path == "")
    ).first()
    if clash is not None:
        path = next(i.path for i in items if i.kind == "voorbeeld" and i.slug == clash.slug)
        raise ContentError(path, "slug", f"{clash.slug!r} is al in gebruik door een bijdrage via de website")


class _Lookups:
    """The vocabulary, and the sources and examples the items name (not every example: there may be 10,000)."""

    def __init__(self, dbsession: Session, items: list[ContentFile]):
        self.source_slugs = {i.meta["source"] for i in items if i.kind in ("voorbeeld", "kennis")}
        self.example_slugs = {slug for i in items if i.kind == "kennis" for slug in i.meta["related"]}
        self.refresh(dbsession)

    def refresh(self, dbsession: Session) -> None:
        self.themes = {t.slug: t for t in dbsession.scalars(select(Theme))}
        self.school_types = {t.slug: t for t in dbsession.scalars(select(SchoolType))}
        self.regions = {r.slug: r for r in dbsession.scalars(select(Region))}
        self.sources = {s.slug: s for s in dbsession.scalars(select(Source).where(Source.slug.in_(self.source_slugs)))}
        self.examples = {e.slug: e for e in dbsession.scalars(
            select(PracticeExample).where(PracticeExample.slug.in_(self.example_slugs)))}


def _upsert_terms(dbsession: Session, model, entries: list[dict], **extra) -> dict:
    existing = {t.slug: t for t in dbsession.scalars(select(model))}
    for position, entry in enumerate(entries):
        term = existing.get(entry["slug"]) or model(slug=entry["slug"])
        term.name = entry["name"]
        term.position = position
        term.description = entry.get("description", "") or ""
        for key, value in extra.items():
            setattr(term, key, value)
        if term.id is None:
            dbsession.add(term)
        existing[entry["slug"]] = term
    return existing


def _sync_vocabulary(dbsession: Session, vocabulary: Vocabulary) -> None:
    themes = _upsert_terms(dbsession, Theme, vocabulary.themes)
    school_types = _upsert_terms(dbsession, SchoolType, vocabulary.school_types)
    # Terms that left the vocabulary go; validation guarantees no loaded item still uses them.
    for terms, wanted in ((themes, vocabulary.theme_slugs), (school_types, vocabulary.school_type_slugs)):
        for slug, term in terms.items():
            if slug not in wanted and term.id is not None:
                dbsession.delete(term)
    regions = {r.slug: r for r in dbsession.scalars(select(Region))}
    ordered = (
        [(RegionKind.PROVINCE, e) for e in vocabulary.provinces]
        + [(RegionKind.YOUTH_REGION, e) for e in vocabulary.youth_regions]
        + [(RegionKind.MUNICIPALITY, e) for e in vocabulary.municipalities]
    )
    for position, (kind, entry) in enumerate(ordered):
        region = regions.get(entry["slug"])
        if region is None:
            region = regions[entry["slug"]] = Region(slug=entry["slug"])
            dbsession.add(region)
        region.name, region.kind, region.position = entry["name"], kind, position
        region.aliases = list(entry.get("aliases") or [])
    dbsession.flush()
    for _kind, entry in ordered:
        region = regions[entry["slug"]]
        region.province = regions.get(entry.get("provincie")) if entry.get("provincie") else None
        region.youth_region = regions.get(entry.get("jeugdregio")) if entry.get("jeugdregio") else None


def _drop_stale_regions(dbsession: Session, vocabulary: Vocabulary) -> None:
    """A region that left the vocabulary (a merged gemeente) goes once the content no longer uses it, unless something
    else still points at it (an example made through the website, a coordinator's grant): then it stays, so nothing
    is lost, until that is moved. Runs after the items, which may just have moved to the new gemeente."""
    wanted = {e["slug"] for e in vocabulary.provinces + vocabulary.youth_regions + vocabulary.municipalities}
    stale = [r for r in dbsession.scalars(select(Region)) if r.slug not in wanted]
    if not stale:
        return
    ids = {r.id for r in stale}
    used: set[int] = set()
    for table in Region.metadata.sorted_tables:
        for column in table.columns:
            if any(fk.column is Region.__table__.c.id for fk in column.foreign_keys):
                used |= set(dbsession.scalars(select(column).where(column.in_(ids))))
    for region in stale:
        if region.id not in used:
            dbsession.delete(region)


def content_digest(item_file: ContentFile) -> str:
    """Hash of what the file says (front matter and body), without the vocabulary that ``digest`` also covers:
    a new theme in the vocabulary re-applies every item, but changes none of them."""
    payload = json.dumps([item_file.meta, item_file.body], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def _keep_updated_at(item) -> None:
    """Write ``updated_at`` unchanged in this flush, so its onupdate (now) does not fire for a non-content change."""
    if item.id is not None and item.updated_at is not None:
        flag_modified(item, "updated_at")


#: Collections that apply() replaces: loaded with the items in a few queries, not one query per item and collection
#: (a changed vocabulary re-applies every item).
_REPLACED = {
    PracticeExample: [selectinload(getattr(PracticeExample, name)) for name in ("themes", "school_types", "tips",
                                                                                 "contacts")],
    Article: [selectinload(Article.themes), selectinload(Article.related_examples)],
}


def _sync_items(dbsession, model, files: list[ContentFile], apply, lookups: _Lookups, report: LoadReport,
                slugs: set[str] | None) -> None:
    """Apply the files; loaded items of ``model`` without a file are withdrawn (``slugs``: look only at these).

    Works in batches of FLUSH_EVERY files: each batch's items are read in one query with the collections apply()
    replaces, and once written (flushed) they leave the session's memory (it holds clean objects weakly)."""
    query = select(model.slug, model.origin_hash, model.status).where(model.origin_path != "")
    if slugs is not None:
        query = query.where(model.slug.in_(slugs))
    loaded = {slug: (digest, status) for slug, digest, status in dbsession.execute(query)}
    for start in range(0, len(files), FLUSH_EVERY):
        batch = []
        for item_file in files[start:start + FLUSH_EVERY]:
            # An item the editors took offline (Status.OFFLINE) stays offline: reloading its file does not publish it.
            if loaded.pop(item_file.slug, None) in ((item_file.digest, Status.PUBLISHED),
                                                    (item_file.digest, Status.OFFLINE)):
                report.unchanged += 1
            else:
                batch.append(item_file)
        existing = _items(dbsession, model, [f.slug for f in batch], *_REPLACED.get(model, ()))
        for item_file in batch:
            _apply_file(dbsession, model, existing.get(item_file.slug), item_file, apply, lookups, report)
        dbsession.flush()
    gone = [slug for slug, (_digest, status) in loaded.items() if status != Status.WITHDRAWN]
    for item in _items(dbsession, model, gone).values():  # files that were removed: unpublish, keep for history
        item.status = Status.WITHDRAWN
        _keep_updated_at(item)
        report.withdrawn.append(item.origin_path)


def _items(dbsession, model, slugs: list[str], *options) -> dict:
    """Loaded (file) items by slug."""
    if not slugs:
        return {}
    query = select(model).where(model.origin_path != "", model.slug.in_(slugs)).options(*options)
    return {i.slug: i for i in dbsession.scalars(query)}


def _apply_file(dbsession, model, item, item_file: ContentFile, apply, lookups: _Lookups, report: LoadReport) -> None:
    """Create or update one item from its file."""
    content_hash = content_digest(item_file)
    if item is None:
        item = model(slug=item_file.slug)
        dbsession.add(item)
        report.created.append(item_file.relpath)
        changed = True
    else:
        report.updated.append(item_file.relpath)
        # Rows from before content_hash existed: only the full file hash can tell.
        changed = (item.content_hash != content_hash if item.content_hash
                   else item.origin_hash != item_file.digest)
    apply(item, item_file, lookups)
    item.origin_path, item.origin_hash = item_file.relpath, item_file.digest
    item.content_hash = content_hash
    now = utcnow()
    if changed:
        item.updated_at = now
    else:
        _keep_updated_at(item)
    if item.status not in (Status.PUBLISHED, Status.OFFLINE):
        item.status = Status.PUBLISHED
    # First publication only: a reload or a file that comes back after a withdrawal keeps its date.
    if item.published_at is None:
        item.published_at = now


def _apply_source(source: Source, item: ContentFile, _lookups: _Lookups) -> None:
    meta = item.meta
    source.title, source.publisher, source.summary = meta["title"], meta["publisher"], meta["summary"]
    source.year, source.year_note, source.url = meta.get("year"), meta["year_note"], meta["url"]
    source.body = item.body


def _apply_example(example: PracticeExample, item: ContentFile, lookups: _Lookups) -> None:
    meta = item.meta
    example.title, example.summary, example.place = meta["title"], meta["summary"], meta["place"]
    example.target_group, example.financing = meta["target_group"], meta["financing"]
    example.partners = list(meta["partners"])
    example.start_year, example.project_status = meta.get("start_year"), meta.get("status") or ""
    example.featured = meta["featured"]
    example.gemeente = lookups.regions.get(meta["gemeente"]) if meta.get("gemeente") else None
    example.youth_region = lookups.regions.get(meta["jeugdregio"]) if meta.get("jeugdregio") else None
    example.province = lookups.regions[meta["provincie"]]
    example.themes = [lookups.themes[s] for s in meta["themes"]]
    example.school_types = [lookups.school_types[s] for s in meta["school_types"]]
    example.source = lookups.sources[meta["source"]]
    example.source_chapter = meta["source_chapter"]
    for (field, heading) in PracticeExample.SECTIONS:
        setattr(example, field, item.sections[heading])
    example.tips = [Tip(position=n, text=text) for n, text in enumerate(meta["tips"])]
    example.contacts = [
        Contact(position=n, name=c["name"].strip(), role=(c.get("role") or "").strip(),
                organisation=(c.get("organisation") or "").strip(), email=(c.get("email") or "").strip(),
                # Name and role come from a publication; the address is shown only with consent or when it is an
                # organisation mailbox, else it stays with the editors (and the contact form delivers to it).
                public=True, consent=c.get("consent") is True, organisation_email=c.get("organisation_email") is True)
        for n, c in enumerate(meta["contacts"])
    ]


def _apply_article(article: Article, item: ContentFile, lookups: _Lookups) -> None:
    meta = item.meta
    article.title, article.summary, article.kind = meta["title"], meta["summary"], meta["kind"]
    article.body, article.featured = item.body, meta["featured"]
    article.themes = [lookups.themes[s] for s in meta["themes"]]
    article.source = lookups.sources[meta["source"]]
    article.source_chapter = meta["source_chapter"]
    article.related_examples = [lookups.examples[s] for s in meta["related"]]
