"""The usage marts rebuild after a pushed day is ingested (declarative automation)."""

from __future__ import annotations

import dagster as dg
import pytest

from platform_defs.transform.assets import transform_definitions
from platform_defs.transform.prepare import prepare, write_project_profiles
from platform_defs.transform.project import dbt_project
from tests.usage.conftest import C1, D1, T1, P, UsagePlatform

pytestmark = pytest.mark.integration

USAGE_MODELS = {
    dg.AssetKey(["staging", "stg_usage__output_port_query_stats_daily"]),
    dg.AssetKey(["staging", "stg_usage__tech_asset_stats_daily"]),
    dg.AssetKey(["marts", "usage_queries_over_time"]),
    dg.AssetKey(["marts", "usage_query_distribution"]),
    dg.AssetKey(["marts", "usage_popular_assets"]),
}


def _requested(
    result: dg.EvaluateAutomationConditionsResult, defs: dg.Definitions
) -> set[dg.AssetKey]:
    keys = defs.resolve_asset_graph().get_all_asset_keys()
    return {key for key in keys if result.get_num_requested(key)}


@pytest.mark.parametrize("ops_target", ["sqlite"], indirect=True)
def test_the_usage_marts_follow_an_ingested_day(usage: UsagePlatform) -> None:
    write_project_profiles(usage.project)
    if not dbt_project(usage.project).manifest_path.exists():
        prepare(usage.project)  # normally done by `make test`'s set-up step
    defs = dg.Definitions.merge(usage.defs, transform_definitions(usage.project))
    first = dg.evaluate_automation_conditions(defs=defs, instance=usage.instance)
    assert not _requested(first, defs)  # nothing pushed yet

    usage.push(P, [(D1, C1, 3)], [(D1, T1, C1, 3)])
    usage.ingest()
    second = dg.evaluate_automation_conditions(
        defs=defs, instance=usage.instance, cursor=first.cursor
    )
    # one daily partition is enough: the other days never count as "missing"
    assert _requested(second, defs) == USAGE_MODELS

    third = dg.evaluate_automation_conditions(
        defs=defs, instance=usage.instance, cursor=second.cursor
    )
    assert not _requested(third, defs)  # requested once per update
