"""The index schema and the field weights used at query time."""

from __future__ import annotations

from whoosh.fields import DATETIME, ID, KEYWORD, STORED, TEXT, Schema

from portal.search.analysis import Lexicon, dutch_analyzer, folding_analyzer

#: Field weights at query time. "all" holds every text of an item, with title, summary, place and themes
#: written into it more than once (ALL_REPEAT): one posting list per word keeps ranking fast at 100,000
#: items, and the repetition plus the separate title field give title > summary/themes/place > body.
FIELD_WEIGHTS: dict[str, float] = {"title": 3.0, "all": 1.0}
ALL_REPEAT = {"title": 1, "place": 2, "themes": 2, "summary": 1, "meta": 1, "body": 1}
TEXT_FIELDS = tuple(FIELD_WEIGHTS)
PHRASE_FIELDS = TEXT_FIELDS
#: Fields highlighted in result snippets, in order of preference.
HIGHLIGHT_FIELDS = ("summary", "body")
#: Facet fields as named in the URL (and the JSON "facets" object).
FACETS = ("thema", "regio", "provincie", "schooltype", "type")


def build_schema(lexicon: Lexicon | None = None) -> Schema:
    text = dutch_analyzer(lexicon)
    return Schema(
        #: "<type>:<slug>" (tips: "tip:<example slug>:<n>"): the unique document key.
        key=ID(unique=True, stored=True),
        slug=ID(stored=True),
        #: For tips: the key of the example they belong to (deleted and re-added with it).
        parent=ID(),
        type=ID(stored=True),
        title=TEXT(analyzer=text, stored=True),
        #: Everything searchable: title, summary, place/region names and aliases, theme and school type names,
        #: target group, partners, financing, body (see ALL_REPEAT).
        all=TEXT(analyzer=text),
        summary=STORED(),
        body=STORED(),
        #: Unstemmed words of all text: the dictionary for "Bedoelde u".
        spell=TEXT(analyzer=folding_analyzer(), phrase=False),
        #: Unstemmed title words: autocomplete.
        ac=TEXT(analyzer=folding_analyzer(), phrase=False),
        thema=KEYWORD(stored=True, commas=True, scorable=False),
        regio=KEYWORD(stored=True, commas=True, scorable=False),
        provincie=KEYWORD(stored=True, commas=True, scorable=False),
        schooltype=KEYWORD(stored=True, commas=True, scorable=False),
        #: Every region slug the item lies in (gemeente, jeugdregio, provincie): filtering from region pages.
        gebied=KEYWORD(commas=True, scorable=False),
        updated=DATETIME(stored=True, sortable=True),
        #: Display data for result lists (JSON): place, region and province names, theme names, url route.
        data=STORED(),
    )


def with_derived_fields(doc: dict) -> dict:
    """Index fields computed from the document's texts: "all", the spelling dictionary, autocomplete words."""
    texts = {name: str(doc.pop(name, "") or "") for name in ("place", "themes", "meta")}
    if "all" not in doc:
        parts = []
        for name, times in ALL_REPEAT.items():
            text = texts.get(name) if name in texts else str(doc.get(name) or "")
            parts.extend([text] * times if text else [])
        doc = {**doc, "all": "\n".join(parts)}
    doc = {**doc, **{f"_{k}": v for k, v in texts.items()}}
    if "spell" not in doc:
        # Titles, summaries and places: the distinctive words people mistype (names, projects, places).
        doc = {
            **doc,
            "spell": " ".join(
                [
                    str(doc.get("title") or ""),
                    str(doc.get("summary") or ""),
                    doc.get("_place", ""),
                    doc.get("_themes", ""),
                ]
            ),
        }
    if "ac" not in doc:
        doc = {**doc, "ac": doc.get("title", "")}
    return {k: v for k, v in doc.items() if not k.startswith("_") or k == "_boost"}
