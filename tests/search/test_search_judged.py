"""The judged query set over the real content/: at least 90% of queries find their items in the top 3."""

from __future__ import annotations

from search_judging import judge

THRESHOLD = 0.90


def test_judged_queries(shared_site, capsys):
    result = judge(shared_site.registry["search_service"])
    with capsys.disabled():
        print(f"\njudged queries: {result.count}, success@3 = {result.success_at_3:.3f}, MRR = {result.mrr:.3f}")
        for failure in result.failures:
            print(f"  miss: {failure}")
    assert result.count >= 40
    assert result.success_at_3 >= THRESHOLD, "\n".join(result.failures)
