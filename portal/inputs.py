"""The one input boundary: what text, numbers and JSON from outside may look like before anything uses them.

- Ids and version numbers: ASCII digits only, within the database's integer range (``parse_id``,
  ``parse_version``); ``str.isdigit()`` would also take ``²`` or ``९``, and PostgreSQL refuses ids beyond 2**31-1.
- NUL anywhere in a posted form is refused by the tween in portal.tweens (a Dutch 400), as are malformed bodies.
- Other control characters: refused in one-line fields (``oneline_error`` gives the Dutch field error) and removed
  from multi-line text (``clean_text``; tabs and line breaks stay).
- Output: mail headers are single-line (``single_line``); XML gets only characters XML 1.0 allows (``xml_text``).
- JSON from a form (a resumed form): bounded in size and depth, anything else counts as absent (``load_pairs``).
- Absolute URLs come from ``portal.base_url``, never from the ``Host`` header (``includeme``).
"""

from __future__ import annotations

import json
import logging
import re
from urllib.parse import urlsplit

from pyramid.exceptions import ConfigurationError
from pyramid.settings import asbool

log = logging.getLogger(__name__)

#: The largest value of the INTEGER primary keys and version columns (PostgreSQL's int4).
MAX_INT = 2**31 - 1
_DIGITS = re.compile(r"[0-9]{1,10}")

#: C0 controls except tab, LF and CR; DEL; C1 controls. Never wanted in any text.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
#: What may not appear in a one-line value: every control character, plus line and paragraph separators.
_NOT_ONELINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
#: Any run of whitespace or control characters (for single-line output such as mail subjects).
_SPACE_RUN = re.compile("[\\s\x00-\x1f\x7f-\x9f\u2028\u2029]+")
#: Characters XML 1.0 does not allow (plus DEL and C1, which it only discourages).
_NOT_XML = re.compile("[^\x09\x0a\x0d\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

ONELINE_ERROR = "Dit veld mag geen regeleinden of onzichtbare stuurtekens bevatten."
NUL_ERROR = "Het formulier bevat een ongeldig teken (een nul-teken). Er is niets opgeslagen."


def raw_path(environ: dict) -> str:
    """The path as sent (WSGI latin-1), safe to use even when it is not valid UTF-8 (request.path would raise)."""
    return environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")


def parse_int(raw, minimum: int = 1, maximum: int = MAX_INT) -> int | None:
    """``raw`` as an int if it is 1-10 ASCII digits within [minimum, maximum]; otherwise None."""
    if not isinstance(raw, str) or not _DIGITS.fullmatch(raw):
        return None
    value = int(raw)
    return value if minimum <= value <= maximum else None


def parse_id(raw) -> int | None:
    """A database id from a path or form: 1..2**31-1 in ASCII digits, else None."""
    return parse_int(raw, 1)


def parse_version(raw) -> int | None:
    """A version number from a form: 0..2**31-1 in ASCII digits (0: not yet saved), else None."""
    return parse_int(raw, 0)


def has_nul(value: str) -> bool:
    return "\x00" in value


def oneline_error(value) -> str | None:
    """The Dutch field error for a one-line value with control characters or line breaks, else None."""
    if isinstance(value, str) and _NOT_ONELINE.search(value):
        return ONELINE_ERROR
    return None


def clean_text(value):
    """Multi-line text without control characters (tabs and line breaks kept; CR LF becomes LF)."""
    if not isinstance(value, str):
        return value
    return _CONTROL.sub("", value.replace("\r\n", "\n"))


def single_line(value) -> str:
    """One line: every run of whitespace or control characters becomes one space (mail subjects, headers)."""
    return _SPACE_RUN.sub(" ", str(value or "")).strip()


def xml_text(value) -> str:
    """``value`` with only the characters XML 1.0 allows (escaping is the template's job)."""
    return _NOT_XML.sub("", str(value or ""))


def json_depth_ok(text: str, max_depth: int) -> bool:
    """Whether brackets in ``text`` (outside strings) nest at most ``max_depth`` deep; a cheap pre-check that
    keeps json.loads from recursing without bound."""
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > max_depth:
                return False
        elif char in "]}":
            depth -= 1
    return True


def load_pairs(text, max_chars: int = 1_000_000, max_pairs: int = 5000) -> list[tuple[str, str]] | None:
    """A JSON list of [name, value] string pairs (a form's controls), or None for anything else."""
    if not isinstance(text, str) or not text or len(text) > max_chars or not json_depth_ok(text, 3):
        return None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return pairs(data, max_pairs)


def pairs(data, max_pairs: int = 5000) -> list[tuple[str, str]] | None:
    """``data`` as a list of (str, str) without NUL, or None if it is anything else."""
    if not isinstance(data, list) or len(data) > max_pairs:
        return None
    result = []
    for item in data:
        if not isinstance(item, (list, tuple)) or len(item) != 2:
            return None
        name, value = item
        if not isinstance(name, str) or not isinstance(value, str) or has_nul(name) or has_nul(value):
            return None
        result.append((name, value))
    return result


# --- absolute URLs ------------------------------------------------------------------------------------------------

BASE_URL_SETTING = "portal.base_url"
REQUIRE_SETTING = "portal.require_base_url"
DEVELOPMENT_BASE_URL = "http://localhost:6543"


def check_base_url(value: str) -> str:
    """The configured base URL without a trailing slash; ConfigurationError (Dutch and English) if malformed."""
    value = (value or "").strip().rstrip("/")
    parts = urlsplit(value)
    if (parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment
            or parts.username or parts.password or _NOT_ONELINE.search(value) or " " in value):
        raise ConfigurationError(
            f"{BASE_URL_SETTING} = {value!r} is geen geldig adres zoals https://kennisportaal.example.nl "
            f"(not a valid base URL such as https://kennisportaal.example.nl).")
    return value


def base_url_from_settings(settings) -> str:
    """The rule: ``portal.base_url`` is required when ``portal.secure_cookies`` is true (production) or
    ``portal.require_base_url`` is true; otherwise (development) it defaults to http://localhost:6543."""
    raw = (settings.get(BASE_URL_SETTING) or "").strip()
    required = asbool(settings.get("portal.secure_cookies", True)) or asbool(settings.get(REQUIRE_SETTING, False))
    if not raw:
        if required:
            raise ConfigurationError(
                f"{BASE_URL_SETTING} ontbreekt: stel het openbare adres van de portal in (bijvoorbeeld met "
                f"PORTAL_BASE_URL=https://kennisportaal.example.nl). The portal refuses to start without "
                f"{BASE_URL_SETTING} when portal.secure_cookies or {REQUIRE_SETTING} is true.")
        log.warning("%s ontbreekt; absolute adressen gebruiken %s", BASE_URL_SETTING, DEVELOPMENT_BASE_URL)
        raw = DEVELOPMENT_BASE_URL
    return check_base_url(raw)


def includeme(config):
    """Every absolute URL (request.route_url, feeds, sitemap, links in mails) starts with the configured base
    URL: ``request.application_url`` is taken from the settings instead of the ``Host`` header."""
    base_url = base_url_from_settings(config.get_settings())
    config.registry.settings[BASE_URL_SETTING] = base_url
    config.add_request_method(lambda request: base_url, "application_url", reify=True)
