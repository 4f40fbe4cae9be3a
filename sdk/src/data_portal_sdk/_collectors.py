"""Collectors: run the two aggregation queries of one day in the producer's warehouse.

``UsageStatsCollector`` is the interface; ``SqlUsageStatsCollector`` runs two SQL queries
over any DB-API 2 connection (Snowflake, PostgreSQL, DuckDB, SQLite, ...). The SDK ships
the queries for Snowflake's ``ACCESS_HISTORY`` and ``QUERY_HISTORY`` (docs/sdk.md), but
not a Snowflake driver: the producer passes their own connection.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from decimal import Decimal
from importlib.resources import files
from typing import Any, Protocol
from uuid import UUID

from data_portal_sdk._types import AssetStat, DailyUsageStats, QueryStat

__all__ = [
    "ACCESS_LOG_ASSET_STATS_SQL",
    "ACCESS_LOG_QUERY_STATS_SQL",
    "SNOWFLAKE_ACCESS_LOG_SQL",
    "SNOWFLAKE_ASSET_STATS_SQL",
    "SNOWFLAKE_QUERY_STATS_SQL",
    "SqlUsageStatsCollector",
    "UsageStatsCollector",
]


def _sql(name: str) -> str:
    return (files("data_portal_sdk") / "sql" / name).read_text(encoding="utf-8")


ACCESS_LOG_QUERY_STATS_SQL = _sql("query_stats.sql")
"""Portable SQL: one day's query_stats of one port, over a relation ``access_log``
(query_id, query_date, role_name, object_name) and the producer's mapping tables
``data_portal_tech_assets`` (output_port_id, tech_asset_id, object_name) and
``data_portal_consumers`` (consumer_id, role_name). Parameters ``:output_port_id``, ``:day``."""
ACCESS_LOG_ASSET_STATS_SQL = _sql("asset_stats.sql")
"""Portable SQL: one day's asset_stats of one port, over the same relations."""
SNOWFLAKE_ACCESS_LOG_SQL = _sql("access_log_snowflake.sql")
"""A ``with access_log as (...)`` clause over Snowflake's ACCOUNT_USAGE views."""
SNOWFLAKE_QUERY_STATS_SQL = SNOWFLAKE_ACCESS_LOG_SQL + ACCESS_LOG_QUERY_STATS_SQL
"""query_stats of one port and day, straight from Snowflake's access history."""
SNOWFLAKE_ASSET_STATS_SQL = SNOWFLAKE_ACCESS_LOG_SQL + ACCESS_LOG_ASSET_STATS_SQL
"""asset_stats of one port and day, straight from Snowflake's access history."""


class DBAPIConnection(Protocol):
    """What a collector needs of a PEP 249 connection."""

    def cursor(self) -> Any: ...


class UsageStatsCollector(ABC):
    """Gathers one UTC day of an output port's usage from the producer's own query logs.

    Implement ``collect`` for any source; pass the result to
    ``DataPortalClient.push_usage_stats``::

        stats = collector.collect(port_id, day)
        client.push_usage_stats(port_id, stats.query_stats, stats.asset_stats)
    """

    @abstractmethod
    def collect(self, output_port_id: str | UUID, day: dt.date) -> DailyUsageStats:
        """Both payloads of ``day`` (a UTC calendar day) for the port: every row's date is
        ``day``, as a push replaces the whole day."""


_QUERY_COLUMNS = ("date", "consumer_id", "query_count")
_ASSET_COLUMNS = ("date", "tech_asset_id", "consumer_id", "query_count")
_PARAMSTYLES = ("qmark", "numeric", "named", "format", "pyformat")
# String literals, quoted identifiers and comments are copied as they are; only a
# `:name` outside them is a parameter. `::type` casts and Snowflake's `col:path` are not
# parameters (a colon after a word character or another colon).
_TOKENS = re.compile(
    r"""('(?:[^']|'')*')            # 'string'
      | ("(?:[^"]|"")*")            # "identifier"
      | (--[^\n]*)                  # -- comment
      | (/\*.*?\*/)                 # /* comment */
      | (?<![:\w]):([A-Za-z_]\w*)   # :name, the parameter
      | (%)                         # a percent sign, doubled for the format styles
    """,
    re.VERBOSE | re.DOTALL,
)


def bind(sql: str, params: Mapping[str, Any], paramstyle: str) -> tuple[str, Any]:
    """``sql`` written with ``:name`` parameters, rewritten for a driver's ``paramstyle``,
    and the parameters in the matching shape (a list or a dict)."""
    if paramstyle not in _PARAMSTYLES:
        raise ValueError(f"paramstyle must be one of {', '.join(_PARAMSTYLES)}, not {paramstyle!r}")
    ordered: list[Any] = []
    named: dict[str, Any] = {}

    def replace(match: re.Match[str]) -> str:
        name = match.group(5)
        if name is None:
            if match.group(6) is not None:
                return "%%" if paramstyle in ("format", "pyformat") else "%"
            text = match.group(0)
            return text.replace("%", "%%") if paramstyle in ("format", "pyformat") else text
        if name not in params:
            known = ", ".join(f":{k}" for k in params)
            raise ValueError(f"the SQL uses :{name}, which is not a parameter (known: {known})")
        value = params[name]
        if paramstyle == "named":
            named[name] = value
            return f":{name}"
        if paramstyle == "pyformat":
            named[name] = value
            return f"%({name})s"
        ordered.append(value)
        return {"qmark": "?", "format": "%s"}.get(paramstyle) or f":{len(ordered)}"

    text = _TOKENS.sub(replace, sql)
    return text, (named if paramstyle in ("named", "pyformat") else ordered)


