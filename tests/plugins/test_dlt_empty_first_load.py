"""An empty file on the first load creates the (empty) table, so downstream sees an empty
table instead of "materialize asset bronze/<table> first" (issue 7, item 13)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyiceberg.catalog import load_catalog
from pyiceberg.types import DateType, LongType, StringType

from platform_defs.config import Project, load_project
from tests.plugins.floe_project import run_pipeline, table_rows, write_project

pytestmark = pytest.mark.integration

ENTRY = """\
ingestion:
  - name: sleep
    destination: bronze.sleep
    write_disposition: merge
    primary_key: [Id, SleepDay]
    dlt:
      source: dlt.sources.filesystem
      config: {bucket_url: landing, file_glob: "sleep*.csv"}
"""
DECLARED = """\
      columns:
        Id: {data_type: bigint, nullable: false}
        SleepDay: {data_type: date, format: "%m/%d/%Y %I:%M:%S %p"}
"""


def _catalog(project: Project):  # type: ignore[no-untyped-def]
    context = project.plugin_context("dlt")
    return load_catalog(context.catalog_name, **dict(context.catalog_properties))


def _fields(project: Project) -> dict[str, object]:
    table = _catalog(project).load_table("bronze.sleep")
    return {field.name: field.field_type for field in table.schema().fields}


def test_a_header_only_file_creates_the_table_from_declared_columns_and_header(
    tmp_path: Path,
) -> None:
    root = write_project(
        tmp_path / "project",
        ENTRY + DECLARED,
        {"landing/sleep.csv": "Id,SleepDay,TotalMinutesAsleep\n"},
    )
    project = load_project(root)

    result = run_pipeline(project, "sleep")

    assert result.success, result.error and result.error.to_dict()
    assert result.tables_created == ["bronze.sleep"]
    assert result.rows_loaded == 0
    assert _fields(project) == {
        "id": LongType(),
        "sleep_day": DateType(),
        "total_minutes_asleep": StringType(),  # undeclared: nothing to infer a type from
        "_dlt_load_id": StringType(),
        "_dlt_id": StringType(),
    }
    assert _catalog(project).load_table("bronze.sleep").scan().to_arrow().num_rows == 0

    (root / "landing" / "sleep.csv").write_text(
        "Id,SleepDay,TotalMinutesAsleep\n1,8/3/2026 12:00:00 AM,438\n"
    )
    later = run_pipeline(project, "sleep")

    assert later.success and later.rows_loaded == 1
    assert table_rows(project, "bronze.sleep", "id", "total_minutes_asleep") == [
        {"id": 1, "total_minutes_asleep": "438"}
    ]


def test_a_zero_byte_file_creates_the_table_from_the_declared_columns(tmp_path: Path) -> None:
    root = write_project(tmp_path / "project", ENTRY + DECLARED, {"landing/sleep.csv": ""})
    project = load_project(root)

    result = run_pipeline(project, "sleep")

    assert result.success and result.tables_created == ["bronze.sleep"]
    assert list(_fields(project)) == ["id", "sleep_day", "_dlt_load_id", "_dlt_id"]


def test_a_header_only_file_without_declarations_creates_text_columns(tmp_path: Path) -> None:
    root = write_project(tmp_path / "project", ENTRY, {"landing/sleep.csv": "Id,SleepDay\n"})
    project = load_project(root)
    progress: list[str] = []

    from plugins.dlt import DltIngestionPlugin

    plugin = DltIngestionPlugin(project.plugin_context("dlt"))
    result = plugin.run(
        plugin.create_pipeline(project.ingestion_config("sleep")), progress=progress.append
    )

    assert result.success and result.tables_created == ["bronze.sleep"]
    assert _fields(project)["sleep_day"] == StringType()
    assert any("declare their types in dlt.columns" in line for line in progress), progress


def test_an_empty_file_without_any_known_column_creates_nothing(tmp_path: Path) -> None:
    root = write_project(tmp_path / "project", ENTRY, {"landing/sleep.csv": ""})
    project = load_project(root)

    result = run_pipeline(project, "sleep")

    assert result.success and result.tables_created == []
    assert not _catalog(project).table_exists("bronze.sleep")


def test_a_later_empty_load_leaves_the_table_alone(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "project",
        ENTRY + DECLARED,
        {"landing/sleep.csv": "Id,SleepDay\n1,8/3/2026 12:00:00 AM\n"},
    )
    project = load_project(root)
    first = run_pipeline(project, "sleep")
    (root / "landing" / "sleep.csv").write_text("Id,SleepDay\n")

    second = run_pipeline(project, "sleep")

    assert second.success and second.tables_created == []
    table = _catalog(project).load_table("bronze.sleep")
    assert table.current_snapshot().snapshot_id == first.snapshot_id
