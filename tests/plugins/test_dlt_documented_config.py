"""Every key the dlt plugin documents (plugins/dlt/README.md, docs/configuration.md), from a
floe.yaml through `floe validate`'s loader and a real run to the committed Iceberg table.

One row of DOCUMENTED per key: the YAML a data engineer writes and what the table then holds.
The REST API and SQL database sources have their own files (test_dlt_rest_api.py,
test_dlt_sql_database.py), which go through YAML the same way.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from plugins.base import IngestionResult
from plugins.dlt.options import DltBlock, DltIncremental, FilesystemConfig
from tests.plugins.floe_project import land, table_columns, table_rows, write_project

pytestmark = pytest.mark.integration

ROWS = """\
            rows:
              - {OrderId: 1, UpdatedAt: "2024-01-01T00:00:00Z"}
              - {OrderId: 2, UpdatedAt: "2024-01-02T00:00:00Z"}
              - {OrderId: 3, UpdatedAt: "2024-01-03T00:00:00Z"}
"""
NULL_CURSOR_ROW = """\
              - {OrderId: 4, UpdatedAt: null}
"""
CSV = {"landing/orders_1.csv": "OrderId,Amount\n1,10.5\n2,20.0\n"}


@dataclass(frozen=True)
class Case:
    key: str
    """The documented key this row proves, as a key path of the entry."""
    entry: str
    """The entry's YAML after `name` and `destination` (8-space indent)."""
    columns: tuple[str, ...]
    expected: list[dict[str, Any]]
    files: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    check: Callable[[IngestionResult, list[str]], None] | None = None
    """Extra assertions on the run's result and the table's columns."""


def _nested_stays_json(result: IngestionResult, columns: list[str]) -> None:
    assert "items" in columns and "ignored_files" not in result.details


def _child_table_not_landed(result: IngestionResult, columns: list[str]) -> None:
    assert "items" not in columns
    assert any(name.startswith("orders__items") for name in result.details["ignored_files"])


