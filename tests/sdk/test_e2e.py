"""The SDK against the real API: `floe api serve` on 127.0.0.1 (tests/api/server.py) over a
real ops store (a temp SQLite file, and a schema of its own on the local PostgreSQL)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from data_portal_sdk import (
    AuthenticationError,
    DataPortalClient,
    PermissionDeniedError,
    RetryPolicy,
    UnprocessableEntityError,
)

from platform_defs.ops import OpsStore
from platform_defs.ops.usage import create_api_key
from tests.api.server import ApiServer
from tests.api.tables import asset_rows, everything, push_count, query_rows
from tests.ops.conftest import OpsTarget, _drop_schema, unique_schema
from tests.sdk.fakes import ALICE, TABLE_A, TABLE_B, days_ago, push_of

pytestmark = pytest.mark.integration

MAX_BODY_BYTES = 4096  # the server's limit here: a few days of push_of() fit, 40 do not


@dataclass
class Served:
    server: ApiServer
    store: OpsStore

    def key(self, *ports: str) -> str:
        with self.store.session() as session:
            return create_api_key(session, "sdk-e2e", ports).token

    def client(self, token: str, **kwargs: object) -> DataPortalClient:
        retry = RetryPolicy(sleep=lambda _: None)  # no waiting between attempts
        return DataPortalClient(api_key=token, base_url=self.server.url, retry=retry, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    if request.param == "sqlite":
        target = OpsTarget(
            "sqlite", f"sqlite:///{tmp_path_factory.mktemp('ops') / 'ops.db'}", "ops"
        )
    else:
        target = OpsTarget("postgresql", request.getfixturevalue("postgres_dsn"), unique_schema())
    env = {"FLOE_API_MAX_BODY_BYTES": str(MAX_BODY_BYTES)}
    try:
        with ApiServer(target.url, target.schema, env=env) as server:  # migrates at start-up
            store = target.store()
            yield Served(server, store)
            store.dispose()
    finally:
        if target.backend == "postgresql":
            _drop_schema(target.url, target.schema)


def new_port() -> str:
    return str(uuid.uuid4())


def test_a_push_is_committed_as_sent(served: Served) -> None:
    port = new_port()
    day = days_ago(1)
    with served.client(served.key(port)) as client:
        result = client.push_usage_stats(id=port, query_stats=push_of(day)[0],
                                         asset_stats=push_of(day)[1])  # fmt: skip
    assert result.dates == (day,) and not result.replayed and not result.split
    assert (result.query_stats_rows, result.asset_stats_rows) == (1, 2)
    p, alice = uuid.UUID(port), uuid.UUID(ALICE)
    assert {k: v for k, v in query_rows(served.store).items() if k[0] == p} == {
        (p, day, alice): (1, result.push_id)
    }
    assert {k: v for k, v in asset_rows(served.store).items() if k[0] == p} == {
        (p, day, uuid.UUID(t), alice): (1, result.push_id) for t in (TABLE_A, TABLE_B)
    }


class LoseFirstAnswer(httpx.BaseTransport):
    """Sends every request to the real server, but drops the first answer on the floor, as
    when the connection breaks after the server committed."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.sent: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        response = self.inner.handle_request(request)
        if len(self.sent) == 1:
            response.read()
            response.close()
            raise httpx.ReadError("connection lost before the answer", request=request)
        return response

    def close(self) -> None:
        self.inner.close()


def test_a_retry_after_a_lost_answer_commits_once(served: Served) -> None:
    port = new_port()
    transport = LoseFirstAnswer()
    pushes_before = push_count(served.store)
    with served.client(served.key(port), transport=transport) as client:
        result = client.push_usage_stats(port, *push_of(days_ago(2)))
    assert len(transport.sent) == 2
    assert (
        transport.sent[0].headers["idempotency-key"] == transport.sent[1].headers["idempotency-key"]
    )
    assert result.replayed  # the server answered from the first attempt's commit
    assert push_count(served.store) == pushes_before + 1
    rows = {k: v for k, v in query_rows(served.store).items() if k[0] == uuid.UUID(port)}
    assert list(rows.values()) == [(1, result.push_id)]


def test_a_key_cannot_push_another_port(served: Served) -> None:
    mine, theirs = new_port(), new_port()
    before = everything(served.store)
    with served.client(served.key(mine)) as client, pytest.raises(PermissionDeniedError) as caught:
        client.push_usage_stats(theirs, *push_of(days_ago(1)))
    error = caught.value
    assert error.status_code == 403 and error.code == "FORBIDDEN"
    assert error.request_id and error.request_id == error.response.headers["x-request-id"]  # type: ignore[union-attr]
    assert everything(served.store) == before


def test_a_wrong_key_is_an_authentication_error(served: Served) -> None:
    with served.client("floe_nokey_nosecret") as client, pytest.raises(AuthenticationError):
        client.push_usage_stats(new_port(), *push_of(days_ago(1)))


def test_a_reused_key_with_another_body_is_refused(served: Served) -> None:
    port = new_port()
    with served.client(served.key(port)) as client:
        first = client.push_usage_stats(port, *push_of(days_ago(1)), idempotency_key="job-7")
        again = client.push_usage_stats(port, *push_of(days_ago(1)), idempotency_key="job-7")
        with pytest.raises(UnprocessableEntityError) as caught:
            client.push_usage_stats(port, *push_of(days_ago(3)), idempotency_key="job-7")
    assert again.replayed and again.push_id == first.push_id
    assert caught.value.code == "IDEMPOTENCY_KEY_REUSED"


def test_a_push_over_the_size_limit_is_committed_one_day_at_a_time(served: Served) -> None:
    port = new_port()
    days = [days_ago(n) for n in range(40, 0, -1)]
    with served.client(served.key(port)) as client:
        result = client.push_usage_stats(port, *push_of(*days))
        assert client.max_body_bytes == MAX_BODY_BYTES  # learnt from the 413
    assert result.split and len(result.push_ids) == len(days)
    assert result.dates == tuple(days)
    p = uuid.UUID(port)
    rows = {k: v for k, v in query_rows(served.store).items() if k[0] == p}
    assert sorted(k[1] for k in rows) == days
    assert {v[1] for v in rows.values()} == set(result.push_ids)  # one push per day
    assert len([k for k in asset_rows(served.store) if k[0] == p]) == 2 * len(days)
