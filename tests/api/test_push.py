"""The push: both payloads in one transaction, idempotency, bad input, size limit, auth."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import text

from platform_defs.ops.usage import _lock_key, revoke_api_key
from tests.api.conftest import Api
from tests.api.data import a, body, day, q, uid
from tests.api.tables import asset_rows, everything, push_count, query_rows

pytestmark = pytest.mark.integration

PORT = uid("port-1")
OTHER_PORT = uid("port-2")


def test_a_push_commits_both_payloads_and_answers_202(api: Api) -> None:
    token = api.key(PORT)
    pushed = body(
        [q(day(2), "alice", 3), q(day(1), "alice", 5), q(day(1), "bob", 0)],
        [a(day(1), "orders", "alice", 5), a(day(1), "items", "alice", 2)],
    )
    response = api.push(token, PORT, pushed, idempotency_key="k-1")

    assert response.status_code == 202, response.text
    answer = response.json()
    push_id = uuid.UUID(answer["push_id"])
    assert answer == {
        "push_id": str(push_id),
        "output_port_id": str(PORT),
        "status": "committed",
        "dates": [day(2).isoformat(), day(1).isoformat()],
        "query_stats_rows": 3,
        "asset_stats_rows": 2,
    }
    assert "idempotent-replayed" not in response.headers
    assert query_rows(api.store) == {
        (PORT, day(2), uid("alice")): (3, push_id),
        (PORT, day(1), uid("alice")): (5, push_id),
        (PORT, day(1), uid("bob")): (0, push_id),
    }
    assert asset_rows(api.store) == {
        (PORT, day(1), uid("orders"), uid("alice")): (5, push_id),
        (PORT, day(1), uid("items"), uid("alice")): (2, push_id),
    }


def test_a_push_replaces_the_dates_it_covers_in_both_tables_and_no_other(api: Api) -> None:
    token = api.key(PORT, OTHER_PORT)
    first = body(
        [q(day(3), "alice", 1), q(day(2), "alice", 2), q(day(2), "bob", 4)],
        [a(day(3), "orders", "alice", 1), a(day(2), "orders", "bob", 4)],
    )
    assert api.push(token, PORT, first).status_code == 202
    assert api.push(token, OTHER_PORT, body([q(day(2), "carol", 9)])).status_code == 202

    # Day 2 again, with only alice and no asset rows: bob's rows and day 2's asset rows go.
    second = api.push(token, PORT, body([q(day(2), "alice", 7)]))
    assert second.status_code == 202
    second_id = uuid.UUID(second.json()["push_id"])

    queries = {key: count for key, (count, _) in query_rows(api.store).items()}
    assert queries == {
        (PORT, day(3), uid("alice")): 1,
        (PORT, day(2), uid("alice")): 7,
        (OTHER_PORT, day(2), uid("carol")): 9,
    }
    assert {key: count for key, (count, _) in asset_rows(api.store).items()} == {
        (PORT, day(3), uid("orders"), uid("alice")): 1
    }
    assert query_rows(api.store)[(PORT, day(2), uid("alice"))][1] == second_id


def test_an_asset_only_date_is_covered_too(api: Api) -> None:
    """A date in asset_stats alone cannot pass validation; a date in query_stats alone
    clears that day's asset rows (the push covers it)."""
    token = api.key(PORT)
    api.push(token, PORT, body([q(day(1), "alice", 2)], [a(day(1), "orders", "alice", 2)]))
    assert api.push(token, PORT, body([q(day(1), "alice", 3)])).status_code == 202
    assert asset_rows(api.store) == {}


def test_same_key_same_body_gets_the_first_answer_and_writes_nothing(api: Api) -> None:
    token = api.key(PORT)
    pushed = body([q(day(1), "alice", 3)])
    first = api.push(token, PORT, pushed, idempotency_key="retry-me")
    before = everything(api.store)

    again = api.push(token, PORT, pushed, idempotency_key="retry-me")

    assert again.status_code == 202
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert everything(api.store) == before


def test_same_body_in_another_spelling_is_the_same_body(api: Api) -> None:
    token = api.key(PORT)
    row = q(day(1), "alice", 3)
    first = api.push(token, PORT, body([row]), idempotency_key="k")
    respelled = {**row, "consumer_id": row["consumer_id"].upper()}
    again = api.push(
        token, PORT, {"asset_stats": [], "query_stats": [respelled]}, idempotency_key="k"
    )
    assert again.status_code == 202
    assert again.json()["push_id"] == first.json()["push_id"]


