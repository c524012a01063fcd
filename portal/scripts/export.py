"""portal-export <ini> <dir>: write the published content as content/ files (the format portal-load reads)."""

from __future__ import annotations

import sys
from pathlib import Path

from portal.environment import MissingSetting
from portal.scripts.common import fail, load_settings, parser, unit_of_work
from portal.workflow.export import export_content


def main(argv: list[str] | None = None) -> int:
    p = parser("portal-export", "Schrijft de gepubliceerde inhoud als content/-bestanden.")
    p.add_argument("directory", help="doelmap (wordt aangemaakt; bestaande bestanden met dezelfde naam worden "
                                     "overschreven)")
    args = p.parse_args(argv)
    try:
        settings = load_settings(args.config_uri)
    except (FileNotFoundError, MissingSetting) as exc:
        return fail(str(exc), 2)
    target = Path(args.directory)
    if target.exists() and not target.is_dir():
        return fail(f"{target} is geen map", 2)
    with unit_of_work(settings) as dbsession:
        counts = export_content(dbsession, target)
    print(f"Geëxporteerd naar {target}: {counts['voorbeelden']} praktijkvoorbeelden, {counts['kennis']} "
          f"kennisartikelen, {counts['bronnen']} bronnen.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
