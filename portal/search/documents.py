"""Turning published content into index documents (a projection: the database is the source of truth)."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from portal.content.models import (
    Article,
    PracticeExample,
    Region,
    Source,
    Status,
)

#: doc_type -> (model, route name of its page, label shown in the "type" facet).
DOC_TYPES = {
    "voorbeeld": (PracticeExample, "voorbeeld", "Praktijkvoorbeeld"),
    "kennis": (Article, "kennisartikel", "Kennisartikel"),
    "bron": (Source, "bron", "Bron"),
}
TYPE_LABELS = {"voorbeeld": "Praktijkvoorbeeld", "kennis": "Kennisartikel", "tip": "Tip", "bron": "Bron"}
MODEL_TYPES = {model: doc_type for doc_type, (model, _route, _label) in DOC_TYPES.items()}

_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_MARKS = re.compile(r"(^|\s)#{1,6}\s+|[*_`>|]+|^\s*[-+]\s+|^\s*\d+\.\s+", re.MULTILINE)
_SPACES = re.compile(r"[ \t]+")
#: An internal identifier in a code span (`koesterklas-nunspeet`, `tip:slug:1`), with a dash that introduces it:
#: meant for editors, not readers, so it does not reach the index text or a search snippet.
_MD_IDENTIFIER = re.compile(r"(?:\s*[–—-])?\s*`[a-z0-9]+(?:[-_:/.][a-z0-9]+)+`")


def plain_text(markdown: str) -> str:
    """Markdown to readable plain text for indexing and snippets (no markup reaches a snippet)."""
    text = _MD_IDENTIFIER.sub("", markdown or "")
    text = _MD_LINK.sub(r"\1", text)
    text = _MD_MARKS.sub(r"\1", text)
    text = re.sub(r"^[\s:-]+$", "", text, flags=re.MULTILINE)  # table rules
    return _SPACES.sub(" ", text).strip()


@dataclass
class Deletion:
    """Remove a document (and, for examples, its tips) from the index."""

    key: str


def _region_names(region: Region | None) -> list[str]:
    if region is None:
        return []
    return [region.name, *(region.aliases or [])]


def _example_regions(ex: PracticeExample) -> tuple[Region | None, Region | None, Region | None]:
    gemeente = ex.gemeente
    youth = ex.youth_region or (gemeente.youth_region if gemeente else None)
    province = ex.province or (gemeente.province if gemeente else None) or (youth.province if youth else None)
    return gemeente, youth, province


def _when(*values: dt.datetime | None) -> dt.datetime:
    for value in values:
        if value is not None:
            return value
    return dt.datetime(2000, 1, 1)


def example_documents(ex: PracticeExample) -> list[dict]:
    gemeente, youth, province = _example_regions(ex)
    themes = list(ex.themes)
    school_types = list(ex.school_types)
    place_text = " ".join([ex.place or "", *_region_names(gemeente), *_region_names(youth), *_region_names(province)])
    data = {
        "place": ex.place or "",
        "region": youth.name if youth else "",
        "province": province.name if province else "",
        "themes": [t.name for t in themes],
        "route": "voorbeeld",
    }
    facets = {
        "thema": ",".join(t.slug for t in themes),
        "regio": youth.slug if youth else "",
        "provincie": province.slug if province else "",
        "schooltype": ",".join(s.slug for s in school_types),
        "gebied": ",".join(r.slug for r in (gemeente, youth, province) if r is not None),
    }
    key = f"voorbeeld:{ex.slug}"
    updated = _when(ex.published_at, ex.updated_at)
    body = "\n".join(plain_text(text) for _field, _heading, text in ex.sections())
    tips = [tip.text for tip in ex.tips]
    doc = {
        "key": key,
        "slug": ex.slug,
        "type": "voorbeeld",
        "title": ex.title,
        "summary": plain_text(ex.summary),
        "place": place_text,
        "themes": " ".join([t.name for t in themes] + [s.name for s in school_types]),
        "meta": " ".join([ex.target_group or "", *(ex.partners or []), ex.financing or ""]),
        "body": body + "\n" + "\n".join(tips),
        "updated": updated,
        "data": json.dumps(data, ensure_ascii=False),
        **facets,
    }
    docs = [doc]
    for n, text in enumerate(tips, start=1):
        docs.append(
            {
                "key": f"tip:{ex.slug}:{n}",
                # A tip is a fragment of its example: it should not push whole examples off the first page.
                "_boost": 0.35,
                "parent": key,
                "slug": ex.slug,
                "type": "tip",
                "title": f"Tip uit {ex.title}",
                "summary": plain_text(text),
                "place": place_text,
                "themes": doc["themes"],
                "updated": updated,
                "data": json.dumps({**data, "fragment": "tips"}, ensure_ascii=False),
                **facets,
            }
        )
    return docs


def article_documents(article: Article) -> list[dict]:
    themes = list(article.themes)
    data = {
        "place": "",
        "region": "",
        "province": "",
        "themes": [t.name for t in themes],
        "route": "kennisartikel",
    }
    return [
        {
            "key": f"kennis:{article.slug}",
            "slug": article.slug,
            "type": "kennis",
            "title": article.title,
            "summary": plain_text(article.summary),
            "themes": " ".join(t.name for t in themes),
            "meta": " ".join([article.kind or "", article.source.title if article.source else ""]),
            "body": plain_text(article.body),
            "updated": _when(article.updated_at),
            "data": json.dumps(data, ensure_ascii=False),
            "thema": ",".join(t.slug for t in themes),
        }
    ]


def source_documents(source: Source) -> list[dict]:
    data = {"place": "", "region": "", "province": "", "themes": [], "route": "bron"}
    return [
        {
            "key": f"bron:{source.slug}",
            "slug": source.slug,
            "type": "bron",
            "title": source.title,
            "summary": plain_text(source.summary),
            "meta": " ".join([source.publisher or "", str(source.year or "")]),
            "body": plain_text(source.body),
            "updated": _when(source.updated_at),
            "data": json.dumps(data, ensure_ascii=False),
        }
    ]


BUILDERS = {"voorbeeld": example_documents, "kennis": article_documents, "bron": source_documents}


def _example_query():
    return select(PracticeExample).options(
        selectinload(PracticeExample.themes),
        selectinload(PracticeExample.school_types),
        selectinload(PracticeExample.tips),
        selectinload(PracticeExample.gemeente).selectinload(Region.youth_region),
        selectinload(PracticeExample.gemeente).selectinload(Region.province),
        selectinload(PracticeExample.youth_region).selectinload(Region.province),
        selectinload(PracticeExample.province),
    )


def all_documents(session: Session, batch: int = 500) -> Iterator[dict]:
    """Every published item as index documents (read in batches so 100k items fit in memory)."""
    queries = [
        (
            _example_query().where(PracticeExample.status == Status.PUBLISHED),
            example_documents,
            PracticeExample,
        ),
        (
            select(Article)
            .options(selectinload(Article.themes), selectinload(Article.source))
            .where(Article.status == Status.PUBLISHED),
            article_documents,
            Article,
        ),
        (select(Source).where(Source.status == Status.PUBLISHED), source_documents, Source),
    ]
    for query, builder, model in queries:
        last_id = 0
        while True:
            rows = session.scalars(query.where(model.id > last_id).order_by(model.id).limit(batch)).all()
            if not rows:
                break
            for item in rows:
                yield from builder(item)
            last_id = rows[-1].id
            session.expunge_all()


def documents_for(session: Session, doc_type: str, slug: str) -> list[dict]:
    """The documents of one item, or [] when it is missing or not published (it must leave the index)."""
    if doc_type not in DOC_TYPES:
        return []
    model = DOC_TYPES[doc_type][0]
    query = _example_query() if model is PracticeExample else select(model)
    item = session.scalars(query.where(model.slug == slug)).first()
    if item is None or not item.is_published:
        return []
    return BUILDERS[doc_type](item)
