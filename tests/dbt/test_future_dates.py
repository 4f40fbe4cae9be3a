"""A date after today (UTC) never reaches a published mart (issue 7, item 12, dbt side).

One 2030 usage row used to move `last_30_days` to 2029 (emptying every port's chart) and a
future wearable day was accepted too. Now the source test `not_in_future` fails loudly on the
bronze table, and staging drops such rows in case the source tests do not run.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
import pytest

from tests.dbt.bronze import bronze_frame, write_table
from tests.dbt.conftest import SAMPLE_DATA, DbtEnv
from tests.dbt.test_dbt_project import model_statuses, statuses

pytestmark = pytest.mark.integration

LAST_SAMPLE_DAY = date(2026, 10, 31)
FUTURE_USAGE_DAY = "2099-01-01"  # after today in every time zone
FUTURE_WEARABLE_DAY = "1/1/2099"


def _add_future_rows(env: DbtEnv) -> None:
    usage = bronze_frame(SAMPLE_DATA / "usage/output_port_query_stats_daily.csv")
    write_table(
        env.catalog,
        "output_port_query_stats_daily",
        pd.concat([usage, usage.iloc[[0]].assign(date=FUTURE_USAGE_DAY)], ignore_index=True),
    )
    activity = bronze_frame(SAMPLE_DATA / "wearable/daily_activity.csv")
    write_table(
        env.catalog,
        "daily_activity",
        pd.concat(
            [activity, activity.iloc[[0]].assign(activity_date=FUTURE_WEARABLE_DAY)],
            ignore_index=True,
        ),
    )


def latest_published_dates(env: DbtEnv) -> dict[str, date]:
    [(window_end, last_query_day, last_health_day, last_deviation_day)] = env.query(
        """
        select
            (select max(window_end) from marts.usage_query_distribution
             where window_name = 'last_30_days'),
            (select max(period_start) from marts.usage_queries_over_time),
            (select max(activity_date) from marts.user_daily_health),
            (select max(activity_date) from marts.user_deviations)
        """
    )
    return {
        "last_30_days_end": window_end,
        "queries_over_time": last_query_day,
        "user_daily_health": last_health_day,
        "user_deviations": last_deviation_day,
    }


def test_a_future_bronze_date_fails_its_source_test_and_is_not_published(
    dbt_env: DbtEnv,
) -> None:
    first = dbt_env.invoke("build")
    assert first.success, first.exception
    _add_future_rows(dbt_env)

    result = dbt_env.invoke("build")

    assert not result.success
    by_name = {uid.split(".")[2]: (status, n) for uid, (_, status, n) in statuses(result).items()}
    assert by_name["source_not_in_future_bronze_output_port_query_stats_daily_date"] == ("fail", 1)
    assert by_name["source_not_in_future_bronze_daily_activity_activity_date"] == ("fail", 1)
    assert by_name["source_not_in_future_bronze_sleep_sleep_day"] == ("pass", 0)
    models = model_statuses(result)
    assert models["usage_query_distribution"] == models["user_daily_health"] == "skipped"
    # The published marts keep their previous rows: the chart still ends on the data's last day.
    assert set(latest_published_dates(dbt_env).values()) == {LAST_SAMPLE_DAY}


def test_staging_drops_future_dates_when_the_source_tests_do_not_run(dbt_env: DbtEnv) -> None:
    _add_future_rows(dbt_env)

    # Models and their tests only (the source tests' parent, the source, is not selected).
    result = dbt_env.invoke("build", "--select", "resource_type:model")

    assert result.success, result.exception
    assert not any(uid.startswith("test.floe.source_") for uid in statuses(result))
    today = datetime.now(UTC).date()
    [(future_usage, future_activity)] = dbt_env.query(
        f"""
        select
            (select count(*) from staging.stg_usage__output_port_query_stats_daily
             where usage_date > date '{today}'),
            (select count(*) from staging.stg_wearable__daily_activity
             where activity_date > date '{today}')
        """
    )
    assert (future_usage, future_activity) == (0, 0)
    assert set(latest_published_dates(dbt_env).values()) == {LAST_SAMPLE_DAY}
