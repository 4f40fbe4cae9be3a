"""An ingestion asset materialized by Dagster: metadata, catalog, and retry-by-category."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
from pyiceberg.catalog import load_catalog

from platform_defs.config import load_project
from platform_defs.ingestion.assets import build_ingestion_asset

from .conftest import write_project

pytestmark = pytest.mark.integration


def _materialize(project_dir: Path, name: str) -> dg.ExecuteInProcessResult:
    project = load_project(project_dir)
    asset = build_ingestion_asset(project, project.pipeline(name))
    return dg.materialize([asset], raise_on_error=False)


def test_materialization_lands_table_in_manifest_catalog(activity_project: Path) -> None:
    result = _materialize(activity_project, "wearable_daily_activity")

    assert result.success
    [materialization] = result.asset_materializations_for_node("bronze__daily_activity")
    metadata = materialization.metadata
    assert metadata["rows_loaded"].value == 3
    assert metadata["dagster/row_count"].value == 3
    # The snapshot in the metadata is the one a fresh catalog from the manifest sees.
    project = load_project(activity_project)
    context = project.plugin_context()
    table = load_catalog(context.catalog_name, **context.catalog_properties).load_table(
        "bronze.daily_activity"
    )
    assert metadata["iceberg/snapshot_id"].value == str(table.current_snapshot().snapshot_id)
    columns = {c.name for c in metadata["dagster/column_schema"].schema.columns}
    assert {"id", "activity_date", "total_steps", "calories"} <= columns
    assert len(metadata["preview"].records) == 3


def test_missing_source_file_fails_at_once_with_category(activity_project: Path) -> None:
    (activity_project / "data" / "daily_activity.csv").unlink()

    result = _materialize(activity_project, "wearable_daily_activity")

    assert not result.success
    failure = result.failure_data_for_node("bronze__daily_activity")
    assert failure is not None
    assert failure.user_failure_data is not None
    metadata = failure.user_failure_data.metadata
    assert metadata["error/category"].value == "PERMANENT"
    assert metadata["error/retryable"].value is False
    restarts = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_RESTARTED]
    assert restarts == []
    project = load_project(activity_project)
    context = project.plugin_context()
    catalog = load_catalog(context.catalog_name, **context.catalog_properties)
    assert not catalog.table_exists("bronze.daily_activity")


def _flaky_project(root: Path, mode: str, retryable: str = "[TRANSIENT]") -> Path:
    # A third-party plugin's `plugin:` block: the fake plugin reads `source` as its failure mode.
    pipelines = (
        "- name: flaky_feed\n  type: flaky\n  destination: bronze.flaky\n"
        f"  plugin:\n    source: {mode}\n"
    )
    retry = (
        "max_attempts: 3\n  initial_delay_seconds: 0\n  max_delay_seconds: 0\n"
        f"  retryable_categories: {retryable}"
    )
    return write_project(root, pipelines=pipelines, retry=retry)


def _attempts(result: dg.ExecuteInProcessResult) -> int:
    restarts = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_RESTARTED]
    return 1 + len(restarts)


def test_transient_failure_is_retried_per_manifest_then_fails(tmp_path: Path, flaky_plugin) -> None:
    result = _materialize(_flaky_project(tmp_path, "transient"), "flaky_feed")

    assert not result.success
    assert _attempts(result) == 3
    assert flaky_plugin.CALLS == ["flaky_feed"] * 3
    failure = result.failure_data_for_node("bronze__flaky")
    assert failure is not None and failure.user_failure_data is not None
    assert failure.user_failure_data.metadata["error/category"].value == "TRANSIENT"
    assert failure.user_failure_data.metadata["error/code"].value == "RATE_LIMITED"


def test_transient_is_not_retried_when_manifest_excludes_it(tmp_path: Path, flaky_plugin) -> None:
    result = _materialize(_flaky_project(tmp_path, "transient", retryable="[]"), "flaky_feed")

    assert not result.success
    assert _attempts(result) == 1


def test_permanent_failure_fails_at_once(tmp_path: Path, flaky_plugin) -> None:
    result = _materialize(_flaky_project(tmp_path, "permanent"), "flaky_feed")

    assert not result.success
    assert _attempts(result) == 1
    failure = result.failure_data_for_node("bronze__flaky")
    assert failure is not None and failure.user_failure_data is not None
    assert failure.user_failure_data.description == "PERMANENT AUTH_FAILED: bad token"


def test_unresolvable_secret_is_a_configuration_failure_without_the_value(
    activity_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    floe_yaml = activity_project / "floe.yaml"
    floe_yaml.write_text(
        floe_yaml.read_text().replace(
            "    dlt:\n",
            "    secret_refs:\n      credentials: wearable-bucket-key\n    dlt:\n",
            1,
        )
    )
    monkeypatch.delenv("FLOE_SECRET_WEARABLE_BUCKET_KEY", raising=False)

    result = _materialize(activity_project, "wearable_daily_activity")

    assert not result.success
    failure = result.failure_data_for_node("bronze__daily_activity")
    assert failure is not None and failure.user_failure_data is not None
    metadata = failure.user_failure_data.metadata
    assert metadata["error/category"].value == "CONFIGURATION"
    assert "FLOE_SECRET_WEARABLE_BUCKET_KEY" in metadata["error/message"].value
    assert _attempts(result) == 1


BAD_ROW_CSV = (
    "Id,ActivityDate,TotalSteps\n"
    "1503960366,4/12/2026,13162\n"
    "1503960366,4/13/2026,lots\n"
    "1624580081,4/12/2026,8163\n"
)
TYPED_ACTIVITY = """\
- name: wearable_daily_activity
  destination: bronze.daily_activity
  write_disposition: merge
  primary_key: [Id, ActivityDate]
  dlt:
    source: dlt.sources.filesystem
    config: {bucket_url: data, file_glob: "daily_activity*.csv"}
    columns:
      ActivityDate: {data_type: date, format: "%m/%d/%Y"}
      TotalSteps: {data_type: bigint}
