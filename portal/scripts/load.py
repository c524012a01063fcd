"""portal-load <ini> [path]: load content/ into the database (validate all, then write all or nothing)."""

from __future__ import annotations

import sys

from sqlalchemy.exc import SQLAlchemyError

from portal.content.loader import ContentError, load_content
from portal.environment import MissingSetting
from portal.scripts.common import content_dir, fail, load_settings, parser, unit_of_work


def main(argv: list[str] | None = None) -> int:
    p = parser("portal-load", "Laadt de inhoud uit content/ in de database.")
    p.add_argument("path", nargs="?", help="map met inhoud (standaard: content/ naast het ini-bestand)")
    args = p.parse_args(argv)
    try:
        settings = load_settings(args.config_uri)
    except (FileNotFoundError, MissingSetting) as exc:
        return fail(str(exc), 2)
    directory = content_dir(settings, args.path)
    try:
        with unit_of_work(settings) as dbsession:
            report = load_content(dbsession, directory)
    except ContentError as exc:
        return fail(f"niets geladen. {exc}")
    except SQLAlchemyError as exc:
        return fail(f"niets geladen. De database gaf een fout ({exc.__class__.__name__}: "
                    f"{str(exc.orig if getattr(exc, 'orig', None) else exc).splitlines()[0]}). "
                    "Is het schema aangemaakt met portal-init?")
    print(f"Inhoud geladen uit {directory}: {report.summary()}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
