"""Local validation of a push: the API's rules, checked before anything is sent.

The same rules as the server (docs/usage-api.md): counts are non-negative integers, dates
are calendar days not after today (UTC), ids are UUIDs, no duplicate keys inside a payload,
every asset row has a query row for its (date, consumer), at least one query row, no
unknown fields. All problems are reported at once, each naming its row and field.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from numbers import Integral
from typing import Any
from uuid import UUID

from data_portal_sdk._errors import ErrorDetail, ValidationError
from data_portal_sdk._types import AssetStat, QueryStat

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_QUERY_FIELDS = ("date", "consumer_id", "query_count")
_ASSET_FIELDS = ("date", "tech_asset_id", "consumer_id", "query_count")


def utc_today() -> dt.date:
    """Today in UTC: the day after which a usage date is in the future."""
    return dt.datetime.now(dt.UTC).date()


@dataclass(frozen=True, slots=True)
class CleanQueryStat:
    date: dt.date
    consumer_id: UUID
    query_count: int


@dataclass(frozen=True, slots=True)
class CleanAssetStat:
    date: dt.date
    tech_asset_id: UUID
    consumer_id: UUID
    query_count: int


@dataclass(frozen=True, slots=True)
class CleanPush:
    query_stats: list[CleanQueryStat]
    asset_stats: list[CleanAssetStat]

    @property
    def dates(self) -> list[dt.date]:
        """The days the push covers, ascending."""
        return sorted({r.date for r in self.query_stats} | {r.date for r in self.asset_stats})

    def day(self, day: dt.date) -> CleanPush:
        """The rows of one day: a push of its own."""
        return CleanPush(
            [r for r in self.query_stats if r.date == day],
            [r for r in self.asset_stats if r.date == day],
        )


def parse_uuid(value: Any) -> UUID | None:
    if isinstance(value, UUID):
        return value
    if isinstance(value, str):
        try:
            return UUID(value)
        except ValueError:
            return None
    return None


def validate_push(
    query_stats: Iterable[QueryStat | Mapping[str, Any]],
    asset_stats: Iterable[AssetStat | Mapping[str, Any]],
    *,
    today: dt.date,
) -> CleanPush:
    """The push, typed, or a ``ValidationError`` listing every problem."""
    problems: list[ErrorDetail] = []
    queries: list[CleanQueryStat] = []
    assets: list[CleanAssetStat] = []

    for i, row in enumerate(_rows(query_stats, "query_stats", problems)):
        fields = _fields(row, QueryStat, _QUERY_FIELDS, ("query_stats", i), problems)
        if fields is None:
            continue
        parsed = _parse_fields(fields, ("query_stats", i), today, problems)
        if parsed is not None:
            queries.append(CleanQueryStat(**parsed))
    for i, row in enumerate(_rows(asset_stats, "asset_stats", problems)):
        fields = _fields(row, AssetStat, _ASSET_FIELDS, ("asset_stats", i), problems)
        if fields is None:
            continue
        parsed = _parse_fields(fields, ("asset_stats", i), today, problems)
        if parsed is not None:
            assets.append(CleanAssetStat(**parsed))

    if not problems:
        _check_keys(queries, assets, problems)
    if not queries and not problems:
        problems.append(
            ErrorDetail(("query_stats",), "a push needs at least one query_stats row", "too_short")
        )
    if problems:
        raise ValidationError.from_details(problems)
    return CleanPush(queries, assets)


def _rows(rows: Any, name: str, problems: list[ErrorDetail]) -> list[Any]:
    if isinstance(rows, str | bytes | Mapping) or not isinstance(rows, Iterable):
        problems.append(ErrorDetail((name,), "must be a list of rows", "list_type"))
        return []
    return list(rows)


def _fields(
    row: Any,
    record: type[QueryStat] | type[AssetStat],
    names: tuple[str, ...],
    loc: tuple[str | int, ...],
    problems: list[ErrorDetail],
) -> dict[str, Any] | None:
    if isinstance(row, record):
        return {name: getattr(row, name) for name in names}
    if not isinstance(row, Mapping):
        problems.append(
            ErrorDetail(
                loc,
                f"must be a {record.__name__} or a dict, not {type(row).__name__}",
                "model_type",
            )
        )
        return None
    ok = True
    for key in row:
        if key not in names:
            problems.append(ErrorDetail((*loc, str(key)), "unknown field", "extra_forbidden"))
            ok = False
    for name in names:
        if name not in row:
            problems.append(ErrorDetail((*loc, name), "field required", "missing"))
            ok = False
    return dict(row) if ok else None


def _parse_fields(
    fields: dict[str, Any],
    loc: tuple[str | int, ...],
    today: dt.date,
    problems: list[ErrorDetail],
) -> dict[str, Any] | None:
    before = len(problems)
    out: dict[str, Any] = {}
    for name, value in fields.items():
        where = (*loc, name)
        if name == "date":
            day = _parse_date(value)
            if day is None:
                problems.append(
                    ErrorDetail(where, f"must be a date (YYYY-MM-DD), got {value!r}", "date_type")
                )
            elif day > today:
                problems.append(
                    ErrorDetail(
                        where,
                        f"{day.isoformat()} is after today ({today.isoformat()} UTC)",
                        "date_in_future",
                    )
                )
            out[name] = day
        elif name == "query_count":
            # bool is an int in Python but not a count; floats and "12" are wrong types, as
            # for the server (it takes only JSON integers).
            if isinstance(value, bool) or not isinstance(value, Integral):
                problems.append(
                    ErrorDetail(where, f"must be an integer, got {value!r}", "int_type")
                )
            elif value < 0:
                problems.append(
                    ErrorDetail(where, f"must be >= 0, got {value}", "greater_than_equal")
                )
            else:
                out[name] = int(value)
        else:
            uid = parse_uuid(value)
            if uid is None:
                problems.append(ErrorDetail(where, f"must be a UUID, got {value!r}", "uuid_type"))
            out[name] = uid
    return out if len(problems) == before else None


def _parse_date(value: Any) -> dt.date | None:
    # A datetime is a date in Python, but which day it means depends on its time zone: the
    # producer must say the UTC day.
    if isinstance(value, dt.datetime):
        return None
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and _ISO_DATE.match(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _check_keys(
    queries: list[CleanQueryStat], assets: list[CleanAssetStat], problems: list[ErrorDetail]
) -> None:
    seen_queries: dict[tuple[dt.date, UUID], int] = {}
    for i, q in enumerate(queries):
        key = (q.date, q.consumer_id)
        if key in seen_queries:
            problems.append(
                ErrorDetail(
                    ("query_stats", i, "consumer_id"),
                    f"duplicate (date, consumer_id) ({q.date}, {q.consumer_id}): "
                    f"same as query_stats[{seen_queries[key]}]",
                    "duplicate",
                )
            )
        else:
            seen_queries[key] = i
    seen_assets: dict[tuple[dt.date, UUID, UUID], int] = {}
    for i, a in enumerate(assets):
        key3 = (a.date, a.tech_asset_id, a.consumer_id)
        if key3 in seen_assets:
            problems.append(
                ErrorDetail(
                    ("asset_stats", i, "consumer_id"),
                    f"duplicate (date, tech_asset_id, consumer_id) ({a.date}, {a.tech_asset_id}, "
                    f"{a.consumer_id}): same as asset_stats[{seen_assets[key3]}]",
                    "duplicate",
                )
            )
        else:
            seen_assets[key3] = i
        if (a.date, a.consumer_id) not in seen_queries:
            problems.append(
                ErrorDetail(
                    ("asset_stats", i, "consumer_id"),
                    f"no query_stats row for (date, consumer_id) ({a.date}, {a.consumer_id}): "
                    "a consumer who touched an asset that day must have queried the port",
                    "missing_query_stat",
                )
            )
