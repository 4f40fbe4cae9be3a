"""The marts in Dagster: automation after bronze, a missing bronze table, bad bronze rows."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pytest
from dagster_dbt import DbtCliResource
from pyiceberg.catalog import load_catalog

from platform_defs.config import Project, load_project
from platform_defs.definitions import build_definitions
from platform_defs.ingestion.assets import build_ingestion_asset
from platform_defs.ops.resource import OpsStoreResource
from platform_defs.transform.assets import build_dbt_assets, missing_bronze_tables
from platform_defs.transform.prepare import write_project_profiles
from platform_defs.transform.project import dbt_project
from platform_defs.usage.assets import ASSET_KEYS as USAGE_ASSETS

from ..conftest import DEMO_DROP, REPO_ROOT

pytestmark = pytest.mark.e2e

ACTIVITY = dg.AssetKey(["bronze", "daily_activity"])


def _project(root: Path) -> Project:
    shutil.copy(REPO_ROOT / "floe.yaml", root / "floe.yaml")
    shutil.copy(REPO_ROOT / "platform-manifest.yaml", root / "platform-manifest.yaml")
    shutil.copytree(REPO_ROOT / "sample_data", root / "sample_data", ignore=DEMO_DROP)
    project = load_project(root)
    write_project_profiles(project)
    return project


def _dbt_assets(project: Project) -> dg.AssetsDefinition:
    return build_dbt_assets(project, dbt_project(project).manifest_path)


def _dbt_resources(project: Project) -> dict[str, object]:
    return {"dbt": DbtCliResource(project_dir=dbt_project(project))}


def test_marts_are_requested_once_their_bronze_inputs_update(tmp_path: Path) -> None:
    defs = build_definitions(_project(tmp_path))
    staging = dg.AssetKey(["staging", "stg_wearable__daily_activity"])
    with dg.DagsterInstance.ephemeral() as instance:
        first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        assert first.get_num_requested(staging) == 0  # bronze has never been materialized

        for key in defs.resolve_asset_graph().get_all_asset_keys():
            if key.path[0] == "bronze" and key not in USAGE_ASSETS:  # those are partitioned
                instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=key))
        second = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, cursor=first.cursor
        )
        assert second.get_num_requested(staging) == 1
        assert second.get_num_requested(ACTIVITY) == 0  # bronze runs on its own schedule


def test_missing_bronze_table_names_the_pipeline(tmp_path: Path) -> None:
    project = _project(tmp_path)
    context = project.plugin_context()
    catalog = load_catalog(context.catalog_name, **context.catalog_properties)

    assert missing_bronze_tables(project, catalog, ["bronze.sleep"]) == [
        "bronze table bronze.sleep is missing from catalog: it is produced by floe.yaml "
        "pipeline 'wearable_sleep': materialize asset bronze/sleep first"
    ]

    result = dg.materialize(
        [_dbt_assets(project)], resources=_dbt_resources(project), raise_on_error=False
    )
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    description = failure.step_failure_data.user_failure_data.description
    assert "pipeline 'wearable_sleep'" in description
    assert "pipeline 'wearable_daily_activity'" in description

    # A run of one staging model only checks the bronze table that model reads.
    subset = dg.materialize(
        [_dbt_assets(project)],
        resources=_dbt_resources(project),
        selection=[dg.AssetKey(["staging", "stg_wearable__sleep"])],
        raise_on_error=False,
    )
    [failure] = [e for e in subset.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    description = failure.step_failure_data.user_failure_data.description
    assert "pipeline 'wearable_sleep'" in description
    assert "wearable_daily_activity" not in description


def test_bad_bronze_row_fails_its_check_and_blocks_the_wearable_marts(tmp_path: Path) -> None:
    project = _project(tmp_path)
    ingestion = [build_ingestion_asset(project, p) for p in project.floe.ingestion]
    # landing-zone pipelines record their files in the ops store
    ops = {"ops_store": OpsStoreResource.from_manifest(project.manifest)}
    assert dg.materialize(ingestion, resources=ops).success

    # One more day for a user, with negative steps: a row the source tests must reject.
    context = project.plugin_context()
    table = load_catalog(context.catalog_name, **context.catalog_properties).load_table(
        "bronze.daily_activity"
    )
    row = table.scan(limit=1).to_arrow().to_pylist()[0]
    row.update(activity_date=date(2026, 11, 1), total_steps=-5)  # bronze dates are DATEs
    table.append(pa.Table.from_pylist([row], schema=table.scan(limit=0).to_arrow().schema))

    result = dg.materialize(
        [_dbt_assets(project)], resources=_dbt_resources(project), raise_on_error=False
    )

    assert not result.success
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    failed = [e for e in evaluations.values() if not e.passed]
    assert [e.asset_key for e in failed] == [ACTIVITY]
    assert failed[0].metadata["dagster_dbt/failed_row_count"].value == 1
    materialized = {
        event.step_materialization_data.materialization.asset_key
        for event in result.get_asset_materialization_events()
    }
    assert dg.AssetKey(["marts", "user_deviations"]) not in materialized
    assert dg.AssetKey(["staging", "stg_wearable__daily_activity"]) not in materialized
    assert dg.AssetKey(["marts", "usage_popular_assets"]) in materialized
