"""The collectors: the shipped aggregation SQL over a fake access log, on real engines."""

from __future__ import annotations

import datetime as dt
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from data_portal_sdk import (
    ACCESS_LOG_ASSET_STATS_SQL,
    ACCESS_LOG_QUERY_STATS_SQL,
    SNOWFLAKE_ACCESS_LOG_SQL,
    SNOWFLAKE_ASSET_STATS_SQL,
    SNOWFLAKE_QUERY_STATS_SQL,
    AssetStat,
    DailyUsageStats,
    QueryStat,
    SqlUsageStatsCollector,
    UsageStatsCollector,
)
from data_portal_sdk._collectors import bind, driver_paramstyle

from tests.sdk.fakes import ALICE, BOB, PORT, TABLE_A, TABLE_B, FakeAPI, make_client

REPO = Path(__file__).resolve().parents[2]
DAY = dt.date(2026, 11, 30)
OTHER_PORT = "99999999-9999-4999-8999-999999999999"
PEOPLE = "c5c5c5c5-0000-4000-8000-00000000000c"

# (query_id, query_date, role_name, object_name): one row per object a query read.
ACCESS_LOG = [
    ("q1", DAY, "ANALYST", "DB.SALES.ORDERS"),  # the join scenario: one query, two assets
    ("q1", DAY, "ANALYST", "DB.SALES.CUSTOMERS"),
    ("q2", DAY, "ANALYST", "DB.SALES.ORDERS"),  # a self-join: the asset listed twice
    ("q2", DAY, "ANALYST", "DB.SALES.ORDERS"),
    ("q3", DAY, "MARKETING", "DB.SALES.CUSTOMERS"),
    ("q4", DAY, "ANALYST", "DB.HR.PEOPLE"),  # another port's asset
    ("q5", DAY, "ACCOUNTADMIN", "DB.SALES.ORDERS"),  # a role that is no consumer
    ("q6", DAY - dt.timedelta(days=1), "ANALYST", "DB.SALES.ORDERS"),  # another day
    ("q7", DAY, "marketing", "db.sales.orders"),  # letter case does not matter
]
TECH_ASSETS = [
    (PORT, TABLE_A, "DB.SALES.ORDERS"),
    (PORT, TABLE_B, "DB.SALES.CUSTOMERS"),
    (OTHER_PORT, PEOPLE, "DB.HR.PEOPLE"),
]
CONSUMERS = [(ALICE, "ANALYST"), (BOB, "MARKETING")]

EXPECTED = DailyUsageStats(
    query_stats=[QueryStat(DAY, ALICE, 2), QueryStat(DAY, BOB, 2)],
    asset_stats=[
        AssetStat(DAY, TABLE_A, ALICE, 2),
        AssetStat(DAY, TABLE_A, BOB, 1),
        AssetStat(DAY, TABLE_B, ALICE, 1),
        AssetStat(DAY, TABLE_B, BOB, 1),
    ],
)

_DDL = [
    "create table access_log (query_id varchar, query_date date, role_name varchar, "
    "object_name varchar)",
    "create table data_portal_tech_assets (output_port_id varchar, tech_asset_id varchar, "
    "object_name varchar)",
    "create table data_portal_consumers (consumer_id varchar, role_name varchar)",
]


def _load(conn: Any, marker: str, day_as_text: bool = False) -> None:
    cursor = conn.cursor()
    for ddl in _DDL:
        cursor.execute(ddl)
    log = [(q, d.isoformat() if day_as_text else d, r, o) for q, d, r, o in ACCESS_LOG]
    cursor.executemany(f"insert into access_log values ({marker}, {marker}, {marker}, {marker})",
                       log)  # fmt: skip
    cursor.executemany(
        f"insert into data_portal_tech_assets values ({marker}, {marker}, {marker})", TECH_ASSETS
    )
    cursor.executemany(f"insert into data_portal_consumers values ({marker}, {marker})", CONSUMERS)
    cursor.close()


