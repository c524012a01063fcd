"""Shared plumbing for console scripts: argument errors in Dutch, settings from an ini file, a transaction."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

import transaction
from pyramid.paster import get_appsettings, setup_logging
from sqlalchemy.orm import Session

from portal.environment import REQUIRED_FOR_SCRIPTS, with_environment
from portal.models import get_engine, get_session_factory, get_tm_session

#: argparse's own (English) messages, in Dutch.
_DUTCH = (
    ("usage: ", "gebruik: "),
    ("the following arguments are required", "deze argumenten ontbreken"),
    ("unrecognized arguments", "onbekende argumenten"),
    ("show this help message and exit", "toon deze hulp en stop"),
    ("positional arguments", "argumenten"),
    ("options", "opties"),
)


def _dutch(text: str) -> str:
    for english, dutch in _DUTCH:
        text = text.replace(english, dutch)
    return text


class DutchArgumentParser(argparse.ArgumentParser):
    def format_usage(self) -> str:
        return _dutch(super().format_usage())

    def format_help(self) -> str:
        return _dutch(super().format_help())

    def error(self, message: str):
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: fout: {_dutch(message)}\n")


def parser(prog: str, description: str) -> DutchArgumentParser:
    p = DutchArgumentParser(prog=prog, description=description, add_help=True)
    p.add_argument("config_uri", help="het ini-bestand, bijvoorbeeld development.ini")
    return p


def fail(message: str, code: int = 1) -> int:
    print(f"fout: {message}", file=sys.stderr)
    return code


def load_settings(config_uri: str) -> dict:
    path = Path(config_uri.split("#", 1)[0])
    if not path.is_file():
        raise FileNotFoundError(f"configuratiebestand {config_uri!r} bestaat niet")
    setup_logging(config_uri)
    settings = with_environment(get_appsettings(config_uri), required=REQUIRED_FOR_SCRIPTS)
    settings.setdefault("here", str(path.resolve().parent))
    return settings


def content_dir(settings: dict, override: str | None = None) -> Path:
    if override:
        return Path(override)
    return Path(settings.get("portal.content_dir") or Path(settings["here"]) / "content")


@contextlib.contextmanager
def unit_of_work(settings: dict) -> Iterator[Session]:
    """One transaction: committed when the block ends normally, rolled back on any exception."""
    engine = get_engine(settings)
    try:
        tm = transaction.TransactionManager(explicit=True)
        with tm:  # commits on normal exit, aborts on an exception
            yield get_tm_session(get_session_factory(engine), tm)
    finally:
        engine.dispose()
