"""Scoring the judged query set (used by the test, and runnable by hand against any index)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

JUDGED = Path(__file__).with_name("judged_queries.yaml")
TOP = 3


@dataclass
class Judgement:
    success_at_3: float
    mrr: float
    failures: list[str] = field(default_factory=list)
    count: int = 0


def judge(service) -> Judgement:
    """success@3: every expected item in the top 3. MRR: 1/rank of the first expected item (top 10)."""
    cases = yaml.safe_load(JUDGED.read_text(encoding="utf-8"))
    successes, reciprocal, failures = 0, 0.0, []
    for case in cases:
        outcome = service.search(case["query"], page_size=10, facets=False)
        ranked = []
        for hit in outcome.hits:
            if hit["slug"] not in ranked:
                ranked.append(hit["slug"])
        expected = case["expect"]
        if all(slug in ranked[:TOP] for slug in expected):
            successes += 1
        else:
            failures.append(f"{case['query']!r} ({case.get('kind', '')}): expected {expected}, got {ranked[:5]}")
        ranks = [ranked.index(slug) + 1 for slug in expected if slug in ranked]
        reciprocal += 1 / min(ranks) if ranks else 0.0
    return Judgement(successes / len(cases), reciprocal / len(cases), failures, len(cases))