def _portable(conn: Any, **kwargs: Any) -> SqlUsageStatsCollector:
    return SqlUsageStatsCollector(
        conn,
        query_stats_sql=ACCESS_LOG_QUERY_STATS_SQL,
        asset_stats_sql=ACCESS_LOG_ASSET_STATS_SQL,
        **kwargs,
    )


def _sorted(stats: DailyUsageStats) -> DailyUsageStats:
    return DailyUsageStats(
        query_stats=sorted(stats.query_stats, key=lambda r: str(r.consumer_id)),
        asset_stats=sorted(stats.asset_stats, key=lambda r: (str(r.tech_asset_id),
                                                            str(r.consumer_id))),
    )  # fmt: skip


@pytest.fixture
def duck() -> Iterator[duckdb.DuckDBPyConnection]:
    conn = duckdb.connect()
    _load(conn, "?")
    yield conn
    conn.close()


@pytest.mark.unit
def test_the_join_scenario_on_duckdb(duck: duckdb.DuckDBPyConnection) -> None:
    collector = _portable(duck)
    assert isinstance(collector, UsageStatsCollector)
    assert collector.paramstyle == "qmark"  # read from the duckdb module
    assert _sorted(collector.collect(PORT, DAY)) == EXPECTED


@pytest.mark.unit
def test_the_join_scenario_on_sqlite_with_named_parameters() -> None:
    conn = sqlite3.connect(":memory:")
    _load(conn, "?", day_as_text=True)
    assert driver_paramstyle(conn) == "qmark"
    assert _sorted(_portable(conn, paramstyle="named").collect(PORT, DAY)) == EXPECTED
    assert _sorted(_portable(conn).collect(uuid.UUID(PORT), DAY)) == EXPECTED
    conn.close()


@pytest.mark.postgres
def test_the_join_scenario_on_postgresql_with_pyformat(postgres_dsn: str) -> None:
    import psycopg

    schema = f"sdk_collect_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(f"create schema {schema}")
        try:
            conn.execute(f"set search_path to {schema}")
            _load(conn, "%s")
            collector = _portable(conn)
            assert collector.paramstyle == "pyformat"
            assert _sorted(collector.collect(PORT, DAY)) == EXPECTED
        finally:
            conn.execute(f"drop schema {schema} cascade")


@pytest.mark.unit
def test_a_day_without_queries_and_another_port(duck: duckdb.DuckDBPyConnection) -> None:
    collector = _portable(duck)
    assert collector.collect(PORT, DAY + dt.timedelta(days=1)) == DailyUsageStats([], [])
    other = collector.collect(OTHER_PORT, DAY)
    assert other == DailyUsageStats([QueryStat(DAY, ALICE, 1)], [AssetStat(DAY, PEOPLE, ALICE, 1)])


@pytest.mark.unit
def test_collected_stats_push_as_they_are(duck: duckdb.DuckDBPyConnection) -> None:
    stats = _portable(duck).collect(PORT, DAY)
    api = FakeAPI()
    with make_client(api) as client:
        result = client.push_usage_stats(PORT, stats.query_stats, stats.asset_stats)
    assert (result.query_stats_rows, result.asset_stats_rows) == (2, 4)


@pytest.mark.unit
def test_a_query_must_return_the_columns_and_only_rows_of_the_day(
    duck: duckdb.DuckDBPyConnection,
) -> None:
    wrong_columns = SqlUsageStatsCollector(
        duck,
        query_stats_sql="select :day as date, 'x' as consumer, 1 as query_count",
        asset_stats_sql=ACCESS_LOG_ASSET_STATS_SQL,
    )
    with pytest.raises(ValueError, match="date, consumer_id, query_count"):
        wrong_columns.collect(PORT, DAY)
    other_day = SqlUsageStatsCollector(
        duck,
        query_stats_sql=f"select date '2026-11-29' as date, '{ALICE}' as consumer_id, "
        "1 as query_count where :output_port_id is not null",
        asset_stats_sql=ACCESS_LOG_ASSET_STATS_SQL,
    )
    with pytest.raises(ValueError, match="not the collected day 2026-11-30"):
        other_day.collect(PORT, DAY)


