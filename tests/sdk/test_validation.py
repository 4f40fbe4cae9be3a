"""Local validation: the API's rules, each problem named by row and field, nothing sent."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest
from data_portal_sdk import AssetStat, QueryStat, ValidationError

from tests.sdk.fakes import ALICE, BOB, PORT, TABLE_A, FakeAPI, days_ago, make_client

pytestmark = pytest.mark.unit

DAY = days_ago(1).isoformat()
# relative to DAY, not to the clock: a run that crosses midnight UTC keeps them apart
DAY_BEFORE = (dt.date.fromisoformat(DAY) - dt.timedelta(days=1)).isoformat()


def q(**overrides: Any) -> dict[str, Any]:
    return {"date": DAY, "consumer_id": ALICE, "query_count": 3, **overrides}


def a(**overrides: Any) -> dict[str, Any]:
    return {"date": DAY, "tech_asset_id": TABLE_A, "consumer_id": ALICE, "query_count": 2,
            **overrides}  # fmt: skip


def problems(query_stats: Any, asset_stats: Any = ()) -> list[tuple[tuple[str | int, ...], str]]:
    api = FakeAPI()
    with make_client(api) as client, pytest.raises(ValidationError) as caught:
        client.push_usage_stats(PORT, query_stats, asset_stats)
    assert api.requests == [], "nothing may be sent when the push is invalid"
    return [(d.loc, d.type) for d in caught.value.details]


# two days ahead: still after today when the run crosses midnight UTC after collection
TOMORROW = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=2)).isoformat()


@pytest.mark.parametrize(
    ("query_stats", "asset_stats", "expected"),
    [
        ([q(query_count=-1)], [], [(("query_stats", 0, "query_count"), "greater_than_equal")]),
        ([q(query_count=1.5)], [], [(("query_stats", 0, "query_count"), "int_type")]),
        ([q(query_count="12")], [], [(("query_stats", 0, "query_count"), "int_type")]),
        ([q(query_count=True)], [], [(("query_stats", 0, "query_count"), "int_type")]),
        ([q()], [a(query_count=Decimal(2))], [(("asset_stats", 0, "query_count"), "int_type")]),
        ([q(date=TOMORROW)], [], [(("query_stats", 0, "date"), "date_in_future")]),
        ([q(date="30/11/2026")], [], [(("query_stats", 0, "date"), "date_type")]),
        ([q(date="2026-02-30")], [], [(("query_stats", 0, "date"), "date_type")]),
        ([q(date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))], [],
         [(("query_stats", 0, "date"), "date_type")]),
        ([q(consumer_id="alice")], [], [(("query_stats", 0, "consumer_id"), "uuid_type")]),
        ([q()], [a(tech_asset_id=42)], [(("asset_stats", 0, "tech_asset_id"), "uuid_type")]),
        ([q(extra=1)], [], [(("query_stats", 0, "extra"), "extra_forbidden")]),
        ([{"date": DAY, "query_count": 1}], [], [(("query_stats", 0, "consumer_id"), "missing")]),
        ([q(), q(query_count=5)], [], [(("query_stats", 1, "consumer_id"), "duplicate")]),
        ([q()], [a(), a(query_count=1)], [(("asset_stats", 1, "consumer_id"), "duplicate")]),
        ([q()], [a(consumer_id=BOB)], [(("asset_stats", 0, "consumer_id"), "missing_query_stat")]),
        ([q()], [a(date=DAY_BEFORE)],
         [(("asset_stats", 0, "consumer_id"), "missing_query_stat")]),
        ([], [], [(("query_stats",), "too_short")]),
        ("not rows", [], [(("query_stats",), "list_type")]),
        ([q()], [q()], [(("asset_stats", 0, "tech_asset_id"), "missing")]),
        ([AssetStat(DAY, TABLE_A, ALICE, 1)], [],  # type: ignore[arg-type]
         [(("query_stats", 0), "model_type")]),
    ],
)  # fmt: skip
def test_each_rule_names_the_row_and_field(
    query_stats: Any, asset_stats: Any, expected: list[tuple[tuple[str | int, ...], str]]
) -> None:
    assert problems(query_stats, asset_stats) == expected


def test_all_problems_are_reported_at_once_in_the_message() -> None:
    with make_client(FakeAPI()) as client, pytest.raises(ValidationError) as caught:
        client.push_usage_stats(
            PORT,
            [q(query_count=-1), q(consumer_id=BOB, date=TOMORROW)],
            [a(tech_asset_id="nope")],
        )
    message = str(caught.value)
    assert message.startswith("invalid usage push (3 problems):")
    assert "query_stats[0].query_count: must be >= 0, got -1" in message
    assert f"query_stats[1].date: {TOMORROW} is after today" in message
    assert "asset_stats[0].tech_asset_id: must be a UUID, got 'nope'" in message


def test_today_and_typed_records_are_accepted() -> None:
    today = dt.datetime.now(dt.UTC).date()
    api = FakeAPI()
    with make_client(api) as client:
        result = client.push_usage_stats(
            PORT,
            [QueryStat(today, uuid.UUID(ALICE), 0)],
            [AssetStat(today, uuid.UUID(TABLE_A), ALICE, 0)],
        )
    assert result.dates == (today,)


def test_an_asset_row_needs_the_query_row_of_its_own_day_and_consumer() -> None:
    # Same consumer, other day: not a match (the per-(date, consumer) rule).
    assert problems([q(date=DAY_BEFORE)], [a()]) == [
        (("asset_stats", 0, "consumer_id"), "missing_query_stat")
    ]
