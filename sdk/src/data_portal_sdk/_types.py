"""The typed records a producer pushes and the result it gets back."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from uuid import UUID

__all__ = ["AssetStat", "DailyUsageStats", "PushResult", "QueryStat"]


@dataclass(frozen=True, slots=True)
class QueryStat:
    """A row of ``output_port_query_stats_daily``: the queries one consumer ran on the
    output port on one UTC day. A query counts once, however many assets it touched."""

    date: dt.date
    consumer_id: UUID | str
    query_count: int


@dataclass(frozen=True, slots=True)
class AssetStat:
    """A row of ``tech_asset_stats_daily``: the queries one consumer ran on one UTC day that
    touched one technical asset of the port (a query joining two assets touches each once).
    Needs a ``QueryStat`` of the same date and consumer."""

    date: dt.date
    tech_asset_id: UUID | str
    consumer_id: UUID | str
    query_count: int


@dataclass(frozen=True, slots=True)
class DailyUsageStats:
    """Both payloads of one day, as a ``UsageStatsCollector`` returns them."""

    query_stats: list[QueryStat]
    asset_stats: list[AssetStat]


@dataclass(frozen=True, slots=True)
class PushResult:
    """What the API committed for one ``push_usage_stats`` call.

    A push is one request, hence one ``push_id``, unless it was over the server's size limit
    and was split into one request per day: then ``push_ids`` holds one id per day, in date
    order, and the row counts are totals."""

    push_ids: tuple[UUID, ...]
    output_port_id: UUID
    dates: tuple[dt.date, ...]
    query_stats_rows: int
    asset_stats_rows: int
    idempotency_key: str
    replayed: bool
    """True when every request was answered from the server's idempotency record (an
    earlier attempt of this push had already been committed)."""

    @property
    def push_id(self) -> UUID:
        """The push id (the first day's when the push was split)."""
        return self.push_ids[0]

    @property
    def split(self) -> bool:
        """Whether the push went as one request per day."""
        return len(self.push_ids) > 1
