"""Short answers from the marts, printed at the end of `make run`."""

from __future__ import annotations

from pathlib import Path

import duckdb

TOP_FLAGGED_USERS = """
    select user_id, count(distinct activity_date) as flagged_days, count(*) as flagged_metrics
    from marts.user_deviations
    where is_flagged
    group by user_id
    order by flagged_days desc, flagged_metrics desc, user_id
    limit ?
"""

MOST_POPULAR_ASSETS = """
    select output_port_id, tech_asset_id, touch_count, distinct_consumers
    from marts.usage_popular_assets
    where popularity_rank = 1 and window_name = 'all_time'
    order by output_port_id, tech_asset_id
"""


def marts_answers(database: Path, *, top_users: int = 5) -> list[str]:
    """Users with the most flagged days, and each output port's most popular asset."""
    with duckdb.connect(str(database), read_only=True) as con:
        users = con.execute(TOP_FLAGGED_USERS, [top_users]).fetchall()
        assets = con.execute(MOST_POPULAR_ASSETS).fetchall()
    lines = [f"Users with the most flagged days (|z| >= 2 on any metric), top {top_users}:"]
    lines += [f"  user {user}: {days} days ({flags} metric flags)" for user, days, flags in users]
    lines.append("Most popular asset per output port (query touches, distinct consumers):")
    lines += [
        f"  port {port}: asset {asset} ({touches} touches, {consumers} consumers)"
        for port, asset, touches, consumers in assets
    ]
    return lines
