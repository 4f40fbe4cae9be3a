"""Bronze tables read correctly in any Iceberg reader, not only in pyiceberg (issue #6).

Iceberg readers find a data file's columns by Parquet field id; only pyiceberg falls back to
the table's name mapping. Each table here is loaded through the dlt plugin the way a pipeline
would (append, replace, merge, schema evolution, dict rows), then (a) every data file of every
snapshot must carry the Iceberg schema's field ids, nested columns included, and (b) daft must
read exactly what pyiceberg reads at every snapshot (see tests/iceberg_checks.py). The e2e
run checks the bronze tables of `make run` the same way (tests/e2e/test_main_job.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from pyiceberg.catalog import Catalog

from plugins.base import IngestionConfig, PluginContext, WriteDisposition
from plugins.dlt import DltIngestionPlugin
from tests.iceberg_checks import field_id_problems, reader_mismatches

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Load:
    """One plugin run: the `typed` source's arguments (see dlt_test_sources.typed)."""

    ids: tuple[int, ...]
    version: int = 1
    with_note: bool = False


@dataclass(frozen=True)
class Scenario:
    disposition: WriteDisposition
    loads: tuple[Load, ...]
    expected_ids: tuple[int, ...]
    primary_key: tuple[str, ...] = field(default=())


SCENARIOS = {
    "append": Scenario("append", (Load((1, 2, 3)), Load((4, 5))), (1, 2, 3, 4, 5)),
    "replace": Scenario("replace", (Load((1, 2, 3)), Load((3, 4), version=2)), (3, 4)),
    # the second load changes row 2 and adds row 4 (pyiceberg's upsert writes that commit)
    "merge": Scenario(
        "merge", (Load((1, 2, 3)), Load((2, 4), version=2)), (1, 2, 3, 4), primary_key=("Id",)
    ),
    # the second load adds a column: the first file lacks it and must still read as null
    "evolved": Scenario("append", (Load((1, 2)), Load((3, 4), with_note=True)), (1, 2, 3, 4)),
}


def run(context: PluginContext, config: IngestionConfig) -> None:
    plugin = DltIngestionPlugin(context)
    result = plugin.run(plugin.create_pipeline(config), progress=lambda _message: None)
    assert result.success, result.error and result.error.to_dict()


def load_scenario(
    name: str,
    context: PluginContext,
    make_entry: Callable[..., IngestionConfig],
    fresh_catalog: Callable[[], Catalog],
) -> Any:
    scenario = SCENARIOS[name]
    for load in scenario.loads:
        run(
            context,
            make_entry(
                name,
                source="dlt_test_sources:typed",
                config={
                    "ids": list(load.ids),
                    "version": load.version,
                    "with_note": load.with_note,
                },
                write_disposition=scenario.disposition,
                primary_key=scenario.primary_key,
            ),
        )
    return fresh_catalog().load_table(f"bronze.{name}")


def load_dict_rows(
    context: PluginContext,
    make_entry: Callable[..., IngestionConfig],
    fresh_catalog: Callable[[], Catalog],
) -> Any:
    """Plain dict rows (an API's JSON), normalized by dlt itself rather than passed as Arrow."""
    rows = [
        {
            "EventId": 1,
            "At": datetime(2024, 1, 1, 12, tzinfo=UTC),
            "Day": date(2024, 1, 1),
            "Kind": "click",
            "Payload": {"x": 1, "y": [1, 2]},
            "Amount": 1.5,
        },
        {"EventId": 2, "At": None, "Day": None, "Kind": None, "Payload": None, "Amount": None},
    ]
    run(context, make_entry("events", source="dlt_test_sources:rows", config={"rows": rows}))
    return fresh_catalog().load_table("bronze.events")


TABLES = [*SCENARIOS, "events"]


@pytest.fixture
def loaded_table(
    request: pytest.FixtureRequest,
    plugin_context: PluginContext,
    make_entry: Callable[..., IngestionConfig],
    fresh_catalog: Callable[[], Catalog],
) -> tuple[str, Any]:
    name = request.param
    if name == "events":
        return f"bronze.{name}", load_dict_rows(plugin_context, make_entry, fresh_catalog)
    return f"bronze.{name}", load_scenario(name, plugin_context, make_entry, fresh_catalog)


@pytest.mark.parametrize("loaded_table", TABLES, indirect=True)
def test_every_data_file_carries_the_iceberg_field_ids(loaded_table: tuple[str, Any]) -> None:
    name, table = loaded_table
    problems = field_id_problems(table, name)
    assert not problems, "data files without the Iceberg field ids:\n" + "\n".join(problems)


@pytest.mark.parametrize("loaded_table", TABLES, indirect=True)
def test_daft_reads_what_pyiceberg_reads(loaded_table: tuple[str, Any]) -> None:
    name, table = loaded_table
    problems = reader_mismatches(table, name)
    assert not problems, "daft and pyiceberg read differently:\n" + "\n".join(problems)
    scenario = SCENARIOS.get(name.removeprefix("bronze."))
    if scenario is not None:  # and what both read is what was loaded
        ids = sorted(table.scan().to_arrow().column("id").to_pylist())
        assert ids == list(scenario.expected_ids), f"{name} holds ids {ids}"


def test_the_checks_pass_on_files_with_field_ids_and_catch_files_without(
    catalog_properties: dict[str, str], tmp_path: Path
) -> None:
    """The two checks themselves: a file pyiceberg wrote (field ids from the schema) passes
    both; the same rows registered from a file without ids fail both, naming the file."""
    from dlt_test_sources import typed
    from pyiceberg.catalog import load_catalog

    catalog = load_catalog("floe", **catalog_properties)
    catalog.create_namespace("bronze")
    data = typed([1, 2, 3, 4])
    written = catalog.create_table("bronze.written", schema=data.schema)
    written.append(data)
    assert field_id_problems(written, "bronze.written") == []
    assert reader_mismatches(written, "bronze.written") == []

    registered = catalog.create_table("bronze.registered", schema=data.schema)
    pq.write_table(data, tmp_path / "no_ids.parquet")
    registered.add_files([str(tmp_path / "no_ids.parquet")])
    [problem] = field_id_problems(registered, "bronze.registered")
    assert "no_ids.parquet" in problem and "Tags.kind (no field id; Iceberg id" in problem
    [mismatch] = reader_mismatches(registered, "bronze.registered")
    assert "daft cannot read the table" in mismatch