"""


def _bad_row_project(root: Path, retryable: str) -> Path:
    (root / "data").mkdir()
    (root / "data" / "daily_activity.csv").write_text(BAD_ROW_CSV)
    retry = (
        "max_attempts: 3\n  initial_delay_seconds: 0\n  max_delay_seconds: 0\n"
        f"  retryable_categories: {retryable}"
    )
    return write_project(root, pipelines=TYPED_ACTIVITY, retry=retry)


def test_rejected_rows_materialize_the_good_rows_with_the_rejects_in_metadata(
    tmp_path: Path,
) -> None:
    """PARTIAL not retryable (the default): the asset materializes what was committed, and
    the rejects are in its metadata, a warning and a failed (WARN) check."""
    result = _materialize(_bad_row_project(tmp_path, "[TRANSIENT]"), "wearable_daily_activity")

    assert result.success
    assert _attempts(result) == 1
    [materialization] = result.asset_materializations_for_node("bronze__daily_activity")
    metadata = materialization.metadata
    assert metadata["rows_loaded"].value == 2
    assert metadata["dagster/row_count"].value == 2
    assert metadata["floe/rejected_rows"].value == 1
    assert metadata["floe/rejects_table"].value == "bronze.daily_activity__rejected"
    assert metadata["error/category"].value == "PARTIAL"
    assert metadata["error/failed_records"].value == 1
    [reject] = metadata["floe/rejects"].records
    assert reject.data["raw_value"] == "lots" and reject.data["line"] == "3"
    [check] = result.get_asset_check_evaluations()
    assert (check.check_name, check.passed) == ("no_rejected_rows", False)
    assert check.severity == dg.AssetCheckSeverity.WARN


def test_partial_is_retried_then_fails_when_the_manifest_lists_it(tmp_path: Path) -> None:
    result = _materialize(
        _bad_row_project(tmp_path, "[TRANSIENT, PARTIAL]"), "wearable_daily_activity"
    )

    assert not result.success
    assert _attempts(result) == 3
    failure = result.failure_data_for_node("bronze__daily_activity")
    assert failure is not None and failure.user_failure_data is not None
    metadata = failure.user_failure_data.metadata
    assert metadata["error/category"].value == "PARTIAL"
    assert metadata["error/code"].value == "ROWS_REJECTED"
    assert metadata["error/failed_records"].value == 1
    assert metadata["floe/rejects_table"].value == "bronze.daily_activity__rejected"


def test_a_clean_run_passes_the_rejected_rows_check(activity_project: Path) -> None:
    result = _materialize(activity_project, "wearable_daily_activity")

    assert result.success
    [materialization] = result.asset_materializations_for_node("bronze__daily_activity")
    assert materialization.metadata["floe/rejected_rows"].value == 0
    [check] = result.get_asset_check_evaluations()
    assert (check.check_name, check.passed) == ("no_rejected_rows", True)


def test_an_empty_first_file_materializes_an_empty_table(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "daily_activity.csv").write_text("Id,ActivityDate,TotalSteps\n")
    project_dir = write_project(tmp_path, pipelines=TYPED_ACTIVITY)

    result = _materialize(project_dir, "wearable_daily_activity")

    assert result.success
    [materialization] = result.asset_materializations_for_node("bronze__daily_activity")
    assert materialization.metadata["dagster/row_count"].value == 0
    project = load_project(project_dir)
    context = project.plugin_context()
    catalog = load_catalog(context.catalog_name, **context.catalog_properties)
    assert catalog.table_exists("bronze.daily_activity")
