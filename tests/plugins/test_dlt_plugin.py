"""The dlt plugin end to end on a real SQLite Iceberg catalog: loads, dispositions, schema
evolution, incremental cursors. Every assertion reads through a *fresh* catalog client."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pyiceberg.catalog import Catalog
from pyiceberg.types import LongType

from plugins.base import IngestionConfig, PluginContext
from plugins.dlt import DltIngestionPlugin

pytestmark = pytest.mark.integration

CSV = "Id,ActivityDate,TotalSteps\n1,2016-04-12,13162\n2,2016-04-12,10735\n3,2016-04-13,9762\n"


def run(context: PluginContext, config: IngestionConfig, progress: list[str] | None = None):
    plugin = DltIngestionPlugin(context)
    result = plugin.run(
        plugin.create_pipeline(config), progress=(progress if progress is not None else []).append
    )
    assert result.success, result.error and result.error.to_dict()
    return result


def rows_of(catalog: Catalog, table: str) -> list[dict]:
    return catalog.load_table(table).scan().to_arrow().sort_by("_dlt_load_id").to_pylist()


def test_filesystem_csv_lands_in_our_catalog(
    plugin_context: PluginContext,
    project_dir: Path,
    make_entry: Callable[..., IngestionConfig],
    fresh_catalog: Callable[[], Catalog],
) -> None:
    (project_dir / "landing").mkdir()
    (project_dir / "landing" / "daily_activity_20160412.csv").write_text(CSV)
    config = make_entry(
        "daily_activity",
        source="dlt.sources.filesystem",
        # relative: resolves against the directory holding floe.yaml
        config={"bucket_url": "landing", "file_glob": "daily_activity*.csv", "format": "csv"},
    )
    assert DltIngestionPlugin(plugin_context).validate(config) == []
    progress: list[str] = []

    result = run(plugin_context, config, progress)

    assert result.rows_loaded == 3
    assert result.tables_created == ["bronze.daily_activity"]
    assert result.snapshot_id is not None
    assert set(result.details) >= {"load_ids", "files", "extract_seconds", "commit_seconds"}
    assert any("committed snapshot" in message for message in progress)
    table = fresh_catalog().load_table("bronze.daily_activity")
    assert table.current_snapshot().snapshot_id == result.snapshot_id
    assert [f.name for f in table.schema().fields] == [
        "id",
        "activity_date",
        "total_steps",
        "_dlt_load_id",
        "_dlt_id",
    ]
    data = table.scan().to_arrow()
    assert sorted(data.column("total_steps").to_pylist()) == [9762, 10735, 13162]
    assert data.column("_dlt_load_id").unique().to_pylist() == result.details["load_ids"]
    # zero rewrite: the table's data file is the one dlt normalized, registered in place
    assert [task.file.file_path for task in table.scan().plan_files()] == result.details["files"]


def test_function_source_lands_in_our_catalog(
    plugin_context: PluginContext,
    make_entry: Callable[..., IngestionConfig],
    fresh_catalog: Callable[[], Catalog],
) -> None:
    result = run(plugin_context, make_entry("people", config={"count": 4}))

    assert result.rows_loaded == 4
    table = fresh_catalog().load_table("bronze.people")
    assert {"person_id", "full_name", "score", "_dlt_load_id", "_dlt_id"} <= {
        f.name for f in table.schema().fields
    }
    assert sorted(table.scan().to_arrow().column("person_id").to_pylist()) == [0, 1, 2, 3]


def test_append_twice_doubles_rows(
    plugin_context: PluginContext,
    make_entry: Callable[..., IngestionConfig],
    fresh_catalog: Callable[[], Catalog],
) -> None:
    config = make_entry("people", config={"count": 3}, write_disposition="append")
    first = run(plugin_context, config)
    second = run(plugin_context, config)

    assert second.tables_created == []
    table = fresh_catalog().load_table("bronze.people")
    assert table.scan().to_arrow().num_rows == 6
    summaries = [s.summary for s in table.snapshots()]
    assert [s.get("floe.load_id") for s in summaries] == (
        first.details["load_ids"] + second.details["load_ids"]
    )
    assert all(s.get("floe.pipeline") == "people" for s in summaries)


def test_replace_keeps_only_the_new_rows(
    plugin_context: PluginContext,
    make_entry: Callable[..., IngestionConfig],
    fresh_catalog: Callable[[], Catalog],
) -> None:
    run(plugin_context, make_entry("people", config={"count": 3}, write_disposition="replace"))
    result = run(
        plugin_context,
        make_entry("people", config={"count": 2, "offset": 10}, write_disposition="replace"),
    )

    data = fresh_catalog().load_table("bronze.people").scan().to_arrow()
    assert sorted(data.column("person_id").to_pylist()) == [10, 11]
    assert data.column("_dlt_load_id").unique().to_pylist() == result.details["load_ids"]


def test_merge_updates_changed_rows_and_inserts_new_ones(
    plugin_context: PluginContext,
    make_entry: Callable[..., IngestionConfig],
    fresh_catalog: Callable[[], Catalog],
) -> None:
    def merge(rows: list[dict]) -> IngestionConfig:
        return make_entry(
            "accounts",
            source="dlt_test_sources:rows",
            config={"rows": rows},
            write_disposition="merge",
            primary_key=("AccountId",),  # the source's spelling; the column is account_id
        )

    run(plugin_context, merge([{"AccountId": i, "Plan": "free"} for i in (1, 2, 3)]))
    second = run(
        plugin_context,
        merge(
            [
                {"AccountId": 2, "Plan": "pro"},
                {"AccountId": 4, "Plan": "free"},
                {"AccountId": 4, "Plan": "team"},  # duplicate key in one load: last wins
            ]
        ),
    )

    assert second.details["rows_updated"] == 1
    assert second.details["rows_inserted"] == 1
    data = fresh_catalog().load_table("bronze.accounts").scan().to_arrow()
    plans = dict(
        zip(data.column("account_id").to_pylist(), data.column("plan").to_pylist(), strict=True)
    )
    assert plans == {1: "free", 2: "pro", 3: "free", 4: "team"}
    assert data.num_rows == 4


def test_new_column_evolves_the_schema(
    plugin_context: PluginContext,
    make_entry: Callable[..., IngestionConfig],
    fresh_catalog: Callable[[], Catalog],
) -> None:
    def load(rows: list[dict]) -> None:
        run(
            plugin_context,
            make_entry("users", source="dlt_test_sources:rows", config={"rows": rows}),
        )

    load([{"id": 1, "name": "ada"}])
    load([{"id": 2, "name": "bob", "EmailAddress": "bob@example.com"}])

    table = fresh_catalog().load_table("bronze.users")
    assert "email_address" in {f.name for f in table.schema().fields}
    data = table.scan().to_arrow().sort_by("id")
    # the old file has no such column: it reads back as null through the name mapping
    assert data.column("email_address").to_pylist() == [None, "bob@example.com"]
    assert data.column("name").to_pylist() == ["ada", "bob"]


def test_incremental_cursor_loads_only_new_rows(
    plugin_context: PluginContext,
    make_entry: Callable[..., IngestionConfig],
    fresh_catalog: Callable[[], Catalog],
) -> None:
    first_rows = [{"EventId": i, "UpdatedAt": f"2024-01-0{i}T00:00:00Z"} for i in (1, 2, 3)]
    new_rows = [{"EventId": i, "UpdatedAt": f"2024-01-0{i}T00:00:00Z"} for i in (4, 5)]

    def load(rows: list[dict], cursor: str) -> int:
        return run(
            plugin_context,
            make_entry(
                "events",
                source="dlt_test_sources:rows",
                config={"rows": rows},
                incremental={"cursor_path": cursor, "initial_value": "2024-01-02T00:00:00Z"},
            ),
        ).rows_loaded

    # the cursor may be spelled as in the source or as in the table
    assert load(first_rows, "UpdatedAt") == 2  # 2 and 3: from the initial value on
    assert load(first_rows + new_rows, "updated_at") == 2  # only 4 and 5
    ids = fresh_catalog().load_table("bronze.events").scan().to_arrow().column("event_id")
    assert sorted(ids.to_pylist()) == [2, 3, 4, 5]


def test_arrow_rows_keep_dlt_load_id(
    plugin_context: PluginContext,
    make_entry: Callable[..., IngestionConfig],
    fresh_catalog: Callable[[], Catalog],
    tmp_path: Path,
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    # uint32 values above int32's range: only the cast to Iceberg `long` (plugins/iceberg/
    # schema.py) keeps them; an int32 column would overflow or refuse them.
    big = [2**31 + 1, 2**32 - 1]
    (tmp_path / "project" / "in").mkdir()
    pq.write_table(
        pa.table({"k": pa.array(big, pa.uint32()), "v": ["a", "b"]}),
        tmp_path / "project" / "in" / "part.parquet",
    )
    config = make_entry(
        "parts",
        source="dlt.sources.filesystem",
        config={
            "bucket_url": "in",
            "file_glob": "*.parquet",
            "reader_options": {"use_pyarrow": True},
        },
    )
    result = run(plugin_context, config)

    table = fresh_catalog().load_table("bronze.parts")
    data = table.scan().to_arrow()
    assert table.schema().find_field("k").field_type == LongType()
    assert sorted(data.column("k").to_pylist()) == big
    assert set(data.column("_dlt_load_id").to_pylist()) == set(result.details["load_ids"])
