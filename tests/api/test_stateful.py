"""A Hypothesis state machine against the API: pushes over overlapping days, retries with
the same key, conflicting keys, bad pushes and concurrent pushes of the same port and day;
after every step both tables and the push log equal a plain dict model."""

from __future__ import annotations

import threading
import uuid
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import delete, select

from platform_defs.ops.usage import (
    OutputPortQueryStatsDaily,
    TechAssetStatsDaily,
    UsagePush,
)
from tests.api.conftest import Api
from tests.api.data import a, body, day, q, uid
from tests.api.tables import asset_rows, push_count, query_rows

pytestmark = pytest.mark.integration

PORTS = [uid("sm-port-1"), uid("sm-port-2")]
DAYS = [day(1), day(2), day(3)]
CONSUMERS = ["ann", "ben", "cat"]
ASSETS = ["orders", "items"]

QueryModel = dict[tuple[uuid.UUID, date, uuid.UUID], int]
AssetModel = dict[tuple[uuid.UUID, date, uuid.UUID, uuid.UUID], int]


@st.composite
def push_bodies(draw: st.DrawFn) -> dict[str, Any]:
    """A valid push: some days, some consumers per day, asset rows only for those."""
    days = draw(st.lists(st.sampled_from(DAYS), min_size=1, max_size=3, unique=True))
    queries, assets = [], []
    for on in days:
        consumers = draw(st.lists(st.sampled_from(CONSUMERS), min_size=1, unique=True))
        for consumer in consumers:
            queries.append(q(on, consumer, draw(st.integers(0, 9))))
            for asset in draw(st.lists(st.sampled_from(ASSETS), unique=True)):
                assets.append(a(on, asset, consumer, draw(st.integers(0, 9))))
    return body(queries, assets)


class PushMachine(RuleBasedStateMachine):
    keys = Bundle("keys")

    def __init__(self, api: Api, token: str) -> None:
        super().__init__()
        self.api = api
        self.token = token
        with api.store.session() as session:  # every example starts from empty tables
            for model in (OutputPortQueryStatsDaily, TechAssetStatsDaily, UsagePush):
                session.execute(delete(model))
        self.queries: QueryModel = {}
        self.assets: AssetModel = {}
        self.pushes = 0
        self.answers: dict[tuple[uuid.UUID, str], tuple[dict[str, Any], dict[str, Any]]] = {}

    def _apply(self, port: uuid.UUID, pushed: dict[str, Any]) -> None:
        covered = {date.fromisoformat(row["date"]) for row in pushed["query_stats"]}
        covered |= {date.fromisoformat(row["date"]) for row in pushed["asset_stats"]}
        self.queries = {
            k: v for k, v in self.queries.items() if not (k[0] == port and k[1] in covered)
        }
        self.assets = {
            k: v for k, v in self.assets.items() if not (k[0] == port and k[1] in covered)
        }
        for row in pushed["query_stats"]:
            key = (port, date.fromisoformat(row["date"]), uuid.UUID(row["consumer_id"]))
            self.queries[key] = row["query_count"]
        for row in pushed["asset_stats"]:
            asset_key = (
                port,
                date.fromisoformat(row["date"]),
                uuid.UUID(row["tech_asset_id"]),
                uuid.UUID(row["consumer_id"]),
            )
            self.assets[asset_key] = row["query_count"]
        self.pushes += 1

    @rule(target=keys, port=st.sampled_from(PORTS), pushed=push_bodies())
    def push_with_a_new_key(self, port: uuid.UUID, pushed: dict[str, Any]) -> tuple[uuid.UUID, str]:
        key = str(uuid.uuid4())
        response = self.api.push(self.token, port, pushed, idempotency_key=key)
        assert response.status_code == 202, response.text
        self._apply(port, pushed)
        self.answers[(port, key)] = (pushed, response.json())
        return port, key

    @rule(port=st.sampled_from(PORTS), pushed=push_bodies())
    def push_without_a_key(self, port: uuid.UUID, pushed: dict[str, Any]) -> None:
        response = self.api.push(self.token, port, pushed)
        assert response.status_code == 202, response.text
        self._apply(port, pushed)

    @rule(used=keys)
    def retry_with_the_same_key(self, used: tuple[uuid.UUID, str]) -> None:
        port, key = used
        pushed, first = self.answers[used]
        response = self.api.push(self.token, port, pushed, idempotency_key=key)
        assert response.status_code == 202
        assert response.json() == first
        assert response.headers["idempotent-replayed"] == "true"

    @rule(used=keys, other=push_bodies())
    def reuse_a_key_for_another_body(
        self, used: tuple[uuid.UUID, str], other: dict[str, Any]
    ) -> None:
        port, key = used
        pushed, _ = self.answers[used]
        response = self.api.push(self.token, port, other, idempotency_key=key)
        if other == pushed:
            assert response.status_code == 202
        else:
            assert response.status_code == 422
            assert response.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"

    @rule(port=st.sampled_from(PORTS), pushed=push_bodies(), row=st.integers(0, 100))
    def a_bad_push_changes_nothing(self, port: uuid.UUID, pushed: dict[str, Any], row: int) -> None:
        rows = pushed["query_stats"]
        rows[row % len(rows)]["query_count"] = -1
        response = self.api.push(self.token, port, pushed, idempotency_key=str(uuid.uuid4()))
        assert response.status_code == 422

    @rule(port=st.sampled_from(PORTS), first=push_bodies(), second=push_bodies())
    def two_pushes_at_once(
        self, port: uuid.UUID, first: dict[str, Any], second: dict[str, Any]
    ) -> None:
        """Two clients push the same port at the same moment; the later commit wins its days."""
        answers: dict[int, Any] = {}
        barrier = threading.Barrier(2)

        def send(index: int, pushed: dict[str, Any]) -> None:
            with TestClient(self.api.client.app) as client:
                barrier.wait()
                answers[index] = client.post(
                    f"/api/v1/output-ports/{port}/usage-stats",
                    json=pushed,
                    headers={"Authorization": f"Bearer {self.token}"},
                )

        threads = [threading.Thread(target=send, args=item) for item in enumerate((first, second))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert answers[0].status_code == answers[1].status_code == 202
        with self.api.store.session() as session:
            sequences = {row.push_id: row.sequence for row in session.scalars(select(UsagePush))}
        order = sorted(
            ((first, answers[0]), (second, answers[1])),
            key=lambda item: sequences[uuid.UUID(item[1].json()["push_id"])],
        )
        for pushed, _ in order:
            self._apply(port, pushed)

    @invariant()
    def tables_equal_the_model(self) -> None:
        stored_queries = {key: count for key, (count, _) in query_rows(self.api.store).items()}
        stored_assets = {key: count for key, (count, _) in asset_rows(self.api.store).items()}
        assert stored_queries == self.queries
        assert stored_assets == self.assets
        assert push_count(self.api.store) == self.pushes


def test_pushes_against_a_model(api: Api) -> None:
    token = api.key(*PORTS)
    run_state_machine_as_test(
        lambda: PushMachine(api, token),
        settings=settings(
            max_examples=12,
            stateful_step_count=8,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