DOCUMENTED = [
    Case(
        "dlt.source (filesystem), dlt.config.bucket_url, dlt.config.file_glob, dlt.config.format",
        """\
        dlt:
          source: dlt.sources.filesystem
          config: {bucket_url: landing, file_glob: "orders_*.csv", format: csv}
        """,
        ("order_id", "amount"),
        [{"order_id": 1, "amount": 10.5}, {"order_id": 2, "amount": 20.0}],
        files=CSV,
    ),
    Case(
        "dlt.config.format (inferred from file_glob)",
        """\
        dlt:
          source: dlt.sources.filesystem
          config: {bucket_url: landing, file_glob: "*.jsonl"}
        """,
        ("order_id",),
        [{"order_id": 1}, {"order_id": 2}],
        files={"landing/orders.jsonl": '{"OrderId": 1}\n{"OrderId": 2}\n'},
    ),
    Case(
        "dlt.config.reader_options",
        """\
        dlt:
          source: dlt.sources.filesystem
          config:
            bucket_url: landing
            file_glob: "*.csv"
            reader_options: {sep: ";"}
        """,
        ("order_id", "amount"),
        [{"order_id": 1, "amount": 5}],
        files={"landing/orders.csv": "OrderId;Amount\n1;5\n"},
    ),
    Case(
        "dlt.columns (data_type, nullable, format)",
        """\
        dlt:
          source: dlt.sources.filesystem
          config: {bucket_url: landing, file_glob: "*.csv"}
          columns:
            OrderId: {data_type: bigint, nullable: false}
            OrderedOn: {data_type: date, format: "%m/%d/%Y"}
        """,
        ("order_id", "ordered_on"),
        [{"order_id": 1, "ordered_on": date(2026, 8, 3)}],
        files={"landing/orders.csv": "OrderId,OrderedOn\n1,8/3/2026\n"},
    ),
    Case(
        "dlt.schema_contract",
        # the first load creates the table; a later new column would be refused
        # (test_dlt_rejected_rows.py: freeze, discard_value)
        """\
        dlt:
          source: documented_sources:orders
          schema_contract: {columns: freeze}
          config:
            rows: [{OrderId: 1}]
        """,
        ("order_id",),
        [{"order_id": 1}],
    ),
    Case(
        "dlt.config.kwargs, dlt.config.client_kwargs",
        """\
        dlt:
          source: dlt.sources.filesystem
          config:
            bucket_url: landing
            file_glob: "orders_*.csv"
            kwargs: {auto_mkdir: false}
            client_kwargs: {}
        """,
        ("order_id",),
        [{"order_id": 1}, {"order_id": 2}],
        files=CSV,
    ),
    Case(
        "dlt.source (package.module:function), dlt.config",
        """\
        dlt:
          source: documented_sources:orders
          config:
            rows: [{OrderId: 1, Note: hi}]
        """,
        ("order_id", "note"),
        [{"order_id": 1, "note": "hi"}],
    ),
    Case(
        "dlt.resources",
        """\
        dlt:
          source: documented_sources:shop
          resources: [customers]
        """,
        ("customer_id", "name"),
        [{"customer_id": 7, "name": "ada"}],
    ),
    Case(
        "dlt.resource",
        """\
        dlt:
          source: documented_sources:shop
          resource: orders
        """,
        ("order_id",),
        [{"order_id": 1}],
    ),
    Case(
        "dlt.max_table_nesting: 0 (default)",
        """\
        dlt:
          source: documented_sources:orders
          max_table_nesting: 0
          config:
            rows: [{OrderId: 1, items: [{sku: a}]}]
        """,
        ("order_id",),
        [{"order_id": 1}],
        check=_nested_stays_json,
    ),
    Case(
        "dlt.max_table_nesting: 1",
        """\
        dlt:
          source: documented_sources:orders
          max_table_nesting: 1
          config:
            rows: [{OrderId: 1, items: [{sku: a}]}]
        """,
        ("order_id",),
        [{"order_id": 1}],
        check=_child_table_not_landed,
    ),
    Case(
        "incremental.cursor_path, incremental.initial_value",
        """\
        incremental: {cursor_path: UpdatedAt, initial_value: "2024-01-02T00:00:00Z"}
        dlt:
          source: documented_sources:orders
          config:
        """.rstrip(" ")
        + ROWS,
        ("order_id",),
        [{"order_id": 2}, {"order_id": 3}],
    ),
    Case(
        "incremental.cursor (the short spelling of cursor_path)",
        """\
        incremental: {cursor: updated_at, initial_value: "2024-01-03T00:00:00Z"}
        dlt:
          source: documented_sources:orders
          config:
        """.rstrip(" ")
        + ROWS,
        ("order_id",),
        [{"order_id": 3}],
    ),
    Case(
        "incremental.end_value",
        """\
        incremental:
          cursor_path: UpdatedAt
          initial_value: "2024-01-01T00:00:00Z"
          end_value: "2024-01-03T00:00:00Z"
        dlt:
          source: documented_sources:orders
          config:
        """.rstrip(" ")
        + ROWS,
        ("order_id",),
        [{"order_id": 1}, {"order_id": 2}],
    ),
    Case(
        "incremental.last_value_func",
        """\
        incremental:
          cursor_path: UpdatedAt
          initial_value: "2024-01-02T00:00:00Z"
          last_value_func: min
        dlt:
          source: documented_sources:orders
          config:
        """.rstrip(" ")
        + ROWS,
        ("order_id",),
        [{"order_id": 1}, {"order_id": 2}],
    ),
    Case(
        "incremental.on_cursor_value_missing",
        """\
        incremental:
          cursor_path: UpdatedAt
          initial_value: "2024-01-03T00:00:00Z"
          on_cursor_value_missing: include
        dlt:
          source: documented_sources:orders
          config:
        """.rstrip(" ")
        + ROWS
        + NULL_CURSOR_ROW,
        ("order_id",),
        [{"order_id": 3}, {"order_id": 4}],
    ),
    Case(
        "write_disposition: merge, primary_key (list; source spelling)",
        """\
        write_disposition: merge
        primary_key: [OrderId, Line]
        dlt:
          source: documented_sources:orders
          config:
            rows:
              - {OrderId: 1, Line: 1, Qty: 1}
              - {OrderId: 1, Line: 1, Qty: 5}
              - {OrderId: 1, Line: 2, Qty: 2}
        """,
        ("order_id", "line", "qty"),
        [{"order_id": 1, "line": 1, "qty": 5}, {"order_id": 1, "line": 2, "qty": 2}],
    ),
    Case(
        "primary_key (a string: one column)",
        """\
        write_disposition: merge
        primary_key: order_id
        dlt:
          source: documented_sources:orders
          config:
            rows: [{OrderId: 1, Qty: 1}, {OrderId: 1, Qty: 3}]
        """,
        ("order_id", "qty"),
        [{"order_id": 1, "qty": 3}],
    ),
    Case(
        "secret_refs",
        """\
        secret_refs: {api_key: shop-api-key}
        dlt:
          source: documented_sources:keyed
        """,
        ("key_length",),
        [{"key_length": 6}],
        env={"FLOE_SECRET_SHOP_API_KEY": "s3cr3t"},
    ),
]


@pytest.mark.parametrize("case", DOCUMENTED, ids=[case.key for case in DOCUMENTED])
def test_documented_key_lands_in_the_table(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in case.env.items():
        monkeypatch.setenv(name, value)
    entry = textwrap.indent(textwrap.dedent(case.entry), "    ")
    floe_yaml = (
        "ingestion:\n  - name: orders\n    destination: bronze.orders\n" + entry.rstrip() + "\n"
    )
    root = write_project(tmp_path / "project", floe_yaml, case.files)

    result, project = land(root)

    assert table_rows(project, "bronze.orders", *case.columns) == case.expected
    if case.check is not None:
        case.check(result, table_columns(project, "bronze.orders"))


def test_every_key_of_the_plugins_models_is_documented_and_has_a_row() -> None:
    """The models are what floe.yaml accepts: each key is in the README and in DOCUMENTED."""
    readme = (Path(__file__).parents[2] / "plugins" / "dlt" / "README.md").read_text()
    proven = " ".join(case.key for case in DOCUMENTED)
    keys = [
        *(f"dlt.{name}" for name in DltBlock.model_fields),
        *(f"dlt.config.{name}" for name in FilesystemConfig.model_fields),
        *(f"incremental.{name}" for name in DltIncremental.model_fields),
    ]
    for key in keys:
        assert f"`{key.rsplit('.', 1)[-1]}" in readme, f"{key} is not in the README"
        assert key in proven, f"{key} has no row in DOCUMENTED"
