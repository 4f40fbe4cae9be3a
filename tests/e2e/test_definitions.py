"""Load the whole code location from the repository's own config and check the graph."""

from __future__ import annotations

import dagster as dg
import pytest

from platform_defs.config import load_project
from platform_defs.definitions import build_definitions
from platform_defs.jobs import MAIN_JOB_NAME
from platform_defs.maintenance.jobs import MAINTENANCE_JOB_NAME, MAINTENANCE_SCHEDULE_NAME, op_name
from platform_defs.observability.sensors import (
    CATCH_UP_SENSOR,
    RUN_CANCELED_SENSOR,
    RUN_FAILURE_SENSOR,
    RUN_STARTED_SENSOR,
    RUN_SUCCESS_SENSOR,
)
from platform_defs.transform.prepare import prepare
from platform_defs.transform.project import dbt_project
from platform_defs.usage.assets import ASSET_KEYS
from platform_defs.usage.assets import PARTITIONS as USAGE_PARTITIONS
from platform_defs.usage.sensors import SENSOR_NAME as USAGE_SENSOR

from ..conftest import REPO_ROOT

pytestmark = pytest.mark.e2e

BRONZE = {
    dg.AssetKey(["bronze", table])
    for table in (
        "daily_activity",
        "sleep",
        "output_port_query_stats_daily",
        "tech_asset_stats_daily",
    )
}

# Pushed through the usage API, not in floe.yaml (platform_defs/usage, docs/usage-ingestion.md).
USAGE_BRONZE = set(ASSET_KEYS)


# The whole asset graph, file to mart: each asset and the assets it reads (dbt/models).
GRAPH = {
    "bronze/daily_activity": set(),
    "bronze/sleep": set(),
    "bronze/output_port_query_stats_daily": set(),
    "bronze/tech_asset_stats_daily": set(),
    "staging/stg_wearable__daily_activity": {"bronze/daily_activity"},
    "staging/stg_wearable__sleep": {"bronze/sleep"},
    "staging/stg_usage__output_port_query_stats_daily": {"bronze/output_port_query_stats_daily"},
    "staging/stg_usage__tech_asset_stats_daily": {"bronze/tech_asset_stats_daily"},
    "marts/user_daily_health": {
        "staging/stg_wearable__daily_activity",
        "staging/stg_wearable__sleep",
    },
    "marts/user_baselines": {"marts/user_daily_health"},
    "marts/user_deviations": {"marts/user_baselines"},
    "marts/usage_popular_assets": {
        "staging/stg_usage__output_port_query_stats_daily",
        "staging/stg_usage__tech_asset_stats_daily",
    },
    "marts/usage_queries_over_time": {"staging/stg_usage__output_port_query_stats_daily"},
    "marts/usage_query_distribution": {"staging/stg_usage__output_port_query_stats_daily"},
}


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    project = load_project(REPO_ROOT)
    if not dbt_project(project).manifest_path.exists():
        prepare(project)  # normally done by `make test`'s set-up step
    return build_definitions(project)


def test_code_location_module_loads(defs: dg.Definitions) -> None:
    # `defs` first: it runs the set-up step when `make test` has not.
    from platform_defs.definitions import defs as location_defs

    assert location_defs.resolve_job_def(MAIN_JOB_NAME) is not None


