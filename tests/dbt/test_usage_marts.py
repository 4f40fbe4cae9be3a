"""The usage marts built from a small hand-made bronze, against hand-computed expectations.

The dbt unit tests (dbt/models/marts/usage/_usage__unit_tests.yml) pin each rule on a mart's
SQL alone; this builds bronze -> staging -> marts -> publish with `dbt build` and reads the
published marts, as a chart reader would (docs/marts.md, "Usage marts"). Dates are UTC days.

The data: port P reports 10-01, 10-02 and 10-31 (nothing on 10-03..10-30); port Q reports
08-20, 09-01 and 09-30, then its producer stops. Consumer c3 of P only has 0-count rows; c2 of
P has a 0-count row on 10-02. On 10-31 c2 runs two queries on P: one joins assets A and B, one
reads B only.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from tests.dbt.bronze import LOAD_ID, write_table
from tests.dbt.conftest import DbtEnv, make_dbt_env

pytestmark = pytest.mark.integration

P, Q = "port-p", "port-q"
USAGE_MARTS = "+usage_queries_over_time +usage_query_distribution +usage_popular_assets"

# bronze.output_port_query_stats_daily: (date, output_port_id, consumer_id, query_count)
QUERY_STATS = [
    ("2026-10-01", P, "c1", 4),
    ("2026-10-02", P, "c1", 1),
    ("2026-10-02", P, "c2", 0),
    ("2026-10-31", P, "c1", 2),
    ("2026-10-31", P, "c2", 2),
    ("2026-10-31", P, "c3", 0),
    ("2026-08-20", Q, "c1", 3),
    ("2026-09-01", Q, "c1", 5),
    ("2026-09-30", Q, "c4", 1),
]
# bronze.tech_asset_stats_daily: (date, output_port_id, tech_asset_id, consumer_id, query_count)
ASSET_STATS = [
    ("2026-10-01", P, "A", "c1", 4),
    ("2026-10-02", P, "A", "c1", 1),
    ("2026-10-02", P, "B", "c1", 0),
    ("2026-10-31", P, "A", "c1", 2),
    ("2026-10-31", P, "A", "c2", 1),
    ("2026-10-31", P, "B", "c2", 2),
    ("2026-10-31", P, "C", "c3", 0),
    ("2026-08-20", Q, "D", "c1", 3),
    ("2026-09-01", Q, "D", "c1", 5),
    ("2026-09-30", Q, "D", "c4", 1),
    ("2026-09-30", Q, "E", "c4", 1),
]


def _bronze(rows: list[tuple], columns: list[str]) -> pd.DataFrame:
    # As the dlt plugin lands them: ISO date strings and the load id column.
    return pd.DataFrame(rows, columns=columns).assign(_dlt_load_id=LOAD_ID)


@pytest.fixture(scope="module")
def usage_env(tmp_path_factory: pytest.TempPathFactory) -> DbtEnv:
    env = make_dbt_env(Path(tmp_path_factory.mktemp("usage_marts")), load_samples=False)
    write_table(
        env.catalog,
        "output_port_query_stats_daily",
        _bronze(QUERY_STATS, ["date", "output_port_id", "consumer_id", "query_count"]),
    )
    write_table(
        env.catalog,
        "tech_asset_stats_daily",
        _bronze(
            ASSET_STATS, ["date", "output_port_id", "tech_asset_id", "consumer_id", "query_count"]
        ),
    )
    result = env.invoke("build", "--select", *USAGE_MARTS.split())
    assert result.success, result.exception
    return env


def test_queries_over_time_tells_no_push_from_zero_queries(usage_env: DbtEnv) -> None:
    rows = {
        (port, grain, start): (queries, reported, active)
        for port, grain, start, queries, reported, active in usage_env.query(
            "select output_port_id, period_grain, period_start, query_count, days_reported, "
            "active_consumers from marts.usage_queries_over_time"
        )
    }
    # Every port on every day of the data's range (08-20..10-31): 73 days, 11 weeks, 3 months.
    assert len(rows) == 2 * (73 + 11 + 3)
    day = {(port, start): rows[port, "day", start] for port, grain, start in rows if grain == "day"}
    assert day[P, date(2026, 10, 1)] == (4, 1, 1)
    assert day[P, date(2026, 10, 2)] == (1, 1, 1)  # c2's 0-count row: reported, not active
    assert day[P, date(2026, 10, 3)] == (None, 0, 0)  # no push is not 0 queries
    assert day[P, date(2026, 10, 31)] == (4, 1, 2)  # c3's 0-count row: not active
    assert day[Q, date(2026, 9, 30)] == (1, 1, 1)
    assert day[Q, date(2026, 10, 1)] == (None, 0, 0)  # Q's producer stopped
    weeks = {
        (port, start): rows[port, "week", start] for port, grain, start in rows if grain == "week"
    }
    assert weeks[P, date(2026, 9, 28)] == (5, 2, 1)  # Mon 09-28..Sun 10-04
    assert weeks[Q, date(2026, 9, 28)] == (1, 1, 1)
    assert weeks[P, date(2026, 10, 26)] == (4, 1, 2)
    assert weeks[Q, date(2026, 10, 26)] == (None, 0, 0)
    months = {
        (port, start): rows[port, "month", start] for port, grain, start in rows if grain == "month"
    }
    assert months == {
        (P, date(2026, 8, 1)): (None, 0, 0),
        (P, date(2026, 9, 1)): (None, 0, 0),
        (P, date(2026, 10, 1)): (9, 3, 2),
        (Q, date(2026, 8, 1)): (3, 1, 1),
        (Q, date(2026, 9, 1)): (6, 2, 2),
        (Q, date(2026, 10, 1)): (None, 0, 0),
    }


def test_query_distribution_per_port_windows_without_zero_consumers(usage_env: DbtEnv) -> None:
    rows = usage_env.query(
        "select output_port_id, window_name, window_start, window_end, consumer_id, query_count, "
        "port_query_count, share_of_port_queries, consumer_rank "
        "from marts.usage_query_distribution order by 1, 2, 5"
    )
    october_30 = (date(2026, 10, 2), date(2026, 10, 31))
    september_30 = (date(2026, 9, 1), date(2026, 9, 30))
    assert rows == [
        (P, "all_time", date(2026, 10, 1), date(2026, 10, 31), "c1", 7, 9, pytest.approx(7 / 9), 1),
        (P, "all_time", date(2026, 10, 1), date(2026, 10, 31), "c2", 2, 9, pytest.approx(2 / 9), 2),
        (P, "last_30_days", *october_30, "c1", 3, 5, pytest.approx(0.6), 1),
        (P, "last_30_days", *october_30, "c2", 2, 5, pytest.approx(0.4), 2),
        (Q, "all_time", date(2026, 8, 20), date(2026, 9, 30), "c1", 8, 9, pytest.approx(8 / 9), 1),
        (Q, "all_time", date(2026, 8, 20), date(2026, 9, 30), "c4", 1, 9, pytest.approx(1 / 9), 2),
        # Q's last 30 days end on Q's own latest day, not on P's: its chart is not empty.
        (Q, "last_30_days", *september_30, "c1", 5, 6, pytest.approx(5 / 6), 1),
        (Q, "last_30_days", *september_30, "c4", 1, 6, pytest.approx(1 / 6), 2),
    ]


def test_popular_assets_windows_and_share_of_port_queries(usage_env: DbtEnv) -> None:
    rows = usage_env.query(
        "select output_port_id, window_name, tech_asset_id, touch_count, distinct_consumers, "
        "first_touched_on, last_touched_on, port_query_count, share_of_port_queries, "
        "popularity_rank from marts.usage_popular_assets order by 1, 2, 3"
    )
    oct1, oct2, oct31 = date(2026, 10, 1), date(2026, 10, 2), date(2026, 10, 31)
    aug20, sep1, sep30 = date(2026, 8, 20), date(2026, 9, 1), date(2026, 9, 30)
    # Asset C (only 0-count rows) is absent; B's 0-count row on 10-02 dates no touch.
    assert rows == [
        (P, "all_time", "A", 8, 2, oct1, oct31, 9, pytest.approx(8 / 9), 1),
        (P, "all_time", "B", 2, 1, oct31, oct31, 9, pytest.approx(2 / 9), 2),
        (P, "last_30_days", "A", 4, 2, oct2, oct31, 5, pytest.approx(0.8), 1),
        (P, "last_30_days", "B", 2, 1, oct31, oct31, 5, pytest.approx(0.4), 2),
        (Q, "all_time", "D", 9, 2, aug20, sep30, 9, pytest.approx(1.0), 1),
        (Q, "all_time", "E", 1, 1, sep30, sep30, 9, pytest.approx(1 / 9), 2),
        (Q, "last_30_days", "D", 6, 2, sep1, sep30, 6, pytest.approx(1.0), 1),
        (Q, "last_30_days", "E", 1, 1, sep30, sep30, 6, pytest.approx(1 / 6), 2),
    ]
