"""Column types declared in floe.yaml (`dlt.columns`), from YAML to the Iceberg table's types.

Each declared column is a dlt column hint (data type, nullable) and its values are converted
by the plugin before dlt sees them: dlt cannot parse a Fitbit date (`8/3/2026`) on its own.
"""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyiceberg.catalog import load_catalog
from pyiceberg.types import (
    BooleanType,
    DateType,
    DecimalType,
    DoubleType,
    LongType,
    StringType,
    TimestamptzType,
)

from platform_defs.config import ConfigError, load_project
from tests.conftest import DEMO_DROP, REPO_ROOT
from tests.plugins.floe_project import land, run_pipeline, table_rows, write_project

pytestmark = pytest.mark.integration

TYPED_CSV = (
    "Id,ActivityDate,SleepDay,Steps,Distance,Active,Price,UpdatedAt,Note\n"
    "1,8/3/2026,8/3/2026 12:00:00 AM,9215,6.11,true,9.99,2026-08-03T10:00:00Z,hi\n"
    "2,10/31/2026,10/31/2026 12:00:00 AM,0,0,false,0.5,2026-08-03 12:30:00+02:00,\n"
)

TYPED_ENTRY = """\
ingestion:
  - name: orders
    destination: bronze.orders
    dlt:
      source: dlt.sources.filesystem
      config: {bucket_url: landing, file_glob: "*.csv"}
      columns:
        Id: {data_type: bigint, nullable: false}
        ActivityDate: {data_type: date, format: "%m/%d/%Y"}
        sleep_day: {data_type: date, format: "%m/%d/%Y %I:%M:%S %p"}
        Steps: {data_type: bigint}
        Distance: {data_type: double}
        Active: {data_type: bool}
        Price: {data_type: decimal, precision: 10, scale: 2}
        UpdatedAt: {data_type: timestamp}
        Note: {data_type: text}
"""


def _types(project, destination: str) -> dict[str, object]:  # type: ignore[no-untyped-def]
    context = project.plugin_context("dlt")
    table = load_catalog(context.catalog_name, **dict(context.catalog_properties)).load_table(
        destination
    )
    return {field.name: field.field_type for field in table.schema().fields}


def test_declared_columns_land_with_their_types(tmp_path: Path) -> None:
    root = write_project(tmp_path / "project", TYPED_ENTRY, {"landing/orders.csv": TYPED_CSV})

    result, project = land(root)

    assert result.error is None
    types = _types(project, "bronze.orders")
    assert {name: types[name] for name in list(types)[:9]} == {
        "id": LongType(),
        "activity_date": DateType(),
        "sleep_day": DateType(),
        "steps": LongType(),
        "distance": DoubleType(),
        "active": BooleanType(),
        "price": DecimalType(10, 2),
        "updated_at": TimestamptzType(),
        "note": StringType(),
    }
    assert table_rows(project, "bronze.orders", "id", "activity_date", "sleep_day", "price") == [
        {
            "id": 1,
            "activity_date": date(2026, 8, 3),
            "sleep_day": date(2026, 8, 3),
            "price": Decimal("9.99"),
        },
        {
            "id": 2,
            "activity_date": date(2026, 10, 31),
            "sleep_day": date(2026, 10, 31),
            "price": Decimal("0.50"),
        },
    ]
    stamps = table_rows(project, "bronze.orders", "updated_at", "distance", "active", "note")
    assert stamps == [
        {
            "updated_at": datetime(2026, 8, 3, 10, 0, tzinfo=UTC),
            "distance": 6.11,
            "active": True,
            "note": "hi",
        },
        {  # 12:30 at +02:00 is 10:30 UTC
            "updated_at": datetime(2026, 8, 3, 10, 30, tzinfo=UTC),
            "distance": 0.0,
            "active": False,
            "note": None,
        },
    ]


def test_a_custom_source_gets_the_declared_types_too(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "project",
        """\
        ingestion:
          - name: orders
            destination: bronze.orders
            dlt:
              source: documented_sources:orders
              config:
                rows: [{OrderId: "7", OrderedOn: "2026-08-03"}]
              columns:
                OrderId: {data_type: bigint}
                OrderedOn: {data_type: date}
        """,
    )

    _, project = land(root)

    types = _types(project, "bronze.orders")
    assert (types["order_id"], types["ordered_on"]) == (LongType(), DateType())
    assert table_rows(project, "bronze.orders", "order_id", "ordered_on") == [
        {"order_id": 7, "ordered_on": date(2026, 8, 3)}
    ]