def test_one_ingestion_asset_per_floe_entry(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    assert BRONZE <= graph.get_all_asset_keys()
    for key in BRONZE - USAGE_BRONZE:
        node = graph.get(key)
        assert node.group_name == "ingestion"
        assert {"dlt", "iceberg"} <= set(node.kinds)
        assert node.description and "\n" not in node.description.strip()


def test_the_usage_tables_are_daily_partitions_fed_by_the_push_sensor(
    defs: dg.Definitions,
) -> None:
    graph = defs.resolve_asset_graph()
    for key in USAGE_BRONZE:
        node = graph.get(key)
        assert node.partitions_def == USAGE_PARTITIONS
        assert {"api", "iceberg"} <= set(node.kinds)
    sensor = defs.get_repository_def().get_sensor_def(USAGE_SENSOR)
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert sensor.required_resource_keys == {"ops_store"}
    assert set(sensor.asset_selection.resolve(graph)) == USAGE_BRONZE  # type: ignore[union-attr]


def test_every_cron_entry_has_a_schedule(defs: dg.Definitions) -> None:
    project = load_project(REPO_ROOT)
    for pipeline in project.floe.ingestion:
        schedule = defs.resolve_schedule_def(f"ingest_{pipeline.name}_schedule")
        assert schedule.cron_schedule == pipeline.schedule


def test_staging_models_read_the_bronze_assets(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    expected = {
        "stg_wearable__daily_activity": ["bronze", "daily_activity"],
        "stg_wearable__sleep": ["bronze", "sleep"],
        "stg_usage__output_port_query_stats_daily": ["bronze", "output_port_query_stats_daily"],
        "stg_usage__tech_asset_stats_daily": ["bronze", "tech_asset_stats_daily"],
    }
    for model, bronze in expected.items():
        assert graph.get(dg.AssetKey(["staging", model])).parent_keys == {dg.AssetKey(bronze)}


def test_the_graph_is_exactly_file_to_mart(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    edges = {
        key.to_user_string(): {parent.to_user_string() for parent in graph.get(key).parent_keys}
        for key in graph.get_all_asset_keys()
    }
    assert edges == GRAPH


def test_dbt_tests_are_asset_checks_including_bronze_source_tests(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    checked_assets = {check.asset_key for check in graph.asset_check_keys}
    assert dg.AssetKey(["bronze", "daily_activity"]) in checked_assets
    assert dg.AssetKey(["marts", "user_deviations"]) in checked_assets


def test_main_job_selects_everything(defs: dg.Definitions) -> None:
    job = defs.resolve_job_def(MAIN_JOB_NAME)
    # everything but the daily usage partitions, which the usage_pushes sensor's runs write
    assert {key.to_user_string() for key in job.asset_layer.selected_asset_keys} == set(GRAPH) - {
        key.to_user_string() for key in USAGE_BRONZE
    }
    # every dbt test too, the bronze source tests included
    checks = job.asset_layer.asset_graph.asset_check_keys
    assert checks == defs.resolve_asset_graph().asset_check_keys
    assert {check.asset_key for check in checks} >= BRONZE


def test_maintenance_job_covers_every_bronze_table_on_its_own_schedule(
    defs: dg.Definitions,
) -> None:
    job = defs.resolve_job_def(MAINTENANCE_JOB_NAME)
    tables = {".".join(key.path) for key in BRONZE}
    # rejects tables grow like any other (the pushed usage tables have none: the API refuses)
    tables |= {f"{'.'.join(key.path)}__rejected" for key in BRONZE - USAGE_BRONZE}
    assert {node.name for node in job.nodes} == {op_name(table) for table in tables}
    schedule = defs.resolve_schedule_def(MAINTENANCE_SCHEDULE_NAME)
    assert schedule.cron_schedule == load_project(REPO_ROOT).manifest.maintenance.schedule
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    # Ops, not assets: the main job (every asset) never runs maintenance.
    main_nodes = {node.name for node in defs.resolve_job_def(MAIN_JOB_NAME).nodes}
    assert not {node.name for node in job.nodes} & main_nodes


LANDING_ASSETS = {
    "wearable_daily_activity": dg.AssetKey(["bronze", "daily_activity"]),
    "wearable_sleep": dg.AssetKey(["bronze", "sleep"]),
}
LANDING_SENSORS = [f"landing_{name}" for name in LANDING_ASSETS]


def test_every_run_is_tracked_and_failures_alerted_by_running_sensors(
    defs: dg.Definitions,
) -> None:
    sensors = {sensor.name: sensor for sensor in defs.sensors or []}
    assert set(sensors) == {
        "marts_automation",
        RUN_STARTED_SENSOR,
        RUN_SUCCESS_SENSOR,
        RUN_FAILURE_SENSOR,
        RUN_CANCELED_SENSOR,
        CATCH_UP_SENSOR,
        USAGE_SENSOR,
        *LANDING_SENSORS,
    }
    for name in (RUN_STARTED_SENSOR, RUN_SUCCESS_SENSOR, RUN_FAILURE_SENSOR, RUN_CANCELED_SENSOR):
        sensor = sensors[name]
        assert isinstance(sensor, dg.RunStatusSensorDefinition)
        assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert sensors[CATCH_UP_SENSOR].default_status == dg.DefaultSensorStatus.RUNNING
    repository = defs.get_repository_def()
    assert repository.get_sensor_def(RUN_FAILURE_SENSOR).required_resource_keys == {"ops_store"}
    for name in LANDING_SENSORS:  # one per landing_zone pipeline, targeting its asset only
        sensor = repository.get_sensor_def(name)
        assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
        assert sensor.required_resource_keys == {"ops_store"}
        pipeline = name.removeprefix("landing_")
        (key,) = sensor.asset_selection.resolve(defs.resolve_asset_graph())  # type: ignore[union-attr]
        assert key == LANDING_ASSETS[pipeline]
    # sensors only: the jobs are still the platform's own
    assert {job.name for job in repository.get_all_jobs()} >= {MAIN_JOB_NAME, MAINTENANCE_JOB_NAME}
