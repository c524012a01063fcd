"""Synchronise the database with content/: idempotent, all-or-nothing (the caller owns the transaction)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from portal.content.files import ContentError, ContentFile, Vocabulary, quick_digests, read_content
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
    utcnow,
)

__all__ = ["ContentError", "LoadReport", "load_content"]


@dataclasses.dataclass
class LoadReport:
    created: list[str] = dataclasses.field(default_factory=list)
    updated: list[str] = dataclasses.field(default_factory=list)
    unchanged: int = 0
    withdrawn: list[str] = dataclasses.field(default_factory=list)
    #: False when nothing had changed and the files were not even parsed.
    parsed: bool = True

    def summary(self) -> str:
        return (f"{len(self.created)} nieuw, {len(self.updated)} bijgewerkt, {self.unchanged} ongewijzigd, "
                f"{len(self.withdrawn)} ingetrokken")


def load_content(dbsession: Session, content_dir: Path) -> LoadReport:
    """Validate every file first, then write. Raises ContentError before any change if a file is bad.

    When no file changed since the last load (same raw bytes, same vocabulary, same set of files), nothing is parsed
    or written: the files were valid when they were loaded and nothing they refer to has changed since.
    """
    unchanged = _all_unchanged(dbsession, content_dir)
    if unchanged is not None:
        return LoadReport(unchanged=unchanged, parsed=False)
    vocabulary, items = read_content(content_dir)
    _guard_against_web_items(dbsession, items)
    report = LoadReport()
    _sync_vocabulary(dbsession, vocabulary)
    dbsession.flush()
    lookups = _Lookups(dbsession)
    for model, kind, apply in (
        (Source, "bron", _apply_source),
        (PracticeExample, "voorbeeld", _apply_example),
        (Article, "kennis", _apply_article),
    ):
        _sync_items(dbsession, model, [i for i in items if i.kind == kind], apply, lookups, report)
        dbsession.flush()
        lookups.refresh(dbsession)
    _drop_stale_regions(dbsession, vocabulary)
    return report


def _all_unchanged(dbsession: Session, content_dir: Path) -> int | None:
    """The number of items when every file is loaded exactly as it is now, else None."""
    if not content_dir.is_dir():
        return None
    digests = quick_digests(content_dir)
    if not digests:
        return None
    loaded: dict[str, str] = {}
    for model in (Source, PracticeExample, Article):
        rows = dbsession.execute(select(model.origin_path, model.origin_hash).where(
            model.origin_path != "", model.status.in_((Status.PUBLISHED, Status.OFFLINE))))
        loaded.update(dict(rows.all()))
    return len(digests) if loaded == digests else None


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
    def __init__(self, dbsession: Session):
        self.refresh(dbsession)

    def refresh(self, dbsession: Session) -> None:
        self.themes = {t.slug: t for t in dbsession.scalars(select(Theme))}
        self.school_types = {t.slug: t for t in dbsession.scalars(select(SchoolType))}
        self.regions = {r.slug: r for r in dbsession.scalars(select(Region))}
        self.sources = {s.slug: s for s in dbsession.scalars(select(Source))}
        self.examples = {e.slug: e for e in dbsession.scalars(select(PracticeExample))}


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


def _sync_items(dbsession, model, files: list[ContentFile], apply, lookups: _Lookups, report: LoadReport) -> None:
    existing = {i.slug: i for i in dbsession.scalars(select(model).where(model.origin_path != ""))}
    for item_file in files:
        item = existing.pop(item_file.slug, None)
        # An item the editors took offline (Status.OFFLINE) stays offline: reloading its file does not publish it.
        if item is not None and item.origin_hash == item_file.digest and item.status in (Status.PUBLISHED,
                                                                                          Status.OFFLINE):
            report.unchanged += 1
            continue
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
    for item in existing.values():  # files that were removed: unpublish, keep for history
        if item.status != Status.WITHDRAWN:
            item.status = Status.WITHDRAWN
            _keep_updated_at(item)
            report.withdrawn.append(item.origin_path)


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
