"""The chart endpoints and the usage marts give the same numbers on the same data.

Days are pushed through the API (the real app, ``TestClient``, on SQLite and on the local
PostgreSQL), ingested into bronze by the ``usage_pushes`` sensor's runs, and the usage marts
are built from that bronze with ``dbt build``. Then every number of every mart row is
compared with the endpoint answering the same question over the same window:

* queries over time: each port, each grain, over whole periods (first period start to last
  period end of the mart);
* query distribution: the mart's ``last_30_days`` and ``all_time`` windows, top 3 + other;
* popular assets: both windows, and the API's default window is the mart's ``last_30_days``.

Ranks and a share whose denominator is 0 are compared in tests of their own: the marts' are
the definition (``rank()``: ties share a rank and the next rank skips, 1, 1, 3; a share of
0 queries is NULL, "no data", not 0).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import dagster as dg
import pytest
from fastapi.testclient import TestClient

from platform_defs.api import Settings, create_app
from platform_defs.ops.usage import create_api_key
from platform_defs.transform.profiles import write_profiles
from tests.dbt.conftest import DbtEnv
from tests.ops.conftest import OpsTarget, _drop_schema, unique_schema
from tests.usage.conftest import UsagePlatform, make_platform

pytestmark = pytest.mark.integration

USAGE_MARTS = ["+usage_queries_over_time", "+usage_query_distribution", "+usage_popular_assets"]
TOP = 3


def _id(kind: str, number: int) -> str:
    return str(uuid.UUID(f"00000000-0000-4000-8000-{kind}{number:011d}"))


P, Q, R = _id("a", 1), _id("a", 2), _id("a", 3)
C = [_id("c", n) for n in range(6)]
T = [_id("f", n) for n in range(5)]


def _days(first: date, last: date, skip: set[date] = frozenset()) -> list[date]:  # type: ignore[assignment]
    return [
        first + timedelta(days=n)
        for n in range((last - first).days + 1)
        if first + timedelta(days=n) not in skip
    ]


def _p_day(day: date, bump: int = 0) -> dict[str, Any]:
    """Port P: c0 and c1 query alike every day (a tie at rank 1), c2 less, c3 rarely, c4
    only 0-count rows; T0 and T1 are touched alike (a tie), T2 less, T3 only 0 touches."""
    n = day.toordinal() % 5
    counts = {C[0]: 3 + n + bump, C[1]: 3 + n + bump, C[2]: 1 + n % 2, C[3]: n // 4, C[4]: 0}
    query = [{"date": str(day), "consumer_id": c, "query_count": k} for c, k in counts.items()]
    asset = []
    for consumer in C[:3]:
        touches = counts[consumer]
        asset += [
            {
                "date": str(day),
                "tech_asset_id": T[0],
                "consumer_id": consumer,
                "query_count": touches,
            },
            {
                "date": str(day),
                "tech_asset_id": T[1],
                "consumer_id": consumer,
                "query_count": touches,
            },
        ]
    asset.append({"date": str(day), "tech_asset_id": T[2], "consumer_id": C[2], "query_count": 1})
    asset.append({"date": str(day), "tech_asset_id": T[3], "consumer_id": C[4], "query_count": 0})
    return {"query_stats": query, "asset_stats": asset}


def _q_day(day: date) -> dict[str, Any]:
    """Port Q: its producer stops on 2026-08-31."""
    n = day.toordinal() % 3
    return {
        "query_stats": [
            {"date": str(day), "consumer_id": C[0], "query_count": 1 + n},
            {"date": str(day), "consumer_id": C[5], "query_count": 2},
        ],
        "asset_stats": [
            {"date": str(day), "tech_asset_id": T[4], "consumer_id": C[0], "query_count": 1 + n},
            {"date": str(day), "tech_asset_id": T[0], "consumer_id": C[5], "query_count": 1},
        ],
    }


def _r_day(day: date) -> dict[str, Any]:
    """Port R: touches, but 0 queries (the share's denominator is 0)."""
    return {
        "query_stats": [{"date": str(day), "consumer_id": C[0], "query_count": 0}],
        "asset_stats": [
            {"date": str(day), "tech_asset_id": T[0], "consumer_id": C[0], "query_count": 2}
        ],
    }


def _merge(days: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "query_stats": [row for day in days for row in day["query_stats"]],
        "asset_stats": [row for day in days for row in day["asset_stats"]],
    }


@dataclass
class Compared:
    api: TestClient
    token: str
    marts: DbtEnv

    def get(self, port: str, chart: str, **params: Any) -> dict[str, Any]:
        response = self.api.get(
            f"/api/v1/output-ports/{port}/usage/{chart}",
            params=params,
            headers={"Authorization": f"Bearer {self.token}"},
        )
        assert response.status_code == 200, response.text
        return response.json()

    def windows(self, mart: str) -> list[tuple[str, str, date, date]]:
        return self.marts.query(
            f"select distinct output_port_id, window_name, window_start, window_end "
            f"from marts.{mart} order by 1, 2"
        )


def _push(client: TestClient, token: str, port: str, body: dict[str, Any]) -> None:
    response = client.post(
        f"/api/v1/output-ports/{port}/usage-stats",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 202, response.text


def _ingest(usage: UsagePlatform) -> None:
    while requests := list(usage.tick().run_requests or []):
        for request in requests:
            usage.execute(request)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def compared(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Compared]:
    root = tmp_path_factory.mktemp(f"usage_compare_{request.param}")
    schema = None
    if request.param == "sqlite":
        target = OpsTarget("sqlite", f"sqlite:///{root / 'ops.db'}", "ops")
    else:
        schema = unique_schema()
        target = OpsTarget("postgresql", request.getfixturevalue("postgres_dsn"), schema)
    try:
        with dg.instance_for_test() as instance:
            usage = make_platform(root / "project", target, instance)
            settings = Settings(ops_url=target.url, ops_schema=target.schema)
            with TestClient(create_app(settings, store=usage.store)) as client:
                with usage.store.session() as session:
                    token = create_api_key(session, "tests", [P, Q, R]).token
                skip = {date(2026, 9, 10) + timedelta(days=n) for n in range(9)}  # a gap
                p_days = _days(date(2026, 8, 25), date(2026, 10, 20), skip)
                _push(client, token, P, _merge([_p_day(d) for d in p_days[:30]]))
                _push(
                    client,
                    token,
                    Q,
                    _merge([_q_day(d) for d in _days(date(2026, 7, 1), date(2026, 8, 31))]),
                )
                _ingest(usage)
                # P's later days, and a re-push of some earlier ones with other counts.
                _push(client, token, P, _merge([_p_day(d, bump=2) for d in p_days[20:]]))
                _push(
                    client,
                    token,
                    R,
                    _merge([_r_day(d) for d in _days(date(2026, 10, 5), date(2026, 10, 6))]),
                )
                _ingest(usage)

                context = usage.project.plugin_context()
                write_profiles(
                    root / "profiles",
                    catalog_name=context.catalog_name,
                    catalog_properties=dict(context.catalog_properties),
                    duckdb_path=root / "floe.duckdb",
                )
                marts = DbtEnv(root=root, catalog=usage.catalog(), duckdb_path=root / "floe.duckdb")
                built = marts.invoke("build", "--select", *USAGE_MARTS)
                assert built.success, built.exception
                yield Compared(api=client, token=token, marts=marts)
            usage.store.dispose()
    finally:
        if schema is not None:
            _drop_schema(target.url, schema)


# -- queries over time ---------------------------------------------------------------------


def test_queries_over_time_per_day_week_and_month(compared: Compared) -> None:
    for port in (P, Q, R):
        for grain in ("day", "week", "month"):
            mart = [
                (str(start), str(end), queries, reported, active)
                for start, end, queries, reported, active in compared.marts.query(
                    "select period_start, period_end, query_count, days_reported, "
                    f"active_consumers from marts.usage_queries_over_time "
                    f"where output_port_id = '{port}' and period_grain = '{grain}' order by 1"
                )
            ]
            assert mart, (port, grain)
            answer = compared.get(
                port, "queries-over-time", start=mart[0][0], end=mart[-1][1], granularity=grain
            )
            api = [
                (
                    p["period_start"],
                    p["period_end"],
                    p["query_count"],
                    p["days_reported"],
                    p["active_consumers"],
                )
                for p in answer["points"]
            ]
            assert api == mart, (port, grain)


# -- query distribution --------------------------------------------------------------------


def _distribution(compared: Compared, port: str, window: str) -> list[tuple[Any, ...]]:
    return compared.marts.query(
        "select consumer_id, query_count, share_of_port_queries, consumer_rank, "
        "port_query_count from marts.usage_query_distribution "
        f"where output_port_id = '{port}' and window_name = '{window}' "
        "order by query_count desc, consumer_id"
    )


def test_query_distribution_top_n_and_other(compared: Compared) -> None:
    windows = compared.windows("usage_query_distribution")
    assert {(port, window) for port, window, _, _ in windows} == {
        (port, window) for port in (P, Q) for window in ("all_time", "last_30_days")
    }  # R's consumers only have 0 queries: absent
    for port, window, start, end in windows:
        mart = _distribution(compared, port, window)
        answer = compared.get(port, "query-distribution", start=start, end=end, top=TOP)
        total = mart[0][4]
        assert answer["total_queries"] == total
        assert [
            (c["consumer_id"], c["query_count"], pytest.approx(c["share"]))
            for c in answer["consumers"]
        ] == [(consumer, count, share) for consumer, count, share, _, _ in mart[:TOP]]
        rest = mart[TOP:]
        assert answer["other"]["consumers"] == len(rest)
        assert answer["other"]["query_count"] == sum(row[1] for row in rest)
        assert answer["other"]["share"] == pytest.approx(sum(row[1] for row in rest) / total)
    # a port without a consumer with queries: nothing to distribute, on both sides
    answer = compared.get(R, "query-distribution", start="2026-10-05", end="2026-10-06")
    assert answer["total_queries"] == 0 and answer["consumers"] == []


def test_query_distribution_ranks_skip_after_ties(compared: Compared) -> None:
    for port, window, start, end in compared.windows("usage_query_distribution"):
        mart = _distribution(compared, port, window)
        answer = compared.get(port, "query-distribution", start=start, end=end, top=len(mart))
        assert [c["rank"] for c in answer["consumers"]] == [row[3] for row in mart]
    assert [row[3] for row in _distribution(compared, P, "all_time")][:3] == [1, 1, 3]


# -- popular assets ------------------------------------------------------------------------


def _assets(compared: Compared, port: str, window: str) -> list[tuple[Any, ...]]:
    return compared.marts.query(
        "select tech_asset_id, touch_count, distinct_consumers, share_of_port_queries, "
        "popularity_rank, port_query_count from marts.usage_popular_assets "
        f"where output_port_id = '{port}' and window_name = '{window}' "
        "order by touch_count desc, tech_asset_id"
    )


def test_popular_assets_last_30_days_and_all_time(compared: Compared) -> None:
    windows = compared.windows("usage_popular_assets")
    assert {(port, window) for port, window, _, _ in windows} == {
        (port, window) for port in (P, Q, R) for window in ("all_time", "last_30_days")
    }
    for port, window, start, end in windows:
        mart = _assets(compared, port, window)
        answer = compared.get(port, "popular-assets", start=start, end=end, limit=100)
        assert answer["total_queries"] == mart[0][5], (port, window)
        assert [
            (a["tech_asset_id"], a["query_count"], a["consumers"]) for a in answer["assets"]
        ] == [(asset, touches, consumers) for asset, touches, consumers, *_ in mart], (port, window)
        if mart[0][5]:  # a share of queries the port ran
            assert [a["share_of_port_queries"] for a in answer["assets"]] == [
                pytest.approx(row[3]) for row in mart
            ]


def test_the_default_window_is_the_marts_last_30_days(compared: Compared) -> None:
    for port, window, start, end in compared.windows("usage_popular_assets"):
        if window != "last_30_days":
            continue
        answer = compared.get(port, "popular-assets")
        assert (answer["start"], answer["end"]) == (str(start), str(end)), port


def test_popular_assets_ranks_skip_after_ties(compared: Compared) -> None:
    for port, window, start, end in compared.windows("usage_popular_assets"):
        mart = _assets(compared, port, window)
        answer = compared.get(port, "popular-assets", start=start, end=end, limit=100)
        assert [a["rank"] for a in answer["assets"]] == [row[4] for row in mart], (port, window)
    assert [row[4] for row in _assets(compared, P, "all_time")][:3] == [1, 1, 3]


def test_a_share_of_no_queries_is_null(compared: Compared) -> None:
    [(_, _, start, end)] = [
        w for w in compared.windows("usage_popular_assets") if w[:2] == (R, "all_time")
    ]
    mart = _assets(compared, R, "all_time")
    assert mart[0][3] is None and mart[0][5] == 0
    answer = compared.get(R, "popular-assets", start=start, end=end)
    assert answer["total_queries"] == 0
    assert [a["share_of_port_queries"] for a in answer["assets"]] == [None]
