"""The push rules that span rows, each problem with the path of the row it is about.

Field rules (types, counts >= 0, dates not after today, unknown fields) are the models'
(:mod:`platform_defs.api.schemas`); these need the whole body.
"""

from __future__ import annotations

import uuid
from datetime import date

from platform_defs.api.schemas import ErrorDetail, UsageStatsPush


def push_problems(push: UsageStatsPush) -> list[ErrorDetail]:
    """Duplicate keys in either list, and asset rows without their consumer's query row."""
    problems: list[ErrorDetail] = []
    first_query: dict[tuple[date, uuid.UUID], int] = {}
    for index, query in enumerate(push.query_stats):
        key = (query.date, query.consumer_id)
        if key in first_query:
            problems.append(
                ErrorDetail(
                    loc=["body", "query_stats", index],
                    msg=f"duplicate (date, consumer_id) ({query.date}, {query.consumer_id}): "
                    f"also query_stats[{first_query[key]}]",
                    type="duplicate_key",
                )
            )
        else:
            first_query[key] = index
    first_asset: dict[tuple[date, uuid.UUID, uuid.UUID], int] = {}
    for index, asset in enumerate(push.asset_stats):
        key3 = (asset.date, asset.tech_asset_id, asset.consumer_id)
        if key3 in first_asset:
            problems.append(
                ErrorDetail(
                    loc=["body", "asset_stats", index],
                    msg=f"duplicate (date, tech_asset_id, consumer_id) ({asset.date}, "
                    f"{asset.tech_asset_id}, {asset.consumer_id}): also "
                    f"asset_stats[{first_asset[key3]}]",
                    type="duplicate_key",
                )
            )
        else:
            first_asset[key3] = index
        if (asset.date, asset.consumer_id) not in first_query:
            problems.append(
                ErrorDetail(
                    loc=["body", "asset_stats", index, "consumer_id"],
                    msg=f"consumer {asset.consumer_id} has no query_stats row on {asset.date}: "
                    "every asset row needs its consumer's query row of the same day",
                    type="missing_query_stats",
                )
            )
    return problems
