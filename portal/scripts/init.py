"""portal-init <ini>: migrate the database to the newest schema (idempotent)."""

from __future__ import annotations

import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from portal.environment import MissingSetting
from portal.models import get_engine
from portal.scripts.common import fail, load_settings, parser

#: The migrations travel inside the package (package-relative, so an installed wheel finds them too).
MIGRATIONS = "portal:migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    return config


def migrate(engine: Engine) -> None:
    """Upgrade to head on ``engine``; also used by the tests, so the schema always comes from migrations."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def ensure_var_dir(settings: dict) -> None:
    url = settings.get("sqlalchemy.url", "")
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)


def main(argv: list[str] | None = None) -> int:
    args = parser("portal-init", "Maakt of migreert het databaseschema naar de nieuwste versie.").parse_args(argv)
    try:
        settings = load_settings(args.config_uri)
    except (FileNotFoundError, MissingSetting) as exc:
        return fail(str(exc), 2)
    ensure_var_dir(settings)
    engine = get_engine(settings)
    try:
        migrate(engine)
    finally:
        engine.dispose()
    print("Database is bijgewerkt naar de nieuwste versie.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
