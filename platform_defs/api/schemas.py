"""Request and response bodies of the usage API (the OpenAPI document's components).

Requests forbid unknown fields and take counts only as JSON integers (``"12"`` and ``12.5``
are wrong types, not 12). Dates are ``YYYY-MM-DD`` strings: the UTC day the queries ran.
The rules that span rows (duplicates, an asset row without its consumer's query row) are
checked by :func:`platform_defs.api.validation.push_problems`, which names each row's path.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _iso_date_text(value: Any) -> Any:
    # Pydantic's lax date also takes Unix timestamps and datetimes; a usage day is a
    # calendar date, so anything but YYYY-MM-DD text is a wrong type.
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise ValueError("must be a date as YYYY-MM-DD text")
    return value


def utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _not_after_today(value: dt.date) -> dt.date:
    today = utc_today()
    if value > today:
        raise ValueError(f"{value.isoformat()} is after today ({today.isoformat()} UTC)")
    return value


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date_text)]
"""A date given as YYYY-MM-DD text only (a query parameter's ``0`` is not 1970-01-01)."""

UsageDate = Annotated[
    dt.date,
    BeforeValidator(_iso_date_text),
    AfterValidator(_not_after_today),
    Field(description="The UTC calendar day the queries ran (YYYY-MM-DD); not after today."),
]
QueryCount = Annotated[int, Field(ge=0, strict=True, description="A count, >= 0.")]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class QueryStat(_Request):
    """Queries one consumer ran on the output port that day (a query counts once)."""

    date: UsageDate
    consumer_id: UUID
    query_count: QueryCount


class AssetStat(_Request):
    """Queries one consumer ran that day that touched one technical asset of the port."""

    date: UsageDate
    tech_asset_id: UUID
    consumer_id: UUID
    query_count: QueryCount


class UsageStatsPush(_Request):
    """One push: both payloads for one or more days, committed together or not at all.

    The push covers every date in either list; for each, the port's rows of that date in
    both tables are replaced by these.
    """

    query_stats: list[QueryStat] = Field(
        min_length=1, description="Rows of output_port_query_stats_daily; at least one."
    )
    asset_stats: list[AssetStat] = Field(
        description=(
            "Rows of tech_asset_stats_daily; each needs a query_stats row of the same date "
            "and consumer. May be empty."
        )
    )


class PushAccepted(BaseModel):
    """The answer to a committed push (and, for the same Idempotency-Key, to its retries)."""

    push_id: UUID
    output_port_id: UUID
    status: Literal["committed"]
    dates: list[dt.date] = Field(description="The dates the push covered, ascending.")
    query_stats_rows: int
    asset_stats_rows: int


class Granularity(enum.StrEnum):
    """The period of a queries-over-time point."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"


class QueriesOverTimePoint(BaseModel):
    """One period (day, ISO week from Monday, or calendar month)."""

    period_start: dt.date
    period_end: dt.date
    query_count: int | None = Field(
        description="Queries in the period's reported days inside the window; null when no "
        "day of it was reported (no push is not 0 queries)."
    )
    days_reported: int = Field(description="Days of the period with at least one row.")
    active_consumers: int = Field(description="Consumers with at least one query in it.")


class QueriesOverTime(BaseModel):
    output_port_id: UUID
    granularity: Granularity
    start: dt.date
    end: dt.date
    points: list[QueriesOverTimePoint]


class ConsumerShare(BaseModel):
    consumer_id: UUID
    query_count: int
    share: float = Field(description="query_count / total_queries.")
    rank: int = Field(description="By query_count, descending, as SQL rank(): 1, 1, 3 on a tie.")


class OtherConsumers(BaseModel):
    """The consumers with queries beyond the top N, summed."""

    consumers: int
    query_count: int
    share: float


class QueryDistribution(BaseModel):
    output_port_id: UUID
    start: dt.date
    end: dt.date
    total_queries: int
    consumers: list[ConsumerShare] = Field(
        description="The top N consumers with queries in the window (all-zero ones absent)."
    )
    other: OtherConsumers


class PopularAsset(BaseModel):
    tech_asset_id: UUID
    query_count: int = Field(description="Touches: queries that touched the asset.")
    consumers: int = Field(description="Consumers with at least one touch.")
    share_of_port_queries: float | None = Field(
        description="query_count / the port's queries in the window; null when it ran none."
    )
    rank: int = Field(description="By query_count, descending, as SQL rank(): 1, 1, 3 on a tie.")


class PopularAssets(BaseModel):
    output_port_id: UUID
    start: dt.date
    end: dt.date
    total_queries: int = Field(description="The port's queries in the window.")
    assets: list[PopularAsset]


class Health(BaseModel):
    status: Literal["ok"]


class ErrorDetail(BaseModel):
    loc: list[str | int] = Field(description='Where: e.g. ["body", "asset_stats", 3, "date"].')
    msg: str
    type: str


class ErrorBody(BaseModel):
    code: str = Field(
        description="VALIDATION_ERROR, IDEMPOTENCY_KEY_REUSED, PUSH_IN_PROGRESS, "
        "UNAUTHORIZED, FORBIDDEN, NOT_FOUND, METHOD_NOT_ALLOWED, PAYLOAD_TOO_LARGE, "
        "SERVICE_UNAVAILABLE or INTERNAL_ERROR."
    )
    message: str
    request_id: str = Field(description="The X-Request-Id of the request: quote it.")
    details: list[ErrorDetail] = Field(default_factory=list)
    max_bytes: int | None = Field(
        default=None, description="PAYLOAD_TOO_LARGE only: the body size limit, in bytes."
    )


class ErrorResponse(BaseModel):
    """Every error answer: ``{"error": {...}}``."""

    error: ErrorBody


__all__ = [
    "IsoDate",
    "AssetStat",
    "ConsumerShare",
    "ErrorBody",
    "ErrorDetail",
    "ErrorResponse",
    "Granularity",
    "Health",
    "OtherConsumers",
    "PopularAsset",
    "PopularAssets",
    "PushAccepted",
    "QueriesOverTime",
    "QueriesOverTimePoint",
    "QueryDistribution",
    "QueryStat",
    "UsageStatsPush",
    "utc_today",
]