@pytest.mark.unit
@pytest.mark.parametrize(
    ("style", "sql", "params"),
    [
        ("qmark", "select ? , ?::date, 'a:b %', x:y, \"c:d\" -- :e\n, ?", ["P", "D", "P"]),
        ("numeric", "select :1 , :2::date, 'a:b %', x:y, \"c:d\" -- :e\n, :3", ["P", "D", "P"]),
        ("named", "select :port , :day::date, 'a:b %', x:y, \"c:d\" -- :e\n, :port",
         {"port": "P", "day": "D"}),
        ("format", "select %s , %s::date, 'a:b %%', x:y, \"c:d\" -- :e\n, %s", ["P", "D", "P"]),
        ("pyformat", "select %(port)s , %(day)s::date, 'a:b %%', x:y, \"c:d\" -- :e\n, %(port)s",
         {"port": "P", "day": "D"}),
    ],
)  # fmt: skip
def test_bind_rewrites_parameters_only(style: str, sql: str, params: Any) -> None:
    source = "select :port , :day::date, 'a:b %', x:y, \"c:d\" -- :e\n, :port"
    assert bind(source, {"port": "P", "day": "D"}, style) == (sql, params)


@pytest.mark.unit
def test_bind_refuses_unknown_parameters_and_styles() -> None:
    with pytest.raises(ValueError, match=":nope"):
        bind("select :nope", {"day": "D"}, "qmark")
    with pytest.raises(ValueError, match="paramstyle"):
        SqlUsageStatsCollector(object(), query_stats_sql="", asset_stats_sql="")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="paramstyle must be"):
        SqlUsageStatsCollector(
            sqlite3.connect(":memory:"), query_stats_sql="", asset_stats_sql="", paramstyle="x"
        )


@pytest.mark.unit
def test_the_snowflake_sql_is_the_tested_aggregation_over_access_history() -> None:
    import sqlglot  # a dependency of dlt, in the lock; parses Snowflake's dialect
    from sqlglot import exp

    assert SNOWFLAKE_QUERY_STATS_SQL == SNOWFLAKE_ACCESS_LOG_SQL + ACCESS_LOG_QUERY_STATS_SQL
    assert SNOWFLAKE_ASSET_STATS_SQL == SNOWFLAKE_ACCESS_LOG_SQL + ACCESS_LOG_ASSET_STATS_SQL
    for sql in (SNOWFLAKE_QUERY_STATS_SQL, SNOWFLAKE_ASSET_STATS_SQL):
        tree = sqlglot.parse_one(sql, read="snowflake")
        tables = {f"{t.catalog}.{t.db}.{t.name}".lower() for t in tree.find_all(exp.Table)}
        assert "snowflake.account_usage.access_history" in tables
        assert "snowflake.account_usage.query_history" in tables
        assert {p.name for p in tree.find_all(exp.Placeholder)} == {"day", "output_port_id"}
    collector = SqlUsageStatsCollector.for_snowflake(object(), paramstyle="pyformat")  # type: ignore[arg-type]
    assert collector.query_stats_sql == SNOWFLAKE_QUERY_STATS_SQL


@pytest.mark.unit
def test_docs_show_the_shipped_sql() -> None:
    docs = (REPO / "docs" / "sdk.md").read_text(encoding="utf-8")
    for sql in (SNOWFLAKE_ACCESS_LOG_SQL, ACCESS_LOG_QUERY_STATS_SQL, ACCESS_LOG_ASSET_STATS_SQL):
        assert sql.strip() in docs
