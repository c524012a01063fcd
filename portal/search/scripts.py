"""portal-reindex <ini>: rebuild the search index from the database into a fresh directory and swap it in.

Searches keep working on the old index during the rebuild; a running application switches to the new one
within a second and replays the content changes that were committed meanwhile.
"""

from __future__ import annotations

import sys
import time

from portal.environment import MissingSetting
from portal.models import get_engine, get_session_factory
from portal.scripts.common import fail, load_settings, parser
from portal.search import index_dir_from
from portal.search.service import SearchService


def main(argv: list[str] | None = None) -> int:
    p = parser("portal-reindex", "Bouwt de zoekindex opnieuw op uit de database.")
    args = p.parse_args(argv)
    try:
        settings = load_settings(args.config_uri)
    except (FileNotFoundError, MissingSetting) as exc:
        return fail(str(exc), 2)
    engine = get_engine(settings)
    service = SearchService(index_dir_from(settings), get_session_factory(engine))
    start = time.perf_counter()
    try:
        generation = service.rebuild(on_progress=lambda n: print(f"  {n} documenten geïndexeerd...", flush=True))
        count = service.doc_count()
    except Exception as exc:  # report, do not dump a traceback on the operator
        return fail(f"zoekindex opbouwen mislukt: {exc}")
    finally:
        service.close()
        engine.dispose()
    print(f"Zoekindex {generation.name} opgebouwd: {count} documenten in {time.perf_counter() - start:.1f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
