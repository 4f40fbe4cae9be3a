"""The dbt project end to end on the sample data: models, unit tests, marts, bad bronze input."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from dbt.cli.main import dbtRunnerResult

from tests.dbt.bronze import bronze_frame, write_table
from tests.dbt.conftest import SAMPLE_DATA, DbtEnv

pytestmark = pytest.mark.integration

MODELS = {
    "stg_wearable__daily_activity",
    "stg_wearable__sleep",
    "stg_usage__output_port_query_stats_daily",
    "stg_usage__tech_asset_stats_daily",
    "user_daily_health",
    "user_baselines",
    "user_deviations",
    "usage_queries_over_time",
    "usage_query_distribution",
    "usage_popular_assets",
}
WEARABLE_ACTIVITY_DOWNSTREAM = {
    "stg_wearable__daily_activity",
    "user_daily_health",
    "user_baselines",
    "user_deviations",
}


def statuses(result: dbtRunnerResult) -> dict[str, tuple[str, str, int | None]]:
    """unique_id -> (resource type, status, failures) for every node the run touched."""
    return {
        r.node.unique_id: (r.node.resource_type, str(r.status), r.failures)
        for r in result.result.results
    }


def model_statuses(result: dbtRunnerResult) -> dict[str, str]:
    return {
        unique_id.split(".")[-1]: status
        for unique_id, (kind, status, _) in statuses(result).items()
        if kind == "model"
    }


def test_parse_with_generated_profile(dbt_env: DbtEnv) -> None:
    # What the lead's setup step runs so dagster-dbt finds target/manifest.json.
    result = dbt_env.invoke("parse")
    assert result.success, result.exception
    manifest = json.loads((dbt_env.root / "target" / "manifest.json").read_text())
    sources = {(s["source_name"], s["name"]) for s in manifest["sources"].values()}
    assert sources == {
        ("bronze", "daily_activity"),
        ("bronze", "sleep"),
        ("bronze", "output_port_query_stats_daily"),
        ("bronze", "tech_asset_stats_daily"),
    }
    models = {n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    assert models == MODELS


def test_build_succeeds_with_every_model_and_unit_test(
    built_env: tuple[DbtEnv, dbtRunnerResult],
) -> None:
    _, result = built_env
    assert result.success, result.exception
    assert model_statuses(result) == dict.fromkeys(MODELS, "success")
    unit_tests = {
        unique_id: status
        for unique_id, (kind, status, _) in statuses(result).items()
        if kind == "unit_test"
    }
    assert len(unit_tests) >= 6
    assert set(unit_tests.values()) == {"pass"}
    failing = {
        uid: s for uid, (kind, s, _) in statuses(result).items() if s not in ("pass", "success")
    }
    assert failing == {}


def test_marts_answer_the_questions(built_env: tuple[DbtEnv, dbtRunnerResult]) -> None:
    env, result = built_env
    assert result.success
    # Which users have the most unusual days? (the generator injects very high/low days)
    top_users = env.query(
        """
        select user_id, count(distinct activity_date) as flagged_days
        from marts.user_deviations
        where is_flagged
        group by user_id
        order by flagged_days desc
        limit 3
        """
    )
    assert len(top_users) == 3 and top_users[0][1] >= top_users[2][1] > 0
    # Unusually high step days are found for the injected extremes.
    [(above,)] = env.query(
        "select count(*) from marts.user_deviations "
        "where metric = 'steps' and deviation_direction = 'above' and z_score > 4"
    )
    assert above > 0

    # Every output port has a most popular asset.
    ports = {
        row[0]
        for row in env.query("select distinct output_port_id from marts.usage_popular_assets")
    }
    top_assets = env.query(
        "select output_port_id, count(*) from marts.usage_popular_assets "
        "where popularity_rank = 1 group by 1"
    )
    assert len(ports) == 4
    assert {port for port, _ in top_assets} == ports

    # Queries over time: every grain adds up to the same total, which the touches exceed
    # (queries joining several assets count once as queries, once per asset as touches).
    per_grain = dict(
        env.query(
            "select period_grain, sum(query_count) from marts.usage_queries_over_time group by 1"
        )
    )
    source_queries = pd.read_csv(SAMPLE_DATA / "usage/output_port_query_stats_daily.csv")
    source_touches = pd.read_csv(SAMPLE_DATA / "usage/tech_asset_stats_daily.csv")
    assert per_grain == dict.fromkeys(("day", "week", "month"), source_queries.query_count.sum())
    [(touches,)] = env.query(
        "select sum(touch_count) from marts.usage_popular_assets where window_name = 'all_time'"
    )
    assert touches == source_touches.query_count.sum() > per_grain["day"]

    # Query distribution: a port's consumer shares sum to 1 in each window.
    shares = env.query(
        "select output_port_id, window_name, sum(share_of_port_queries) "
        "from marts.usage_query_distribution group by 1, 2"
    )
    assert len(shares) == 8
    assert all(abs(total - 1) < 1e-9 for _, _, total in shares)


def _negative_steps(frame: pd.DataFrame) -> pd.DataFrame:
    frame.loc[0, "total_steps"] = -120
    return frame


def _null_id(frame: pd.DataFrame) -> pd.DataFrame:
    frame["id"] = frame["id"].astype("Int64")  # nullable, so Arrow writes a real NULL
    frame.loc[[0, 1], "id"] = pd.NA
    return frame


def _duplicate_day(frame: pd.DataFrame) -> pd.DataFrame:
    duplicate = frame.iloc[[5]].assign(total_steps=1)
    return pd.concat([frame, duplicate], ignore_index=True)


@pytest.mark.parametrize(
    ("corrupt", "failing_test", "failures"),
    [
        (_negative_steps, "source_non_negative_bronze_daily_activity_total_steps", 1),
        (_null_id, "source_not_null_bronze_daily_activity_id", 2),
        (
            _duplicate_day,
            "source_unique_combination_of_columns_bronze_daily_activity_id__activity_date",
            1,
        ),
    ],
    ids=["negative_steps", "null_id", "duplicate_day"],
)
def test_bad_bronze_rows_fail_the_source_test_and_skip_the_marts(
    dbt_env: DbtEnv, corrupt, failing_test: str, failures: int
) -> None:
    frame = corrupt(bronze_frame(SAMPLE_DATA / "wearable/daily_activity.csv"))
    write_table(dbt_env.catalog, "daily_activity", frame)

    # The same graph Dagster builds when bronze/daily_activity changes.
    result = dbt_env.invoke("build", "--select", "source:bronze.daily_activity+")

    assert not result.success
    by_name = {uid.split(".")[2]: (status, n) for uid, (_, status, n) in statuses(result).items()}
    assert by_name[failing_test] == ("fail", failures)
    # Every other source test passed: the failure is attributed to the right check.
    other_source_tests = {
        name: status
        for name, (status, _) in by_name.items()
        if name.startswith("source_") and name != failing_test
    }
    assert set(other_source_tests.values()) == {"pass"}
    # Nothing downstream of the bad table was built.
    models = model_statuses(result)
    assert {models[name] for name in WEARABLE_ACTIVITY_DOWNSTREAM} == {"skipped"}
    assert env_has_no_table(dbt_env, "marts", "user_deviations")


def env_has_no_table(env: DbtEnv, schema: str, table: str) -> bool:
    rows = env.query(
        "select count(*) from information_schema.tables "
        f"where table_schema = '{schema}' and table_name = '{table}'"
    )
    return rows == [(0,)]


def test_sleep_without_activity_day_and_day_without_sleep(dbt_env: DbtEnv) -> None:
    # A day without a sleep record keeps its activity with NULL sleep. (With the marts that
    # read it: a mart is not published without them, docs/marts.md "Publishing".)
    result = dbt_env.invoke("build", "--select", "+user_daily_health+")
    assert result.success, result.exception
    [(days, with_sleep, activity_rows, sleep_rows)] = dbt_env.query(
        """
        select
            count(*),
            count(minutes_asleep),
            (select count(*) from staging.stg_wearable__daily_activity),
            (select count(*) from staging.stg_wearable__sleep)
        from marts.user_daily_health
        """
    )
    assert days == activity_rows
    assert with_sleep == sleep_rows < days


def test_missing_bronze_table_fails_the_run(dbt_env: DbtEnv) -> None:
    dbt_env.catalog.drop_table("bronze.sleep")

    result = dbt_env.invoke("build")

    assert not result.success
    # The on-run-start hook loads bronze and fails first, naming the missing table.
    messages = " ".join(
        str(getattr(r, "message", "")) for r in (result.result.results if result.result else [])
    ) + str(result.exception or "")
    assert "bronze.sleep" in messages
    assert env_has_no_table(dbt_env, "marts", "user_deviations")


def test_staging_keeps_the_latest_load_of_a_duplicated_day(dbt_env: DbtEnv) -> None:
    # If the duplicate-key source test is ever downgraded, staging still holds its grain and
    # the most recent load wins. Build staging only, with source tests excluded.
    frame = bronze_frame(SAMPLE_DATA / "wearable/daily_activity.csv")
    newer = frame.iloc[[0]].assign(_dlt_load_id="1793491200.9", total_steps=4242)
    write_table(dbt_env.catalog, "daily_activity", pd.concat([frame, newer], ignore_index=True))

    result = dbt_env.invoke("run", "--select", "stg_wearable__daily_activity")

    assert result.success, result.exception
    user_id = int(frame.loc[0, "id"])
    rows = dbt_env.query(
        "select steps, load_id from staging.stg_wearable__daily_activity "
        f"where user_id = {user_id} and activity_date = "
        f"strptime('{frame.loc[0, 'activity_date']}', '%m/%d/%Y')::date"
    )
    assert rows == [(4242, "1793491200.9")]