def driver_paramstyle(connection: Any) -> str | None:
    """The ``paramstyle`` of the DB-API module a connection comes from, when it says."""
    parts = type(connection).__module__.split(".")
    for n in range(len(parts), 0, -1):
        name = ".".join(parts[:n])
        # duckdb's connection class lives in its C extension `_duckdb`.
        for candidate in (name, name.lstrip("_")):
            style = getattr(sys.modules.get(candidate), "paramstyle", None)
            if isinstance(style, str):
                return style
    return None


class SqlUsageStatsCollector(UsageStatsCollector):
    """Runs two SQL queries over a DB-API 2 connection: one yields query_stats rows
    (columns ``date, consumer_id, query_count``), the other asset_stats rows
    (``date, tech_asset_id, consumer_id, query_count``), in any order and letter case.

    The SQL takes the parameters ``:output_port_id`` (the port's UUID as text) and ``:day``
    (``YYYY-MM-DD`` text), rewritten for the driver's paramstyle (read from the driver's
    module, or pass ``paramstyle``), so values are bound, never pasted into the SQL.
    ``SqlUsageStatsCollector.for_snowflake(connection)`` uses the shipped Snowflake SQL.
    """

    def __init__(
        self,
        connection: DBAPIConnection,
        *,
        query_stats_sql: str,
        asset_stats_sql: str,
        paramstyle: str | None = None,
    ) -> None:
        style = paramstyle or driver_paramstyle(connection)
        if style is None:
            raise ValueError(
                f"cannot tell the paramstyle of {type(connection).__qualname__}: "
                f"pass paramstyle= (one of {', '.join(_PARAMSTYLES)})"
            )
        bind("", {}, style)  # rejects an unknown style now rather than at the first collect
        self.connection = connection
        self.query_stats_sql = query_stats_sql
        self.asset_stats_sql = asset_stats_sql
        self.paramstyle = style

    @classmethod
    def for_snowflake(
        cls, connection: DBAPIConnection, *, paramstyle: str | None = None
    ) -> SqlUsageStatsCollector:
        """A collector reading Snowflake's ACCESS_HISTORY and QUERY_HISTORY through a
        snowflake-connector-python connection (see docs/sdk.md for the mapping tables)."""
        return cls(
            connection,
            query_stats_sql=SNOWFLAKE_QUERY_STATS_SQL,
            asset_stats_sql=SNOWFLAKE_ASSET_STATS_SQL,
            paramstyle=paramstyle,
        )

    def collect(self, output_port_id: str | UUID, day: dt.date) -> DailyUsageStats:
        port = str(UUID(str(output_port_id)))
        if isinstance(day, dt.datetime) or not isinstance(day, dt.date):
            raise TypeError(f"day must be a datetime.date (a UTC day), got {day!r}")
        params = {"output_port_id": port, "day": day.isoformat()}
        query_rows = self._run("query_stats", self.query_stats_sql, params, _QUERY_COLUMNS)
        asset_rows = self._run("asset_stats", self.asset_stats_sql, params, _ASSET_COLUMNS)
        query_stats = [
            QueryStat(
                date=_day(r["date"], day, "query_stats", i),
                consumer_id=_text(r["consumer_id"]),
                query_count=_count(r["query_count"], "query_stats", i),
            )
            for i, r in enumerate(query_rows)
        ]
        asset_stats = [
            AssetStat(
                date=_day(r["date"], day, "asset_stats", i),
                tech_asset_id=_text(r["tech_asset_id"]),
                consumer_id=_text(r["consumer_id"]),
                query_count=_count(r["query_count"], "asset_stats", i),
            )
            for i, r in enumerate(asset_rows)
        ]
        return DailyUsageStats(query_stats=query_stats, asset_stats=asset_stats)

    def _run(
        self, what: str, sql: str, params: Mapping[str, Any], columns: Sequence[str]
    ) -> list[dict[str, Any]]:
        text, values = bind(sql, params, self.paramstyle)
        cursor = self.connection.cursor()
        try:
            cursor.execute(text, values)
            names = [str(d[0]).lower() for d in cursor.description or ()]
            rows = cursor.fetchall()
        finally:
            cursor.close()
        if sorted(names) != sorted(columns):
            raise ValueError(
                f"the {what} query must return the columns {', '.join(columns)}; "
                f"it returned {', '.join(names) or 'none'}"
            )
        return [dict(zip(names, row, strict=True)) for row in rows]


def _day(value: Any, day: dt.date, what: str, i: int) -> dt.date:
    parsed = dt.date.fromisoformat(value) if isinstance(value, str) else value
    if isinstance(parsed, dt.datetime):
        parsed = parsed.date()
    if parsed != day:
        # A push replaces whole days: a stray row of another day would wipe that day.
        raise ValueError(f"{what} row {i} is for {value!r}, not the collected day {day}")
    return day


def _text(value: Any) -> str:
    return str(value)


def _count(value: Any, what: str, i: int) -> int:
    # Snowflake's COUNT comes back as int, some drivers give Decimal; both are fine if whole.
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ValueError(f"{what} row {i}: query_count {value!r} is not an integer")