def test_arrow_rows_get_the_declared_types(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "project",
        """\
        ingestion:
          - name: orders
            destination: bronze.orders
            dlt:
              source: dlt.sources.filesystem
              config:
                bucket_url: landing
                file_glob: "*.parquet"
                reader_options: {use_pyarrow: true}
              columns:
                day: {data_type: date, format: "%m/%d/%Y"}
        """,
    )
    (root / "landing").mkdir()
    pq.write_table(
        pa.table({"id": [1, 2], "day": ["8/3/2026", "8/4/2026"]}), root / "landing" / "a.parquet"
    )

    _, project = land(root)

    assert _types(project, "bronze.orders")["day"] == DateType()
    assert table_rows(project, "bronze.orders", "id", "day") == [
        {"id": 1, "day": date(2026, 8, 3)},
        {"id": 2, "day": date(2026, 8, 4)},
    ]


def test_the_sample_pipelines_land_date_columns(tmp_path: Path) -> None:
    """The repository's floe.yaml on its sample data: every bronze date is a DATE."""
    root = tmp_path / "project"
    root.mkdir()
    shutil.copytree(REPO_ROOT / "sample_data", root / "sample_data", ignore=DEMO_DROP)
    write_project(root, (REPO_ROOT / "floe.yaml").read_text())
    project = load_project(root)
    dates = {
        "wearable_daily_activity": ("bronze.daily_activity", "activity_date"),
        "wearable_sleep": ("bronze.sleep", "sleep_day"),
    }
    for name, (destination, column) in dates.items():
        result = run_pipeline(project, name)
        assert result.success, result.error and result.error.to_dict()
        assert result.rows_loaded > 0
        assert _types(project, destination)[column] == DateType(), destination


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        (
            "{Amount: {data_type: bigint, format: '%Y'}}",
            "dlt.columns.Amount: `format` applies to date, timestamp and time columns, not bigint",
        ),
        (
            "{Amount: {data_type: integer}}",
            "dlt.columns.Amount.data_type: 'integer' is not one of",
        ),
        (
            "{Amount: {data_type: decimal, precision: 4, scale: 6}}",
            "dlt.columns.Amount: scale 6 is larger than precision 4",
        ),
        (
            "{Amount: {data_type: text, allow_future: true}}",
            "dlt.columns.Amount: `allow_future` applies to date columns, not text",
        ),
        (
            "{Amount: {data_type: bigint}, amount: {data_type: text}}",
            "dlt.columns: Amount and amount are the same column (amount)",
        ),
    ],
)
def test_bad_column_declarations_are_config_errors(
    tmp_path: Path, columns: str, message: str
) -> None:
    root = write_project(
        tmp_path / "project",
        f"""\
        ingestion:
          - name: orders
            destination: bronze.orders
            dlt:
              source: documented_sources:orders
              config: {{rows: []}}
              columns: {columns}
        """,
    )
    with pytest.raises(ConfigError) as excinfo:
        load_project(root)
    assert any(message in str(issue) for issue in excinfo.value.issues), excinfo.value.issues


def test_a_declared_cursor_column_is_compared_in_its_type(tmp_path: Path) -> None:
    """The incremental cursor sees the parsed value; a quoted initial_value is converted
    to the declared type (a text date otherwise compares with a date: TypeError)."""
    root = write_project(
        tmp_path / "project",
        """\
        ingestion:
          - name: orders
            destination: bronze.orders
            incremental: {cursor_path: Day, initial_value: "2026-08-04"}
            dlt:
              source: dlt.sources.filesystem
              config: {bucket_url: landing, file_glob: "*.csv"}
              columns:
                Day: {data_type: date, format: "%m/%d/%Y"}
        """,
        {"landing/a.csv": "Id,Day\n1,8/3/2026\n2,8/4/2026\n3,8/5/2026\n"},
    )

    _, project = land(root)
    (root / "landing" / "b.csv").write_text("Id,Day\n4,8/6/2026\n")
    second = run_pipeline(load_project(root), "orders")

    assert second.success, second.error and second.error.to_dict()
    assert [row["id"] for row in table_rows(project, "bronze.orders", "id")] == [2, 3, 4]
