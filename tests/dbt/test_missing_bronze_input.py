"""A missing bronze table fails only the marts that read it (issue 7, item 13, mart side).

An empty first file leaves no bronze table; the dbt step used to refuse to run at all
("materialize asset bronze/sleep first"), usage marts included. Now the dbt asset builds what
does not depend on the missing table, then fails naming the table and its pipeline.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster_dbt import DbtCliResource
from pyiceberg.catalog import load_catalog

from platform_defs.config import Project, load_project
from platform_defs.transform.assets import build_dbt_assets
from platform_defs.transform.prepare import write_project_profiles
from platform_defs.transform.project import dbt_project, marts_path
from tests.dbt.bronze import load_sample_bronze
from tests.dbt.conftest import REPO_ROOT, SAMPLE_DATA

pytestmark = pytest.mark.integration

USAGE = {
    ("staging", "stg_usage__output_port_query_stats_daily"),
    ("staging", "stg_usage__tech_asset_stats_daily"),
    ("marts", "usage_queries_over_time"),
    ("marts", "usage_query_distribution"),
    ("marts", "usage_popular_assets"),
}
NEEDS_SLEEP = {
    ("staging", "stg_wearable__sleep"),
    ("marts", "user_daily_health"),
    ("marts", "user_baselines"),
    ("marts", "user_deviations"),
}


def _project_without(root: Path, missing: frozenset[str]) -> Project:
    """The repo's floe project in `root`, its bronze tables landed except `missing`."""
    shutil.copy(REPO_ROOT / "floe.yaml", root / "floe.yaml")
    shutil.copy(REPO_ROOT / "platform-manifest.yaml", root / "platform-manifest.yaml")
    shutil.copytree(SAMPLE_DATA, root / "sample_data")  # floe.yaml's source folders
    project = load_project(root)
    write_project_profiles(project)
    context = project.plugin_context()
    catalog = load_catalog(context.catalog_name, **context.catalog_properties)
    load_sample_bronze(catalog, SAMPLE_DATA, skip=missing)
    return project


def _materialize(project: Project, selection: list[dg.AssetKey] | None = None):  # type: ignore[no-untyped-def]
    dbt = dbt_project(project)
    return dg.materialize(
        [build_dbt_assets(project, dbt.manifest_path)],
        resources={"dbt": DbtCliResource(project_dir=dbt)},
        selection=selection,
        raise_on_error=False,
    )


def _materialized(result) -> set[tuple[str, ...]]:  # type: ignore[no-untyped-def]
    return {
        tuple(event.step_materialization_data.materialization.asset_key.path)
        for event in result.get_asset_materialization_events()
    }


def _failure_description(result) -> str:  # type: ignore[no-untyped-def]
    [failure] = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    return failure.step_failure_data.user_failure_data.description


def test_missing_sleep_fails_only_the_marts_that_read_it(tmp_path: Path) -> None:
    project = _project_without(tmp_path, frozenset({"sleep"}))

    result = _materialize(project)

    assert not result.success
    materialized = _materialized(result)
    assert USAGE | {("staging", "stg_wearable__daily_activity")} <= materialized
    assert not NEEDS_SLEEP & materialized
    description = _failure_description(result)
    assert "bronze table bronze.sleep is missing" in description
    assert "pipeline 'wearable_sleep'" in description
    assert "wearable_daily_activity" not in description
    assert "marts/user_deviations" in description  # names what it could not build
    # The usage marts were tested and published; the wearable ones were never created.
    with duckdb.connect(str(marts_path(project)), read_only=True) as con:
        published = {
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts'"
            ).fetchall()
        }
    assert published == {name for schema, name in USAGE if schema == "marts"}


def test_nothing_runs_when_every_selected_asset_lacks_its_bronze(tmp_path: Path) -> None:
    project = _project_without(tmp_path, frozenset({"sleep"}))

    result = _materialize(project, selection=[dg.AssetKey(["staging", "stg_wearable__sleep"])])

    assert not result.success
    assert _materialized(result) == set()
    description = _failure_description(result)
    assert "pipeline 'wearable_sleep'" in description
    assert "dbt" not in description  # refused before running dbt, not a dbt error