def test_same_key_other_body_is_422_and_writes_nothing(api: Api) -> None:
    token = api.key(PORT)
    first = api.push(token, PORT, body([q(day(1), "alice", 3)]), idempotency_key="k")
    before = everything(api.store)

    other = api.push(token, PORT, body([q(day(1), "alice", 4)]), idempotency_key="k")

    assert other.status_code == 422
    error = other.json()["error"]
    assert error["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert first.json()["push_id"] in error["message"]
    assert everything(api.store) == before


def test_a_key_is_per_output_port(api: Api) -> None:
    token = api.key(PORT, OTHER_PORT)
    one = api.push(token, PORT, body([q(day(1), "alice", 3)]), idempotency_key="k")
    two = api.push(token, OTHER_PORT, body([q(day(1), "alice", 4)]), idempotency_key="k")
    assert one.status_code == two.status_code == 202
    assert one.json()["push_id"] != two.json()["push_id"]


@pytest.mark.postgres
@pytest.mark.parametrize("api_target", ["postgresql"], indirect=True)
def test_a_push_while_the_same_key_is_in_flight_is_409(api: Api) -> None:
    """Another connection holds the key's lock, as a request committing it does."""
    token = api.key(PORT)
    key = _lock_key(api.store.schema, "key", str(PORT), "in-flight")
    with api.store.engine.connect() as other:
        other.begin()
        assert other.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": key}).scalar()
        blocked = api.push(token, PORT, body([q(day(1), "alice", 3)]), idempotency_key="in-flight")
        other.rollback()
    assert blocked.status_code == 409
    assert blocked.json()["error"]["code"] == "PUSH_IN_PROGRESS"
    assert blocked.headers["retry-after"] == "1"
    assert push_count(api.store) == 0
    # Once the other request is gone the same key goes through.
    done = api.push(token, PORT, body([q(day(1), "alice", 3)]), idempotency_key="in-flight")
    assert done.status_code == 202


FUTURE = day(-1)


@pytest.mark.parametrize(
    ("pushed", "loc", "type_"),
    [
        pytest.param(
            body([q(day(1), "alice", -1)]),
            ["body", "query_stats", 0, "query_count"],
            "greater_than_equal",
            id="negative-query-count",
        ),
        pytest.param(
            body([q(day(1), "alice", 1)], [a(day(1), "orders", "alice", -5)]),
            ["body", "asset_stats", 0, "query_count"],
            "greater_than_equal",
            id="negative-asset-count",
        ),
        pytest.param(
            body([q(day(1), "alice", 1), q(FUTURE, "alice", 1)]),
            ["body", "query_stats", 1, "date"],
            "value_error",
            id="future-date",
        ),
        pytest.param(
            body([q(day(1), "alice", 1), q(day(2), "bob", 1), q(day(1), "alice", 2)]),
            ["body", "query_stats", 2],
            "duplicate_key",
            id="duplicate-query-row",
        ),
        pytest.param(
            body(
                [q(day(1), "alice", 3)],
                [a(day(1), "orders", "alice", 1), a(day(1), "orders", "alice", 2)],
            ),
            ["body", "asset_stats", 1],
            "duplicate_key",
            id="duplicate-asset-row",
        ),
        pytest.param(
            body(
                [q(day(1), "alice", 3), q(day(2), "bob", 1)],
                [
                    a(day(1), "orders", "alice", 1),
                    a(day(2), "orders", "bob", 1),
                    a(day(2), "orders", "alice", 1),
                ],
            ),
            ["body", "asset_stats", 2, "consumer_id"],
            "missing_query_stats",
            id="asset-row-without-its-query-row",
        ),
        pytest.param(
            body([{**q(day(1), "alice", 1), "query_count": "12"}]),
            ["body", "query_stats", 0, "query_count"],
            "int_type",
            id="count-as-text",
        ),
        pytest.param(
            body([{**q(day(1), "alice", 1), "query_count": 1.5}]),
            ["body", "query_stats", 0, "query_count"],
            "int_type",
            id="count-as-float",
        ),
        pytest.param(
            body([{**q(day(1), "alice", 1), "date": 1764547200}]),
            ["body", "query_stats", 0, "date"],
            "value_error",
            id="date-as-timestamp",
        ),
        pytest.param(
            body([{**q(day(1), "alice", 1), "consumer_id": "alice"}]),
            ["body", "query_stats", 0, "consumer_id"],
            "uuid_parsing",
            id="id-not-a-uuid",
        ),
        pytest.param(
            body([{**q(day(1), "alice", 1), "queries": 1}]),
            ["body", "query_stats", 0, "queries"],
            "extra_forbidden",
            id="unknown-row-field",
        ),
        pytest.param(
            {**body([q(day(1), "alice", 1)]), "producer": "x"},
            ["body", "producer"],
            "extra_forbidden",
            id="unknown-top-field",
        ),
        pytest.param(body([]), ["body", "query_stats"], "too_short", id="no-rows"),
        pytest.param(
            {"query_stats": [q(day(1), "alice", 1)]},
            ["body", "asset_stats"],
            "missing",
            id="asset-stats-missing",
        ),
        pytest.param([1, 2], ["body"], "model_attributes_type", id="not-an-object"),
    ],
)
def test_bad_input_is_422_naming_the_field_and_writes_nothing(
    api: Api, pushed: Any, loc: list[Any], type_: str
) -> None:
    token = api.key(PORT)
    api.push(token, PORT, body([q(day(5), "zoe", 1)], [a(day(5), "orders", "zoe", 1)]))
    before = everything(api.store)

    response = api.push(token, PORT, pushed, idempotency_key="bad", **{"X-Request-Id": "req-42"})

    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["request_id"] == "req-42"
    assert {"loc": loc, "type": type_} in [
        {"loc": detail["loc"], "type": detail["type"]} for detail in error["details"]
    ], error["details"]
    assert ".".join(str(part) for part in error["details"][0]["loc"]) in error["message"]
    assert everything(api.store) == before
    # The key was not used up by the failed request.
    ok = api.push(token, PORT, body([q(day(1), "alice", 1)]), idempotency_key="bad")
    assert ok.status_code == 202


def test_malformed_json_is_422(api: Api) -> None:
    token = api.key(PORT)
    response = api.client.post(
        f"/api/v1/output-ports/{PORT}/usage-stats",
        content=b'{"query_stats": [',
        headers=api.headers(token, **{"Content-Type": "application/json"}),
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert push_count(api.store) == 0


def test_a_body_that_is_not_utf8_is_422(api: Api) -> None:
    token = api.key(PORT)
    response = api.client.post(
        f"/api/v1/output-ports/{PORT}/usage-stats",
        content=b"\xff\xfeK\x10",
        headers=api.headers(token, **{"Content-Type": "application/json"}),
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["loc"][0] == "body"


def test_a_body_over_the_limit_is_413_with_the_limit(api: Api) -> None:
    token = api.key(PORT)
    limit = api.settings.max_body_bytes
    rows = [q(day(1 + n % 300), f"c{n}", n) for n in range(limit // 60)]
    response = api.push(token, PORT, body(rows))

    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "PAYLOAD_TOO_LARGE"
    assert error["max_bytes"] == limit
    assert str(limit) in error["message"]
    assert error["request_id"] == response.headers["x-request-id"]
    assert push_count(api.store) == 0


def test_a_chunked_body_over_the_limit_is_413_too(api: Api) -> None:
    token = api.key(PORT)
    limit = api.settings.max_body_bytes

    def chunks() -> Any:
        yield b'{"query_stats": ['
        for _ in range(limit // 1000 + 2):
            yield b" " * 1000
        yield b'], "asset_stats": []}'

    response = api.client.post(
        f"/api/v1/output-ports/{PORT}/usage-stats",
        content=chunks(),
        headers=api.headers(token, **{"Content-Type": "application/json"}),
    )
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert response.json()["error"]["max_bytes"] == limit


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer nonsense", "Basic dXNlcjpwYXNz", "Bearer floe_0123456789abcdef_x"],
)
def test_no_or_a_bad_key_is_401(api: Api, authorization: str | None) -> None:
    api.key(PORT)
    headers = {"Authorization": authorization} if authorization else {}
    response = api.client.post(
        f"/api/v1/output-ports/{PORT}/usage-stats", json=body([q(day(1), "a", 1)]), headers=headers
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"
    assert response.headers["www-authenticate"] == "Bearer"
    assert push_count(api.store) == 0


def test_a_key_with_a_wrong_secret_is_401(api: Api) -> None:
    token = api.key(PORT)
    response = api.push(
        token[:-2] + ("aa" if not token.endswith("aa") else "bb"), PORT, body([q(day(1), "a", 1)])
    )
    assert response.status_code == 401


def test_a_revoked_key_is_401(api: Api) -> None:
    token = api.key(PORT)
    assert api.push(token, PORT, body([q(day(1), "a", 1)])).status_code == 202
    key_id = token.split("_")[1]
    with api.store.session() as session:
        assert revoke_api_key(session, key_id)
    assert api.push(token, PORT, body([q(day(1), "a", 2)])).status_code == 401
    assert api.get(token, PORT, "queries-over-time").status_code == 401


def test_a_key_cannot_push_or_read_another_port(api: Api) -> None:
    mine = api.key(PORT)
    api.key(OTHER_PORT, producer="someone-else")
    pushed = api.push(mine, OTHER_PORT, body([q(day(1), "a", 1)]))
    assert pushed.status_code == 403
    assert pushed.json()["error"]["code"] == "FORBIDDEN"
    assert push_count(api.store) == 0
    for chart in ("queries-over-time", "query-distribution", "popular-assets"):
        assert api.get(mine, OTHER_PORT, chart).status_code == 403


def test_request_ids_are_echoed_or_made(api: Api) -> None:
    echoed = api.client.get("/healthz", headers={"X-Request-Id": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    made = api.client.get("/healthz", headers={"X-Request-Id": "bad id with spaces"})
    assert uuid.UUID(made.headers["x-request-id"])
    missing = api.client.get("/nowhere")
    assert missing.status_code == 404
    assert missing.json()["error"]["request_id"] == missing.headers["x-request-id"]


def test_request_ids_are_in_the_logs(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="platform_defs.api")
    api.client.get("/nowhere", headers={"X-Request-Id": "trace-me"})
    records = [
        record for record in caplog.records if getattr(record, "request_id", None) == "trace-me"
    ]
    assert {record.name for record in records} >= {"platform_defs.api", "platform_defs.api.access"}


def test_healthz(api: Api) -> None:
    response = api.client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
