"""The chart endpoints on hand-computed data: the join scenario, periods, ranks, defaults."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.api.conftest import Api
from tests.api.data import a, body, q, uid

pytestmark = pytest.mark.integration

PORT = uid("charts-port")
OTHER = uid("charts-other")
# A fixed past: Monday 2026-06-01 .. Sunday 2026-06-14 (two ISO weeks), and May 31.
MON = date(2026, 6, 1)


def d(offset: int) -> date:
    return MON + timedelta(days=offset)


@pytest.fixture
def token(api: Api) -> str:
    token = api.key(PORT, OTHER)
    pushed = body(
        [
            q(d(-1), "alice", 4),  # Sunday May 31
            q(d(0), "alice", 3),
            q(d(0), "bob", 2),
            q(d(0), "zero", 0),  # all-zero consumer: absent from distributions
            q(d(2), "bob", 5),
            q(d(9), "carol", 2),  # week 2
            q(d(9), "zero", 0),
        ],
        [
            # One query of alice on day 0 joined orders and items: one query, two touches.
            a(d(0), "orders", "alice", 3),
            a(d(0), "items", "alice", 1),
            a(d(0), "orders", "bob", 2),
            a(d(2), "items", "bob", 5),
            a(d(9), "orders", "carol", 2),
            a(d(0), "unused", "zero", 0),
        ],
    )
    assert api.push(token, PORT, pushed).status_code == 202
    # Another port's later day must not move this port's default window.
    assert api.push(token, OTHER, body([q(d(12), "alice", 100)])).status_code == 202
    return token


def test_queries_over_time_by_day(api: Api, token: str) -> None:
    response = api.get(token, PORT, "queries-over-time", start=d(-1), end=d(3))
    assert response.status_code == 200
    answer = response.json()
    assert (answer["start"], answer["end"], answer["granularity"]) == (
        d(-1).isoformat(),
        d(3).isoformat(),
        "day",
    )
    assert [
        (p["period_start"], p["query_count"], p["days_reported"], p["active_consumers"])
        for p in answer["points"]
    ] == [
        (d(-1).isoformat(), 4, 1, 1),
        (d(0).isoformat(), 5, 1, 2),  # "zero" reported 0: not active
        (d(1).isoformat(), None, 0, 0),  # no push is not 0 queries
        (d(2).isoformat(), 5, 1, 1),
        (d(3).isoformat(), None, 0, 0),
    ]


def test_queries_over_time_by_week_and_month(api: Api, token: str) -> None:
    weeks = api.get(
        token, PORT, "queries-over-time", start=d(-1), end=d(13), granularity="week"
    ).json()["points"]
    assert weeks == [
        {
            "period_start": "2026-05-25",
            "period_end": "2026-05-31",
            "query_count": 4,
            "days_reported": 1,
            "active_consumers": 1,
        },
        {
            "period_start": "2026-06-01",
            "period_end": "2026-06-07",
            "query_count": 10,
            "days_reported": 2,
            "active_consumers": 2,  # alice and bob, each counted once in the week
        },
        {
            "period_start": "2026-06-08",
            "period_end": "2026-06-14",
            "query_count": 2,
            "days_reported": 1,
            "active_consumers": 1,
        },
    ]
    months = api.get(
        token, PORT, "queries-over-time", start=d(-1), end=d(13), granularity="month"
    ).json()["points"]
    assert [(p["period_start"], p["period_end"], p["query_count"]) for p in months] == [
        ("2026-05-01", "2026-05-31", 4),
        ("2026-06-01", "2026-06-30", 12),
    ]
    assert [p["active_consumers"] for p in months] == [1, 3]


def test_the_default_window_ends_on_this_ports_latest_day(api: Api, token: str) -> None:
    answer = api.get(token, PORT, "queries-over-time").json()
    assert answer["end"] == d(9).isoformat()
    assert answer["start"] == (d(9) - timedelta(days=29)).isoformat()
    assert len(answer["points"]) == 30


def test_query_distribution(api: Api, token: str) -> None:
    answer = api.get(token, PORT, "query-distribution", start=d(-1), end=d(13), top=2).json()
    assert answer["total_queries"] == 16
    assert answer["consumers"] == [
        {"consumer_id": str(uid("alice")), "query_count": 7, "share": 7 / 16, "rank": 1},
        {"consumer_id": str(uid("bob")), "query_count": 7, "share": 7 / 16, "rank": 1},
    ]  # a tie: the same rank, ordered by id
    assert str(uid("alice")) < str(uid("bob"))
    assert answer["other"] == {"consumers": 1, "query_count": 2, "share": 2 / 16}
    everyone = api.get(token, PORT, "query-distribution", start=d(-1), end=d(13)).json()
    assert [c["rank"] for c in everyone["consumers"]] == [1, 1, 3]  # as SQL rank()
    assert str(uid("zero")) not in {c["consumer_id"] for c in everyone["consumers"]}
    assert everyone["other"] == {"consumers": 0, "query_count": 0, "share": 0.0}


def test_popular_assets(api: Api, token: str) -> None:
    answer = api.get(token, PORT, "popular-assets", start=d(0), end=d(13)).json()
    assert answer["total_queries"] == 12
    assert answer["assets"] == [
        {
            "tech_asset_id": str(uid("orders")),
            "query_count": 7,
            "consumers": 3,
            "share_of_port_queries": 7 / 12,
            "rank": 1,
        },
        {
            "tech_asset_id": str(uid("items")),
            "query_count": 6,
            "consumers": 2,
            "share_of_port_queries": 6 / 12,
            "rank": 2,
        },
    ]  # "unused" has no touches: absent
    limited = api.get(token, PORT, "popular-assets", start=d(0), end=d(13), limit=1).json()
    assert [asset["tech_asset_id"] for asset in limited["assets"]] == [str(uid("orders"))]


def test_a_port_without_data_has_an_empty_window_ending_today(api: Api) -> None:
    token = api.key(uid("empty-port"))
    answer = api.get(token, uid("empty-port"), "query-distribution").json()
    assert answer["total_queries"] == 0
    assert answer["consumers"] == []


@pytest.mark.parametrize(
    "params",
    [
        {"start": "2026-06-10", "end": "2026-06-01"},
        {"start": "1900-01-01", "end": "2026-06-01"},
        {"granularity": "year"},
        {"start": "yesterday"},
        {"end": "0"},  # not a Unix timestamp: dates are YYYY-MM-DD text
    ],
)
def test_bad_windows_are_422(api: Api, token: str, params: dict[str, str]) -> None:
    response = api.get(token, PORT, "queries-over-time", **params)
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["loc"][0] == "query"


@pytest.mark.parametrize("end", ["0001-01-01", "9999-12-31"])
def test_windows_at_the_ends_of_the_calendar(api: Api, token: str, end: str) -> None:
    for granularity in ("day", "week", "month"):
        response = api.get(token, PORT, "queries-over-time", end=end, granularity=granularity)
        assert response.status_code == 200, response.text
        assert response.json()["points"][-1]["period_end"] >= end or granularity == "day"


def test_an_unknown_query_parameter_is_refused(api: Api, token: str) -> None:
    """A typo is a 422 naming it, not a silently ignored parameter (Schemathesis found it)."""
    response = api.get(token, PORT, "queries-over-time", granularty="week")
    assert response.status_code == 422
    (detail,) = response.json()["error"]["details"]
    assert detail["loc"] == ["query", "granularty"]
    assert "granularity" in detail["msg"]  # the known ones are listed
