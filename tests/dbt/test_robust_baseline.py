"""An outlier does not hide the anomalies after it (issue 7, item 14).

With a mean/stddev baseline, one 30,000-step day inflated the next 28 days' spread: a 500-step
day two days later had z = -1.83 and was not flagged. The baseline is now the median and the
median absolute deviation (MAD), which one extreme day barely moves.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from tests.dbt.bronze import bronze_frame, write_table
from tests.dbt.conftest import SAMPLE_DATA, DbtEnv

pytestmark = pytest.mark.integration

USER = 4242424242
FIRST_DAY = date(2026, 9, 1)
# 14 ordinary days (8,000 .. 10,000 steps), then the outlier, an ordinary day, and a 500-step day.
STEPS = [8000 + (i % 5) * 500 for i in range(14)] + [30000, 8500, 500]


def _fitbit(day: date) -> str:
    return f"{day.month}/{day.day}/{day.year}"


def _user_with_an_outlier(frame: pd.DataFrame) -> pd.DataFrame:
    template = frame.iloc[0]
    rows = [
        template.to_dict()
        | {
            "id": USER,
            "activity_date": _fitbit(FIRST_DAY + timedelta(days=offset)),
            "total_steps": steps,
        }
        for offset, steps in enumerate(STEPS)
    ]
    return pd.concat([frame, pd.DataFrame(rows)], ignore_index=True)


def test_a_low_day_after_an_outlier_is_still_flagged(dbt_env: DbtEnv) -> None:
    frame = _user_with_an_outlier(bronze_frame(SAMPLE_DATA / "wearable/daily_activity.csv"))
    write_table(dbt_env.catalog, "daily_activity", frame)

    result = dbt_env.invoke("build", "--select", "+user_deviations")

    assert result.success, result.exception
    low_day = FIRST_DAY + timedelta(days=len(STEPS) - 1)
    [(value, baseline_days, z_score, is_flagged, direction)] = dbt_env.query(
        "select metric_value, baseline_days, z_score, is_flagged, deviation_direction "
        "from marts.user_deviations "
        f"where user_id = {USER} and metric = 'steps' and activity_date = date '{low_day}'"
    )
    assert (value, baseline_days) == (500, 16)
    # median 9,000 and MAD 500 over the 16 days before: z = (500 - 9000) / (1.4826 * 500)
    assert z_score == pytest.approx(-11.466, abs=1e-3)
    assert (is_flagged, direction) == (True, "below")
    # The ordinary day right after the outlier is not flagged either way.
    [(ordinary_flagged,)] = dbt_env.query(
        "select is_flagged from marts.user_deviations "
        f"where user_id = {USER} and metric = 'steps' "
        f"and activity_date = date '{low_day - timedelta(days=1)}'"
    )
    assert ordinary_flagged is False
