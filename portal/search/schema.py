"""The index schema and the field weights used at query time."""

from __future__ import annotations

from whoosh.fields import DATETIME, ID, KEYWORD, STORED, TEXT, Schema

from portal.search.analysis import Lexicon, dutch_analyzer, folding_analyzer

#: Field weights: a match in the title counts most, then summary/themes/place, then the body.
FIELD_WEIGHTS: dict[str, float] = {
    "title": 6.0,
    "place": 3.0,
    "themes": 3.0,
    "summary": 2.0,
    "meta": 1.5,
    "body": 1.0,
}
TEXT_FIELDS = tuple(FIELD_WEIGHTS)
#: Phrases are checked where word order carries meaning (positions are costly to verify everywhere).
PHRASE_FIELDS = ("title", "summary", "body")
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
        summary=TEXT(analyzer=text, stored=True),
        #: Place, gemeente, jeugdregio and provincie names with their aliases.
        place=TEXT(analyzer=text),
        #: Theme and school type names.
        themes=TEXT(analyzer=text),
        #: Target group, partners, financing line, kind of article, publisher.
        meta=TEXT(analyzer=text),
        body=TEXT(analyzer=text, stored=True),
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
    """Fill the fields computed from others: the spelling dictionary and the autocomplete words."""
    if "spell" not in doc:
        # Titles, summaries and places: the distinctive words people mistype (names, projects, places).
        doc = {**doc, "spell": " ".join(str(doc.get(n) or "") for n in ("title", "summary", "place", "themes"))}
    if "ac" not in doc:
        doc = {**doc, "ac": doc.get("title", "")}
    return doc
