"""The `floe_maintenance` job and schedule, run in process on a temp project."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from platform_defs.catalog import open_catalog
from platform_defs.config import Project, load_project
from platform_defs.maintenance.jobs import (
    MAINTENANCE_JOB_NAME,
    MAINTENANCE_SCHEDULE_NAME,
    build_maintenance_job,
    maintenance_definitions,
    op_name,
)

from .conftest import SCHEMA, age, append, local_dir, sorted_rows, write_project

pytestmark = pytest.mark.integration

MAINTENANCE = """\
maintenance:
  schedule: "15 2 * * *"
  expire_snapshots_older_than_days: 0
  keep_last_snapshots: 2
"""


@pytest.fixture
def project(tmp_path: Path) -> Project:
    root = write_project(tmp_path, ["bronze.events", "bronze.not_yet"], MAINTENANCE)
    return load_project(root, check_plugins=False)


def _output_metadata(result: dg.ExecuteInProcessResult, node: str) -> dict[str, object]:
    (event,) = [
        e for e in result.events_for_node(node) if e.event_type == dg.DagsterEventType.STEP_OUTPUT
    ]
    return {key: value.value for key, value in event.step_output_data.metadata.items()}


def test_job_maintains_every_destination_and_reports_metadata(project: Project) -> None:
    catalog = open_catalog(project.plugin_context())
    catalog.create_namespace("bronze")
    table = catalog.create_table("bronze.events", schema=SCHEMA)
    for batch in range(12):
        append(table, batch)
    expected = sorted_rows(table)
    orphan = local_dir(table.location()) / "data" / "left-over.parquet"
    orphan.write_bytes(b"x" * 42)
    age(orphan, hours=48)

    result = build_maintenance_job(project).execute_in_process()

    assert result.success
    metadata = _output_metadata(result, op_name("bronze.events"))
    assert metadata["files_compacted"] == "12 → 1"
    assert metadata["snapshots_expired"] == 11  # 13 with the compaction, 2 kept
    assert metadata["orphan_files_removed"] == 1 and metadata["orphan_bytes_removed"] == 42
    assert metadata["metadata_files_removed"] > 0  # type: ignore[operator]
    (observation,) = result.asset_observations_for_node(op_name("bronze.events"))
    assert observation.asset_key == dg.AssetKey(["bronze", "events"])
    assert observation.metadata["files_compacted"].value == "12 → 1"
    assert sorted_rows(catalog.load_table("bronze.events")).equals(expected)
    absent = _output_metadata(result, op_name("bronze.not_yet"))
    assert absent["snapshots_expired"] == 0


def test_schedule_runs_the_job_on_the_manifest_cron(project: Project) -> None:
    defs = maintenance_definitions(project)
    schedule = defs.resolve_schedule_def(MAINTENANCE_SCHEDULE_NAME)
    assert schedule.cron_schedule == "15 2 * * *"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    assert schedule.job_name == MAINTENANCE_JOB_NAME
    job = defs.resolve_job_def(MAINTENANCE_JOB_NAME)
    assert {node.name for node in job.nodes} == {
        "maintain_bronze__events",
        "maintain_bronze__events__rejected",
        "maintain_bronze__not_yet",
        "maintain_bronze__not_yet__rejected",
        # the usage push's bronze tables (platform_defs/usage)
        "maintain_bronze__output_port_query_stats_daily",
        "maintain_bronze__tech_asset_stats_daily",
    }
