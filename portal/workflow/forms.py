"""The contribution form (Deform/Colander): sections, repeatable tips and contacts, conversion to snapshots.

Drafts accept incomplete text (only the title is required, plus types, lengths and known values); what a submission
additionally needs is checked by workflow.services.completeness_errors and shown next to the same fields. The
"(verplicht)" markers are derived from that same rule (SUBMIT_REQUIRED), so the form and the check cannot drift.
Repeatable items work without JavaScript: the form always shows a few empty rows, and the "meer velden" button adds
more (empty rows are ignored when saving).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import colander
import deform
import peppercorn
from pyramid.httpexceptions import HTTPBadRequest
from pyramid.i18n import get_localizer
from pyramid.threadlocal import get_current_request
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.content.files import PROJECT_STATUSES
from portal.content.models import Region, RegionKind, SchoolType, Source, Theme
from portal.content.places import PlaceIndex, places_in
from portal.inputs import clean_text, oneline_error
from portal.workflow.services import completeness_errors
from portal.workflow.snapshot import FIELD_LABELS, empty_snapshot, normalised

MAX_TEXT = 20_000
MAX_TIPS = 30
MAX_CONTACTS = 20
EMPTY_ROWS = 2
#: Which form section holds which snapshot field (used to put errors next to the right field).
SECTIONS = {
    "basis": ("title", "summary", "place", "gemeente", "provincie", "school_types", "target_group", "themes",
              "partners", "start_year", "project_status"),
    "aanpak": ("background", "approach"),
    "resultaten": ("results",),
    "financiering": ("financing", "financing_text"),
    "lessen": ("lessons",),
    "bron": ("source", "source_chapter", "source_note"),
}
#: Status values offered in the form: "" means unknown (one "Onbekend" choice; the stored value "onbekend" of
#: older items is read as "").
STATUS_CHOICES = [("", "Onbekend"), *[(s, s.capitalize()) for s in PROJECT_STATUSES if s != "onbekend"]]


def _sample(value: Any) -> Any:
    """A filled-in value of the same kind, to probe the completeness rule."""
    if isinstance(value, list):
        return ["x"]
    if value is None:
        return 2000
    return "x"


def submit_requirements() -> dict[str, str | None]:
    """Field -> None when submitting always needs it, or the field that can stand in for it (gemeente for
    provincie, bron for the source note). Asked of services.completeness_errors itself: which fields does it
    refuse on an empty snapshot, and which of those does filling one other field satisfy."""
    empty = empty_snapshot()
    needed = completeness_errors(empty)
    requirements: dict[str, str | None] = {}
    for field in needed:
        requirements[field] = None
        for other in FIELD_LABELS:
            if other in needed or other in ("contacts", "tips"):
                continue
            trial = empty_snapshot()
            trial[other] = _sample(empty[other])
            if field not in completeness_errors(trial):
                requirements[field] = other
                break
    return requirements


SUBMIT_REQUIRED = submit_requirements()


def required_mark(field: str) -> str:
    """The label suffix for a field submitting needs ("" for the others)."""
    if field not in SUBMIT_REQUIRED:
        return ""
    alternative = SUBMIT_REQUIRED[field]
    if alternative is None:
        return " (verplicht)"
    return f" (verplicht als {FIELD_LABELS[alternative].lower()} leeg is)"


def _length(maximum: int, minimum: int = 0):
    return colander.Length(min=minimum, max=maximum,
                           min_err="Dit veld is verplicht.",
                           max_err=f"Te lang: maximaal {maximum} tekens.")


def _one_line(node, value):
    """One-line fields (title, place, names, e-mail): no line breaks or control characters."""
    error = oneline_error(value)
    if error:
        raise colander.Invalid(node, error)


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _clean_strip(value):
    """Multi-line text: control characters removed (tabs and line breaks kept), outer whitespace stripped."""
    return _strip(clean_text(value))


def _text(name: str, maximum: int = 300, required: bool = False, textarea: bool = False, rows: int = 4,
          description: str = "") -> colander.SchemaNode:
    widget = deform.widget.TextAreaWidget(rows=rows) if textarea else deform.widget.TextInputWidget()
    length = _length(maximum, 1 if required else 0)
    return colander.SchemaNode(
        colander.String(), name=name, title=FIELD_LABELS.get(name, name), widget=widget, description=description,
        validator=length if textarea else colander.All(_one_line, length),
        missing=colander.required if required else "",
        missing_msg="Dit veld is verplicht.", preparer=_clean_strip if textarea else _strip)


def _markdown(name: str, description: str = "") -> colander.SchemaNode:
    node = _text(name, MAX_TEXT, textarea=True, rows=8, description=description)
    node.markdown_help = True  # mapping_item.pt shows the short Markdown help (a <details>) under the field
    return node


def _project_status(value):
    return "" if value == "onbekend" else _strip(value)


class Vocabulary:
    def __init__(self, dbsession: Session, places: tuple[tuple[str, str], ...] = ()):
        regions = list(dbsession.scalars(select(Region).order_by(Region.name)))
        self.municipalities = [(r.slug, r.name) for r in regions if r.kind == RegionKind.MUNICIPALITY]
        #: Finds the gemeente for what people type: its name, an alias, or a woonplaats (places: woonplaatsen.csv).
        self.place_index = PlaceIndex.cached(tuple((r.slug, r.name, tuple(r.aliases or [])) for r in regions
                                                   if r.kind == RegionKind.MUNICIPALITY), tuple(places))
        self.provinces = [(r.slug, r.name) for r in regions if r.kind == RegionKind.PROVINCE]
        self.themes = [(t.slug, t.name) for t in dbsession.scalars(select(Theme).order_by(Theme.position))]
        self.school_types = [(t.slug, t.name)
                             for t in dbsession.scalars(select(SchoolType).order_by(SchoolType.position))]
        self.sources = [(s.slug, s.title) for s in dbsession.scalars(select(Source).order_by(Source.title))]

    def label(self, field: str, value: str) -> str:
        """The display name of a stored vocabulary value (a slug), for diffs; other values as they are."""
        lists = {"gemeente": "municipalities", "provincie": "provinces", "themes": "themes",
                 "school_types": "school_types", "source": "sources"}
        choices = getattr(self, lists.get(field, ""), None) or []
        return next((name for slug, name in choices if slug == value), value)


class _Gemeente(colander.SchemaType):
    """A gemeente typed as text (name, alias or woonplaats) and stored as its slug; shown again by its name."""

    def __init__(self, index: PlaceIndex):
        self.index = index

    def serialize(self, node, appstruct):
        if appstruct in (colander.null, None, ""):
            return ""
        return self.index.names.get(appstruct, appstruct)

    def deserialize(self, node, cstruct):
        if cstruct in (colander.null, None):
            return colander.null
        if not isinstance(cstruct, str):
            raise colander.Invalid(node, "Typ de naam van een gemeente of woonplaats.")
        text = " ".join(cstruct.split())
        if not text:
            return colander.null
        if len(text) > 200 or oneline_error(text):
            raise colander.Invalid(node, "Typ de naam van een gemeente of woonplaats.")
        found = self.index.resolve(text)
        if found.slug is None:
            raise colander.Invalid(node, self.index.describe(found, text))
        return found.slug


def _gemeente(vocab: Vocabulary) -> colander.SchemaNode:
    """Text field with the list of all gemeenten (a <datalist>: suggestions while typing, no JavaScript needed)."""
    return colander.SchemaNode(
        _Gemeente(vocab.place_index), name="gemeente", title=FIELD_LABELS["gemeente"], missing="",
        description=("Typ de gemeente of de woonplaats, bijvoorbeeld 'Harderwijk' of 'Joure'; "
                     "jeugdregio en provincie volgen daaruit."),
        widget=deform.widget.TextInputWidget(template="gemeente_input",
                                             values=[name for _slug, name in vocab.municipalities]))


def _choice(name: str, values: list[tuple[str, str]], empty: str) -> colander.SchemaNode:
    allowed = [v for v, _l in values]
    return colander.SchemaNode(
        colander.String(), name=name, title=FIELD_LABELS[name], missing="",
        widget=deform.widget.SelectWidget(values=[("", empty), *values]),
        validator=colander.OneOf(["", *allowed], msg_err="Kies een waarde uit de lijst."))


def _multi(name: str, values: list[tuple[str, str]]) -> colander.SchemaNode:
    allowed = {v for v, _l in values}

    def validator(node, value):
        unknown = set(value) - allowed
        if unknown:
            raise colander.Invalid(node, "Kies alleen waarden uit de lijst.")

    return colander.SchemaNode(colander.Set(), name=name, title=FIELD_LABELS[name], missing=set(),
                               widget=deform.widget.CheckboxChoiceWidget(values=values, inline=False),
                               validator=validator)


def _contact_validator(node, value):
    if any((value.get(k) or "").strip() for k in ("role", "organisation", "email")) and not value["name"]:
        exc = colander.Invalid(node, "Vul de naam van de contactpersoon in.")
        exc["name"] = "Vul de naam in (of maak alle velden van deze contactpersoon leeg)."
        raise exc


def contribution_schema(vocab: Vocabulary) -> colander.SchemaNode:
    schema = colander.SchemaNode(colander.Mapping(unknown="ignore"))
    for hidden in ("csrf_token", "version", "token"):
        schema.add(colander.SchemaNode(colander.String(), name=hidden, missing="",
                                       widget=deform.widget.HiddenWidget()))
    basis = colander.SchemaNode(colander.Mapping(), name="basis", title="Basisgegevens")
    basis.add(_text("title", 300, required=True))
    basis.add(_text("summary", 600, textarea=True, rows=4,
                    description="Eén alinea (maximaal 600 tekens): wat is het en wat levert het op?"))
    basis.add(_text("place", 200, description="De plaats zoals mensen hem noemen, bijvoorbeeld 'IJmuiden'."))
    basis.add(_gemeente(vocab))
    basis.add(_choice("provincie", vocab.provinces, "— kies een provincie (als de gemeente ontbreekt) —"))
    basis.add(_multi("school_types", vocab.school_types))
    basis.add(_text("target_group", 2000, textarea=True, rows=2, description="Voor welke kinderen of jongeren?"))
    basis.add(_multi("themes", vocab.themes))
    basis.add(_text("partners", 4000, textarea=True, rows=3, description="Eén organisatie per regel."))
    basis.add(colander.SchemaNode(
        colander.Integer(), name="start_year", title=FIELD_LABELS["start_year"], missing=None,
        validator=colander.Range(1900, 2100, min_err="Een jaartal na 1900.", max_err="Een jaartal vóór 2100."),
        widget=deform.widget.TextInputWidget(attributes={"inputmode": "numeric"})))
    basis.add(colander.SchemaNode(
        colander.String(), name="project_status", title=FIELD_LABELS["project_status"], missing="",
        widget=deform.widget.SelectWidget(values=STATUS_CHOICES), preparer=_project_status,
        validator=colander.OneOf([v for v, _l in STATUS_CHOICES], msg_err="Kies een waarde uit de lijst.")))
    schema.add(basis)
    for section, title in (("aanpak", "Aanleiding en aanpak"), ("resultaten", "Resultaten"),
                           ("financiering", "Financiering"), ("lessen", "Geleerde lessen")):
        node = colander.SchemaNode(colander.Mapping(), name=section, title=title)
        for field in SECTIONS[section]:
            if field == "financing":
                node.add(_text(field, 2000, textarea=True, rows=2,
                               description="Eén of twee zinnen: hoe wordt het betaald?"))
            else:
                node.add(_markdown(field))
        schema.add(node)
    tips = colander.SchemaNode(
        colander.Sequence(), name="tips", title="Tips", missing=[],
        description="Eén tip per veld. Lege velden worden overgeslagen.",
        validator=colander.Length(max=MAX_TIPS + EMPTY_ROWS + 3, max_err="Te veel tips."),
        widget=deform.widget.SequenceWidget())
    tips.add(colander.SchemaNode(colander.String(), name="tip", title="Tip", missing="", preparer=clean_text,
                                 widget=deform.widget.TextAreaWidget(rows=2), validator=_length(1000)))
    schema.add(tips)
    contacts = colander.SchemaNode(
        colander.Sequence(), name="contacts", title="Contactpersonen", missing=[],
        description=("Kies per persoon of naam en e-mailadres openbaar mogen worden (alleen met toestemming van "
                     "die persoon) of alleen voor de redactie zijn. Lege blokken worden overgeslagen."),
        validator=colander.Length(max=MAX_CONTACTS + EMPTY_ROWS + 3, max_err="Te veel contactpersonen."),
        widget=deform.widget.SequenceWidget())
    contact = colander.SchemaNode(colander.Mapping(), name="contact", title="Contactpersoon",
                                  validator=_contact_validator)
    contact.add(colander.SchemaNode(colander.String(), name="name", title="Naam", missing="",
                                    validator=colander.All(_one_line, _length(200))))
    contact.add(colander.SchemaNode(colander.String(), name="role", title="Functie", missing="",
                                    validator=colander.All(_one_line, _length(200))))
    contact.add(colander.SchemaNode(colander.String(), name="organisation", title="Organisatie", missing="",
                                    validator=colander.All(_one_line, _length(300))))
    contact.add(colander.SchemaNode(
        colander.String(), name="email", title="E-mailadres", missing="",
        validator=colander.All(_one_line, _length(254), colander.Email(msg="Dit is geen geldig e-mailadres.")),
        preparer=lambda v: v.strip() if isinstance(v, str) else v))
    contact.add(colander.SchemaNode(
        colander.String(), name="visibility", title="Zichtbaarheid", missing="redactie",
        widget=deform.widget.RadioChoiceWidget(values=[("redactie", "Alleen voor de redactie"),
                                                       ("openbaar", "Openbaar op de website")]),
        validator=colander.OneOf(["redactie", "openbaar"], msg_err="Kies openbaar of alleen voor de redactie.")))
    contact.add(colander.SchemaNode(
        colander.Boolean(), name="consent", missing=False,
        title="Deze persoon geeft toestemming om naam en e-mailadres te publiceren",
        widget=deform.widget.CheckboxWidget()))
    contacts.add(contact)
    schema.add(contacts)
    bron = colander.SchemaNode(colander.Mapping(), name="bron", title="Bron of website")
    bron.add(_choice("source", vocab.sources, "— geen publicatie uit onze bronnenlijst —"))
    bron.add(_text("source_chapter", 300, description="Hoofdstuk of onderdeel, als u een bron uit de lijst kiest."))
    bron.add(_text("source_note", 1000, textarea=True, rows=2,
                   description="Website, rapport of andere plek waar meer te lezen is."))
    schema.add(bron)
    _mark_fields(schema)
    return schema


def _mark_fields(schema: colander.SchemaNode) -> None:
    """Stable ids (``f-title``; the error summary and remarks link to them) and the submit-required markers."""
    for section, fields in SECTIONS.items():
        for name in fields:
            node = schema[section][name]
            node.oid = f"f-{name}"
            node.required_mark = required_mark(name)
            # A plain "required" only where the rule has no alternative; "verplicht als ... leeg is" has none.
            node.submit_required = name in SUBMIT_REQUIRED and SUBMIT_REQUIRED[name] is None
    for name in ("tips", "contacts"):
        schema[name].oid = f"f-{name}"
        schema[name].required_mark = required_mark(name)
        schema[name].submit_required = False


BUTTONS = (
    deform.Button("opslaan", "Opslaan als concept"),
    deform.Button("voorbeeld", "Voorbeeld bekijken", css_class="secondary"),
    deform.Button("meer", "Meer velden voor tips en contactpersonen", css_class="secondary"),
    deform.Button("indienen", "Opslaan en indienen bij de redactie", css_class="primary"),
)


#: The reviewers' form (route redactie_bewerken) can also publish what it saves, in one step
#: (portal.views.editorial.editor_save).
REVIEWER_BUTTONS = (*BUTTONS, deform.Button("publiceren", "Opslaan en publiceren", css_class="primary"))


def make_form(request, action: str, buttons=None) -> deform.Form:
    if buttons is None:
        route = getattr(request.matched_route, "name", "")
        buttons = REVIEWER_BUTTONS if route == "redactie_bewerken" else BUTTONS
    places = places_in(request.registry.settings.get("portal.content_dir"))
    schema = contribution_schema(Vocabulary(request.dbsession, places))
    # No autofocus on the first field: focus belongs at the error summary when there is one, else where it was.
    return deform.Form(schema, action=action, buttons=buttons, formid="bijdrage", focus="off")


def _control_id(field: deform.Field) -> str:
    """The id a link to this field should target: the control itself, or the first choice of a group."""
    if field.widget.__class__.__name__ in ("CheckboxChoiceWidget", "RadioChoiceWidget"):
        return f"{field.oid}-0"
    return field.oid


def _messages(field: deform.Field) -> list[str]:
    return [m for m in field.error.messages() if m] if field.error is not None else []


def error_summary(form: deform.Form) -> list[tuple[str, str]]:
    """(anchor id, text) for each field with an error, in form order: the error summary at the top of the page.

    The text names the field ("Titel: Dit veld is verplicht."); fields inside a repeated block are named with
    the block ("Contactpersoon 2, Naam: ...")."""
    items: list[tuple[str, str]] = []

    def entry(field: deform.Field, name: str) -> None:
        text = " ".join(_messages(field))
        items.append((_control_id(field), text if name in text else f"{name}: {text}"))

    def walk(field: deform.Field, name: str) -> None:
        typ = field.typ.__class__.__name__
        if typ == "Sequence":
            before = len(items)
            for number, item in enumerate(getattr(field, "sequence_fields", []), start=1):
                walk(item, f"{item.title} {number}")
            if _messages(field) and len(items) == before:
                entry(field, name)
        elif typ == "Mapping":
            before = len(items)
            for child in field.children:
                walk(child, f"{name}, {child.title}" if name else child.title)
            if _messages(field) and len(items) == before and name:
                entry(field, name)
        elif _messages(field):
            entry(field, name)

    for child in form.children:
        walk(child, "" if child.typ.__class__.__name__ == "Mapping" else child.title)
    return items


def remark_targets(form: deform.Form, remarks: dict[str, str]) -> dict[str, str]:
    """Put each remark of the editors at its field (rendered by mapping_item.pt / sequence.pt); returns field ->
    the id of the remark box, for the list of remarks at the top of the form."""
    targets = {}
    for field, text in remarks.items():
        target = field_of(form, field)
        if target is not None:
            target.remark = text
            targets[field] = f"remark-{target.oid}"
    return targets


def field_of(form: deform.Form, name: str) -> deform.Field | None:
    if name in ("tips", "contacts"):
        return form[name]
    for section, fields in SECTIONS.items():
        if name in fields:
            return form[section][name]
    return None


MALFORMED_FORM = "Het formulier is beschadigd (de velden passen niet bij dit formulier). Er is niets opgeslagen."


def _shape_ok(node: colander.SchemaNode, value) -> bool:
    """Whether a peppercorn structure has the shape of the schema: a mapping where a mapping belongs, a list where a
    sequence or set belongs, text elsewhere. Swapped or unbalanced ``__start__``/``__end__`` markers fail here."""
    if value is colander.null or value is None:
        return True
    typ = node.typ
    if isinstance(typ, colander.Mapping):
        return isinstance(value, dict) and all(_shape_ok(child, value[child.name])
                                                for child in node.children if child.name in value)
    if isinstance(typ, colander.Sequence):
        return isinstance(value, list) and all(_shape_ok(node.children[0], item) for item in value)
    if isinstance(typ, colander.Set):
        return isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value)
    return isinstance(value, str)


def validate(form: deform.Form, controls) -> dict[str, Any]:
    """``form.validate(controls)`` for posted controls: deform.ValidationFailure for what a person can correct,
    HTTPBadRequest (Dutch) for a structure no form of ours sends (swapped or unbalanced peppercorn markers)."""
    try:
        pstruct = peppercorn.parse(list(controls))
    except Exception as exc:  # peppercorn's errors on broken markers are not one documented type
        raise HTTPBadRequest(MALFORMED_FORM) from exc
    if not _shape_ok(form.schema, pstruct):
        raise HTTPBadRequest(MALFORMED_FORM)
    try:
        return form.validate_pstruct(pstruct)
    except deform.ValidationFailure:
        raise
    except (colander.Invalid, TypeError, ValueError, AttributeError, KeyError, IndexError) as exc:
        raise HTTPBadRequest(MALFORMED_FORM) from exc


def appstruct_to_snapshot(appstruct: dict[str, Any]) -> dict[str, Any]:
    data = empty_snapshot()
    for section, fields in SECTIONS.items():
        for field in fields:
            data[field] = appstruct[section][field]
    data["school_types"] = sorted(data["school_types"])
    data["themes"] = sorted(data["themes"])
    data["partners"] = [line.strip() for line in (data["partners"] or "").splitlines() if line.strip()]
    data["tips"] = [tip.strip() for tip in appstruct["tips"] if tip and tip.strip()][:MAX_TIPS]
    data["contacts"] = [
        {"name": c["name"].strip(), "role": c["role"].strip(), "organisation": c["organisation"].strip(),
         "email": c["email"].strip(), "public": c["visibility"] == "openbaar", "consent": bool(c["consent"])}
        for c in appstruct["contacts"]
        if any((c.get(k) or "").strip() for k in ("name", "role", "organisation", "email"))
    ][:MAX_CONTACTS]
    return data


def snapshot_to_appstruct(data: dict[str, Any], extra_rows: int = EMPTY_ROWS) -> dict[str, Any]:
    data = normalised(data)
    appstruct: dict[str, Any] = {}
    for section, fields in SECTIONS.items():
        appstruct[section] = {f: data[f] for f in fields}
    appstruct["basis"]["partners"] = "\n".join(data["partners"])
    appstruct["basis"]["school_types"] = set(data["school_types"])
    appstruct["basis"]["themes"] = set(data["themes"])
    appstruct["basis"]["project_status"] = _project_status(data["project_status"])
    if appstruct["basis"]["start_year"] is None:
        appstruct["basis"]["start_year"] = colander.null
    appstruct["tips"] = list(data["tips"]) + [""] * extra_rows
    empty_contact = {"name": "", "role": "", "organisation": "", "email": "", "visibility": "redactie",
                     "consent": False}
    appstruct["contacts"] = [
        {"name": c.get("name", ""), "role": c.get("role", ""), "organisation": c.get("organisation", ""),
         "email": c.get("email", ""), "visibility": "openbaar" if c.get("public") else "redactie",
         "consent": bool(c.get("consent"))}
        for c in data["contacts"]
    ] + [dict(empty_contact) for _ in range(extra_rows)]
    return appstruct


def pad_cstruct(form: deform.Form, extra: int) -> None:
    """Add ``extra`` empty tip and contact rows to the typed values before re-rendering."""
    cstruct = form.cstruct
    if not isinstance(cstruct, dict):
        return
    blank_contact = {"name": "", "role": "", "organisation": "", "email": "", "visibility": "redactie",
                     "consent": "false"}
    tips = ["" if t is colander.null else t for t in (cstruct.get("tips") or [])]
    contacts = [c for c in (cstruct.get("contacts") or []) if isinstance(c, dict)]
    cstruct["tips"] = (tips + [""] * extra)[: MAX_TIPS + EMPTY_ROWS + 3]
    cstruct["contacts"] = (contacts + [dict(blank_contact) for _ in range(extra)])[: MAX_CONTACTS + EMPTY_ROWS + 3]
    form.cstruct = cstruct


def _translator(term):
    request = get_current_request()
    if request is None:
        return term
    return get_localizer(request).translate(term)


def includeme(config):
    here = Path(__file__).resolve().parents[1] / "deform_templates"
    deform_dir = Path(deform.__file__).resolve().parent / "templates"
    deform.Form.set_zpt_renderer([str(here), str(deform_dir)], translator=_translator)
    config.add_translation_dirs("colander:locale/", "deform:locale/")
    config.add_static_view("deform_static", "deform:static", cache_max_age=3600)
    # The whole site is Dutch: colander's and deform's own messages come from their nl catalogues.
    config.set_locale_negotiator(lambda request: "nl")
