"""`dlt.sources.sql_database` from floe.yaml against the real PostgreSQL at 127.0.0.1:5432.

The incremental cursor is applied in the source's SQL query, so its `initial_value` must have
the column's type: a quoted (string) value is converted to it, or the run fails as a
configuration error naming the column. A DSN naming a database that does not exist is a
configuration error, not a network blip to retry.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from platform_defs.config import load_project
from plugins.base import ErrorCategory
from tests.plugins.floe_project import land, run_pipeline, table_rows, write_project

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


@pytest.fixture
def events_table(postgres_dsn: str) -> Iterator[str]:
    """A table of its own per test (parallel runs never share one), dropped afterwards."""
    name = f"floe_events_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(
            f"create table {name} (id bigint primary key, updated_at timestamptz not null, "
            "day date not null, seq bigint not null)"
        )
        conn.execute(
            f"insert into {name} values "
            "(1, '2024-01-01T00:00:00Z', '2024-01-01', 10), "
            "(2, '2024-02-01T00:00:00Z', '2024-02-01', 20), "
            "(3, '2024-03-01T00:00:00Z', '2024-03-01', 30)"
        )
    yield name
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(f"drop table if exists {name}")


def _project(tmp_path: Path, table: str, incremental: str) -> Path:
    return write_project(
        tmp_path / "project",
        f"""\
        ingestion:
          - name: events
            destination: bronze.events
            incremental: {incremental}
            secret_refs: {{credentials: events-db}}
            dlt:
              source: dlt.sources.sql_database
              resources: [{table}]
              config: {{schema: public}}
        """,
    )


@pytest.mark.parametrize(
    ("incremental", "expected"),
    [
        ('{cursor_path: updated_at, initial_value: "2024-01-15T00:00:00Z"}', [2, 3]),
        ('{cursor_path: day, initial_value: "2024-02-01"}', [2, 3]),
        ('{cursor_path: seq, initial_value: "30"}', [3]),
        # unquoted, YAML already makes it a timestamp: unchanged
        ("{cursor_path: updated_at, initial_value: 2024-02-15T00:00:00Z}", [3]),
    ],
    ids=["timestamptz", "date", "bigint", "unquoted"],
)
def test_a_quoted_initial_value_is_converted_to_the_cursor_columns_type(
    incremental: str,
    expected: list[int],
    events_table: str,
    postgres_dsn: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FLOE_SECRET_EVENTS_DB", postgres_dsn)
    root = _project(tmp_path, events_table, incremental)

    _, project = land(root, "events")

    assert [row["id"] for row in table_rows(project, "bronze.events", "id")] == expected


def test_an_initial_value_the_cursor_type_cannot_take_is_a_configuration_error(
    events_table: str, postgres_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOE_SECRET_EVENTS_DB", postgres_dsn)
    root = _project(tmp_path, events_table, "{cursor_path: updated_at, initial_value: soon}")

    result = run_pipeline(load_project(root), "events")

    assert result.error is not None
    assert (result.error.category, result.error.code) == (
        ErrorCategory.CONFIGURATION,
        "INVALID_INCREMENTAL",
    )
    assert "'soon'" in result.error.message and "updated_at" in result.error.message


def test_a_dsn_naming_a_missing_database_is_a_configuration_error(
    events_table: str, postgres_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = postgres_dsn.rsplit("/", 1)[0] + f"/no_such_db_{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("FLOE_SECRET_EVENTS_DB", missing)
    root = _project(tmp_path, events_table, "{cursor_path: seq}")

    result = run_pipeline(load_project(root), "events")

    assert result.error is not None
    assert (result.error.category, result.error.code, result.error.retryable) == (
        ErrorCategory.CONFIGURATION,
        "DATABASE_NOT_FOUND",
        False,
    )
    assert "does not exist" in result.error.message


def test_the_environment_does_not_fill_sql_database_arguments(
    events_table: str, postgres_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`schema` is not in floe.yaml: the database's default schema, not $SCHEMA."""
    monkeypatch.setenv("FLOE_SECRET_EVENTS_DB", postgres_dsn)
    monkeypatch.setenv("SCHEMA", "no_such_schema")
    monkeypatch.setenv("CHUNK_SIZE", "not-a-number")
    root = write_project(
        tmp_path / "project",
        f"""\
        ingestion:
          - name: events
            destination: bronze.events
            secret_refs: {{credentials: events-db}}
            dlt:
              source: dlt.sources.sql_database
              resources: [{events_table}]
        """,
    )

    _, project = land(root, "events")

    assert [row["id"] for row in table_rows(project, "bronze.events", "id")] == [1, 2, 3]
