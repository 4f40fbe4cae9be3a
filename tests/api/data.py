"""Bodies for pushes: readable ids and days relative to today (UTC)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from platform_defs.api.schemas import utc_today


def uid(name: str) -> uuid.UUID:
    """A stable UUID per name, so a test reads ``uid("alice")``."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"floe-test:{name}")


def day(days_ago: int) -> date:
    return utc_today() - timedelta(days=days_ago)


def q(on: date, consumer: str, count: int) -> dict[str, Any]:
    return {"date": on.isoformat(), "consumer_id": str(uid(consumer)), "query_count": count}


def a(on: date, asset: str, consumer: str, count: int) -> dict[str, Any]:
    return {
        "date": on.isoformat(),
        "tech_asset_id": str(uid(asset)),
        "consumer_id": str(uid(consumer)),
        "query_count": count,
    }


def body(
    query_stats: list[dict[str, Any]], asset_stats: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {"query_stats": query_stats, "asset_stats": asset_stats or []}
