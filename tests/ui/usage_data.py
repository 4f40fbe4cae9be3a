"""A few weeks of usage of one output port, as a producer would push them (tests/ui)."""

from __future__ import annotations

from typing import Any

from tests.api.data import a, day, q

CONSUMERS = [f"consumer-{n:02d}" for n in range(1, 14)]
"""13 consumers: the top 10, two more that make "other", and one whose counts are all 0."""
ASSETS = ["orders", "customers", "payments", "products", "events"]
MISSING_DAYS = (9, 10)
"""Days ago with no push: gaps in the chart, not zeros."""
ZERO_DAY = 4
"""A day pushed with every count 0: reported, 0 queries."""
FIRST_DAY, LAST_DAY = 21, 1


def usage_days() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(query_stats, asset_stats) for the days ``FIRST_DAY``..``LAST_DAY`` days ago."""
    query_stats: list[dict[str, Any]] = []
    asset_stats: list[dict[str, Any]] = []
    for ago in range(FIRST_DAY, LAST_DAY - 1, -1):
        if ago in MISSING_DAYS:
            continue
        on = day(ago)
        for index, consumer in enumerate(CONSUMERS):
            if consumer == CONSUMERS[-1] or ago == ZERO_DAY:
                count = 0
            else:
                # Heavier users first, quieter weekends, a wobble: a series worth looking at.
                count = (len(CONSUMERS) - index) * 3 + (ago * 7 + index * 5) % 11
                if on.weekday() >= 5:
                    count //= 3
            query_stats.append(q(on, consumer, count))
            if count == 0:
                continue
            for rank, asset in enumerate(ASSETS):
                touches = count // (rank + 1) - (index + ago) % 2
                if touches > 0:
                    asset_stats.append(a(on, asset, consumer, touches))
    return query_stats, asset_stats
