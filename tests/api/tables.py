"""Read the usage tables back, as plain tuples, for comparisons."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import func, select

from platform_defs.ops import OpsStore
from platform_defs.ops.usage import OutputPortQueryStatsDaily as Q
from platform_defs.ops.usage import TechAssetStatsDaily as A
from platform_defs.ops.usage import UsagePush

QueryKey = tuple[uuid.UUID, date, uuid.UUID]
AssetKey = tuple[uuid.UUID, date, uuid.UUID, uuid.UUID]


def query_rows(store: OpsStore) -> dict[QueryKey, tuple[int, uuid.UUID]]:
    """(port, date, consumer) -> (query_count, push_id)."""
    with store.session() as session:
        return {
            (row.output_port_id, row.date, row.consumer_id): (row.query_count, row.push_id)
            for row in session.scalars(select(Q))
        }


def asset_rows(store: OpsStore) -> dict[AssetKey, tuple[int, uuid.UUID]]:
    with store.session() as session:
        return {
            (row.output_port_id, row.date, row.tech_asset_id, row.consumer_id): (
                row.query_count,
                row.push_id,
            )
            for row in session.scalars(select(A))
        }


def push_count(store: OpsStore) -> int:
    with store.session() as session:
        return int(session.scalar(select(func.count()).select_from(UsagePush)) or 0)


def everything(store: OpsStore) -> tuple[object, ...]:
    """All three tables: equal before and after means nothing was written."""
    return query_rows(store), asset_rows(store), push_count(store)
