"""Export published content as a content/ tree (the format portal-load reads; see content/README.md).

Only what the public may see is written: published items, and of their contacts only the public ones (with
consent). Web contributions that name no publication from the source list get a small source file of their own
(``bronnen/bijdrage-<slug>.md``), because every content file must point to a source.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.content.models import Article, PracticeExample, Region, RegionKind, SchoolType, Source, Status, Theme

WEB_CHAPTER = "Bijdrage via de website"
WEB_PUBLISHER = "Kennisportaal Onderwijs & Jeugd"


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=110, default_flow_style=False)


def _write_item(path: Path, meta: dict[str, Any], body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"---\n{_dump(meta)}---\n{body.strip()}\n", encoding="utf-8")


def _vocabulary(dbsession: Session, target: Path) -> None:
    vocab = target / "vocabulaire"
    vocab.mkdir(parents=True, exist_ok=True)
    themes = [{"slug": t.slug, "name": t.name, "description": t.description}
              for t in dbsession.scalars(select(Theme).order_by(Theme.position))]
    school_types = [{"slug": t.slug, "name": t.name, "description": t.description}
                    for t in dbsession.scalars(select(SchoolType).order_by(SchoolType.position))]
    regions = list(dbsession.scalars(select(Region).order_by(Region.position)))
    by_id = {r.id: r for r in regions}

    def entry(region: Region, *links: str) -> dict[str, Any]:
        data: dict[str, Any] = {"slug": region.slug, "name": region.name}
        for link in links:
            ref = by_id.get(getattr(region, f"{'province' if link == 'provincie' else 'youth_region'}_id"))
            data[link] = ref.slug if ref else None
        data["aliases"] = list(region.aliases or [])
        return data

    regios = {
        "provincies": [entry(r) for r in regions if r.kind == RegionKind.PROVINCE],
        "jeugdregios": [entry(r, "provincie") for r in regions if r.kind == RegionKind.YOUTH_REGION],
        "gemeenten": [entry(r, "jeugdregio", "provincie") for r in regions if r.kind == RegionKind.MUNICIPALITY],
    }
    (vocab / "themas.yaml").write_text(_dump(themes), encoding="utf-8")
    (vocab / "schooltypes.yaml").write_text(_dump(school_types), encoding="utf-8")
    (vocab / "regios.yaml").write_text(_dump(regios), encoding="utf-8")


def _source_meta(source: Source) -> dict[str, Any]:
    meta: dict[str, Any] = {"slug": source.slug, "title": source.title, "publisher": source.publisher}
    if source.year is not None:
        meta["year"] = source.year
    if source.year_note:
        meta["year_note"] = source.year_note
    if source.url:
        meta["url"] = source.url
    meta["summary"] = source.summary
    return meta


def _web_source(example: PracticeExample) -> tuple[str, dict[str, Any], str]:
    slug = f"bijdrage-{example.slug}"[:80].strip("-")
    note = (example.source_note or "").strip()
    meta: dict[str, Any] = {"slug": slug, "title": f"Bijdrage via het Kennisportaal: {example.title}",
                            "publisher": WEB_PUBLISHER}
    if note.startswith(("http://", "https://")) and " " not in note and len(note) <= 500:
        meta["url"] = note
    meta["summary"] = f"Praktijkvoorbeeld dat via de website is bijgedragen. {note}".strip()
    return slug, meta, f"Bron van het praktijkvoorbeeld [{example.title}](/voorbeelden/{example.slug})."


def _example_meta(example: PracticeExample, source_slug: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"slug": example.slug, "title": example.title, "summary": example.summary,
                            "place": example.place}
    if example.gemeente is not None:
        meta["gemeente"] = example.gemeente.slug
    else:
        if example.youth_region is not None:
            meta["jeugdregio"] = example.youth_region.slug
        meta["provincie"] = example.province.slug if example.province else None
    meta["school_types"] = [t.slug for t in example.school_types]
    meta["target_group"] = example.target_group
    meta["themes"] = [t.slug for t in example.themes]
    meta["partners"] = list(example.partners or [])
    meta["financing"] = example.financing
    if example.start_year is not None:
        meta["start_year"] = example.start_year
    if example.project_status:
        meta["status"] = example.project_status
    meta["featured"] = bool(example.featured)
    meta["source"] = source_slug
    meta["source_chapter"] = example.source_chapter or WEB_CHAPTER
    meta["tips"] = [t.text for t in example.tips]
    meta["contacts"] = [
        # Private contacts never leave the database, nor does an address shown to no one but the editors.
        {k: v for k, v in (("name", c.name), ("role", c.role), ("organisation", c.organisation),
                           ("email", c.public_email), ("consent", c.email_public and c.consent),
                           ("organisation_email", c.email_public and c.organisation_email)) if v}
        for c in example.public_contacts
    ]
    return meta


def export_content(dbsession: Session, target: Path) -> dict[str, int]:
    """Write vocabulary, published sources, examples and articles under ``target``; returns counts per kind."""
    target.mkdir(parents=True, exist_ok=True)
    _vocabulary(dbsession, target)
    counts = {"bronnen": 0, "voorbeelden": 0, "kennis": 0}
    for source in dbsession.scalars(select(Source).where(Source.status == Status.PUBLISHED)):
        _write_item(target / "bronnen" / f"{source.slug}.md", _source_meta(source), source.body)
        counts["bronnen"] += 1
    published = list(dbsession.scalars(select(PracticeExample).where(PracticeExample.status == Status.PUBLISHED)
                                       .order_by(PracticeExample.slug)))
    for example in published:
        if example.source is not None and example.source.status == Status.PUBLISHED:
            source_slug = example.source.slug
        else:
            source_slug, meta, body = _web_source(example)
            _write_item(target / "bronnen" / f"{source_slug}.md", meta, body)
            counts["bronnen"] += 1
        _write_item(target / "voorbeelden" / f"{example.slug}.md", _example_meta(example, source_slug),
                    example.body_markdown())
        counts["voorbeelden"] += 1
    published_slugs = {e.slug for e in published}
    for article in dbsession.scalars(select(Article).where(Article.status == Status.PUBLISHED)):
        if article.source is None or article.source.status != Status.PUBLISHED:
            continue  # cannot be loaded back without its source
        meta = {"slug": article.slug, "title": article.title, "summary": article.summary, "kind": article.kind,
                "themes": [t.slug for t in article.themes], "source": article.source.slug,
                "source_chapter": article.source_chapter,
                "related": [e.slug for e in article.related_examples if e.slug in published_slugs],
                "featured": bool(article.featured)}
        _write_item(target / "kennis" / f"{article.slug}.md", meta, article.body)
        counts["kennis"] += 1
    return counts
