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
