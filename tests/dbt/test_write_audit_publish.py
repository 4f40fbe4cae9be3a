"""Write-audit-publish (issue 7, item 11): a mart never serves rows that fail its own tests.

Each mart is built into `marts_audit`, tested there, and copied to the published schema `marts`
at the end of `dbt build` only when it and every mart connected to it passed (one transaction).
"""

from __future__ import annotations

import pandas as pd
import pytest

from tests.dbt.bronze import bronze_frame, write_table
from tests.dbt.conftest import SAMPLE_DATA, DbtEnv
from tests.dbt.test_dbt_project import model_statuses, statuses

pytestmark = pytest.mark.integration

WEARABLE_MARTS = ("user_daily_health", "user_baselines", "user_deviations")
USAGE_MARTS = ("usage_queries_over_time", "usage_query_distribution", "usage_popular_assets")


def published_state(env: DbtEnv) -> dict[str, object]:
    """What a reader of the published schema sees, mart by mart."""
    [(health_rows, health_max_active, health_checksum)] = env.query(
        "select count(*), max(active_minutes), sum(hash(user_id, activity_date, active_minutes)) "
        "from marts.user_daily_health"
    )
    return {
        "health": (health_rows, health_max_active, health_checksum),
        "health_days": set(env.query("select user_id, activity_date from marts.user_daily_health")),
        "baseline_days": set(env.query("select user_id, activity_date from marts.user_baselines")),
        "deviation_days": set(
            env.query("select distinct user_id, activity_date from marts.user_deviations")
        ),
        "usage_days": env.query(
            "select max(period_start) from marts.usage_queries_over_time where period_grain = 'day'"
        ),
    }


def _day_with_1600_active_minutes(frame: pd.DataFrame) -> pd.DataFrame:
    """A new day for an existing user that every source and staging test accepts, but whose
    very + fairly + lightly active minutes (1,600) exceed the 1,440 minutes of a day."""
    extra = frame.iloc[[0]].assign(
        activity_date="11/1/2026",
        very_active_minutes=600,
        fairly_active_minutes=500,
        lightly_active_minutes=500,
    )
    return pd.concat([frame, extra], ignore_index=True)


def test_a_mart_failing_its_test_keeps_its_published_rows_and_its_children(
    dbt_env: DbtEnv,
) -> None:
    first = dbt_env.invoke("build")
    assert first.success, first.exception
    before = published_state(dbt_env)
    assert before["health"][1] <= 1440
    assert before["health_days"] == before["baseline_days"] == before["deviation_days"]

    frame = _day_with_1600_active_minutes(bronze_frame(SAMPLE_DATA / "wearable/daily_activity.csv"))
    write_table(dbt_env.catalog, "daily_activity", frame)
    # Usage grows one day too: the usage marts do not depend on the bad table and must publish.
    usage = bronze_frame(SAMPLE_DATA / "usage/output_port_query_stats_daily.csv")
    write_table(
        dbt_env.catalog,
        "output_port_query_stats_daily",
        pd.concat([usage, usage.iloc[[0]].assign(date="2026-11-01")], ignore_index=True),
    )

    second = dbt_env.invoke("build")

    assert not second.success
    by_name = {uid.split(".")[2]: status for uid, (_, status, _) in statuses(second).items()}
    assert by_name["accepted_range_user_daily_health_active_minutes__1440__0"] == "fail"
    models = model_statuses(second)
    assert models["user_daily_health"] == "success"  # built aside, in marts_audit
    assert {models["user_baselines"], models["user_deviations"]} == {"skipped"}

    after = published_state(dbt_env)
    # The published mart still holds its previous rows: the 1,600-minute day is not served...
    assert after["health"] == before["health"]
    # ...and it agrees with its children, which kept theirs.
    assert after["health_days"] == after["baseline_days"] == after["deviation_days"]
    assert after["health_days"] == before["health_days"]
    # The rejected build stays in marts_audit for inspection.
    [(audited,)] = dbt_env.query(
        "select count(*) from marts_audit.user_daily_health where active_minutes > 1440"
    )
    assert audited == 1
    # The usage marts passed their tests and were published with the new day.
    assert after["usage_days"] == [(pd.Timestamp("2026-11-01").date(),)]

    # A later run of the children alone builds from the PUBLISHED user_daily_health, not from
    # the rejected build still sitting in marts_audit: the marts keep agreeing.
    children = dbt_env.invoke("build", "--select", "user_baselines+")
    assert children.success, children.exception
    again = published_state(dbt_env)
    assert again["health_days"] == again["baseline_days"] == again["deviation_days"]
    assert again["health_days"] == before["health_days"]


def test_a_mart_is_published_only_when_its_tests_ran_and_passed(dbt_env: DbtEnv) -> None:
    # `dbt run` builds every mart aside but runs no test: nothing is published.
    run = dbt_env.invoke("run")
    assert run.success, run.exception
    [(published,)] = dbt_env.query(
        "select count(*) from information_schema.tables where table_schema = 'marts'"
    )
    assert published == 0

    # A build that leaves out one of user_deviations' tests publishes neither it nor the marts
    # it is connected to (they would disagree), while the usage marts are published.
    build = dbt_env.invoke("build", "--exclude", "not_null_user_deviations_metric_value")
    assert build.success, build.exception
    assert published_tables(dbt_env) == set(USAGE_MARTS)

    # Nor is a parent published by a run that leaves out the marts that read it.
    parent_only = dbt_env.invoke("build", "--select", "+user_daily_health")
    assert parent_only.success, parent_only.exception
    assert published_tables(dbt_env) == set(USAGE_MARTS)

    # With its children, it is.
    whole = dbt_env.invoke("build", "--select", "user_daily_health+")
    assert whole.success, whole.exception
    assert published_tables(dbt_env) == set(USAGE_MARTS) | set(WEARABLE_MARTS)


def published_tables(env: DbtEnv) -> set[str]:
    return {
        name
        for (name,) in env.query(
            "select table_name from information_schema.tables where table_schema = 'marts'"
        )
    }


def test_publishing_is_one_transaction(dbt_env: DbtEnv) -> None:
    first = dbt_env.invoke("build")
    assert first.success, first.exception
    before = published_state(dbt_env)
    usage = bronze_frame(SAMPLE_DATA / "usage/output_port_query_stats_daily.csv")
    write_table(
        dbt_env.catalog,
        "output_port_query_stats_daily",
        pd.concat([usage, usage.iloc[[0]].assign(date="2026-11-01")], ignore_index=True),
    )
    # The last mart to publish cannot be replaced (a view stands where its table was), so the
    # publish fails after the usage marts were already copied: the copies must roll back.
    dbt_env.query(
        "drop table marts.user_deviations; "
        "create view marts.user_deviations as select * from marts_audit.user_deviations"
    )

    result = dbt_env.invoke("build")

    assert not result.success
    assert "user_deviations" in str(result.exception)  # the publish failed, loudly
    assert published_state(dbt_env)["usage_days"] == before["usage_days"]
