"""DataPortalClient over httpx.MockTransport: retries, errors, request ids, splitting."""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import uuid

import httpx
import pytest
from data_portal_sdk import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AssetStat,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    DataPortalClient,
    DataPortalError,
    InternalServerError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    QueryStat,
    RateLimitError,
    RetryPolicy,
    UnprocessableEntityError,
    ValidationError,
)

from tests.sdk.fakes import (
    ALICE,
    BASE_URL,
    KEY,
    PORT,
    TABLE_A,
    TABLE_B,
    FakeAPI,
    Sleeps,
    days_ago,
    make_client,
    push_of,
)

pytestmark = pytest.mark.unit


def test_a_push_sends_both_payloads_once_and_returns_the_typed_answer() -> None:
    api = FakeAPI()
    day = days_ago(1)
    with make_client(api) as client:
        result = client.push_usage_stats(
            id=PORT,
            query_stats=[QueryStat(date=day, consumer_id=ALICE, query_count=1)],
            asset_stats=[
                AssetStat(date=day, tech_asset_id=TABLE_A, consumer_id=ALICE, query_count=1),
                {"date": day.isoformat(), "tech_asset_id": TABLE_B, "consumer_id": ALICE,
                 "query_count": 1},
            ],
        )  # fmt: skip
    (request,) = api.requests
    assert request.method == "POST"
    assert request.url == f"{BASE_URL}/api/v1/output-ports/{PORT}/usage-stats"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"].startswith("data-portal-sdk/")
    uuid.UUID(request.headers["idempotency-key"])
    uuid.UUID(request.headers["x-request-id"])
    assert json.loads(request.content) == {
        "query_stats": [{"date": day.isoformat(), "consumer_id": ALICE, "query_count": 1}],
        "asset_stats": [
            {"date": day.isoformat(), "tech_asset_id": t, "consumer_id": ALICE, "query_count": 1}
            for t in (TABLE_A, TABLE_B)
        ],
    }
    assert result.push_ids == (uuid.UUID(api.committed[result.idempotency_key][1]["push_id"]),)
    assert result.push_id == result.push_ids[0]
    assert result.output_port_id == uuid.UUID(PORT)
    assert result.dates == (day,)
    assert (result.query_stats_rows, result.asset_stats_rows) == (1, 2)
    assert not result.replayed and not result.split


def test_ids_are_sent_canonical() -> None:
    api = FakeAPI()
    query_stats, asset_stats = push_of(days_ago(0))
    query_stats[0]["consumer_id"] = ALICE.upper()
    for row in asset_stats:
        row["consumer_id"] = uuid.UUID(ALICE)
    with make_client(api) as client:
        client.push_usage_stats(PORT.upper(), query_stats, asset_stats)
    body = json.loads(api.requests[0].content)
    assert {r["consumer_id"] for r in body["query_stats"] + body["asset_stats"]} == {ALICE}
    assert api.requests[0].url.path == f"/api/v1/output-ports/{PORT}/usage-stats"


@pytest.mark.parametrize(
    "fault",
    [500, 502, 503, 504, 408, 429, httpx.ConnectError, httpx.ReadTimeout, httpx.ReadError],
)
def test_transient_failures_are_retried_with_the_same_idempotency_key(fault: object) -> None:
    api = FakeAPI(faults=[fault, fault])  # type: ignore[list-item]
    sleeps = Sleeps()
    with make_client(api, sleeps) as client:
        result = client.push_usage_stats(PORT, *push_of(days_ago(1)))
    assert len(api.requests) == 3
    assert len(set(api.idempotency_keys)) == 1
    assert api.idempotency_keys[0] == result.idempotency_key
    # A new request id per attempt: each attempt is its own line in the server's log.
    assert len(set(api.request_ids)) == 3
    assert len(sleeps.calls) == 2
    assert len(api.committed) == 1


def test_409_push_in_progress_is_retried_but_another_conflict_is_not() -> None:
    api = FakeAPI(faults=[409])
    with make_client(api) as client:
        client.push_usage_stats(PORT, *push_of(days_ago(1)))
    assert len(api.requests) == 2

    other = FakeAPI(faults=[(409, {}, b'{"error": {"code": "SOMETHING_ELSE", "message": "x"}}')])
    with make_client(other) as client, pytest.raises(ConflictError) as caught:
        client.push_usage_stats(PORT, *push_of(days_ago(1)))
    assert len(other.requests) == 1
    assert caught.value.code == "SOMETHING_ELSE"


def test_a_retry_after_a_lost_answer_is_answered_from_the_first_commit() -> None:
    api = FakeAPI(commit_then_drop=1)
    with make_client(api) as client:
        result = client.push_usage_stats(PORT, *push_of(days_ago(1)))
    assert len(api.requests) == 2
    assert len(api.committed) == 1
    assert result.replayed
    assert str(result.push_id) == api.committed[result.idempotency_key][1]["push_id"]


def test_backoff_is_exponential_capped_and_fully_jittered() -> None:
    sleeps = Sleeps()
    policy = RetryPolicy(max_retries=6, initial_delay=0.5, max_delay=4.0, sleep=sleeps,
                         random=lambda: 1.0)  # fmt: skip
    api = FakeAPI(faults=[503] * 6)
    with make_client(api, retry=policy) as client:
        client.push_usage_stats(PORT, *push_of(days_ago(1)))
    assert sleeps.calls == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]

    half = Sleeps()
    policy = RetryPolicy(max_retries=3, sleep=half, random=lambda: 0.25)
    with make_client(FakeAPI(faults=[503] * 3), retry=policy) as client:
        client.push_usage_stats(PORT, *push_of(days_ago(1)))
    assert half.calls == [0.125, 0.25, 0.5]  # a quarter of each ceiling


def test_retries_are_bounded_and_the_last_error_is_raised() -> None:
    api = FakeAPI(faults=[503] * 10)
    sleeps = Sleeps()
    with make_client(api, sleeps) as client, pytest.raises(InternalServerError) as caught:
        client.push_usage_stats(PORT, *push_of(days_ago(1)))
    assert len(api.requests) == 3  # 1 + the default 2 retries
    assert len(sleeps.calls) == 2
    assert caught.value.request_id == api.request_ids[-1]


def test_max_retries_is_configurable_and_zero_disables_retrying() -> None:
    api = FakeAPI(faults=[httpx.ConnectError] * 10)
    with make_client(api, max_retries=0) as client, pytest.raises(APIConnectionError):
        client.push_usage_stats(PORT, *push_of(days_ago(1)))
    assert len(api.requests) == 1

    api = FakeAPI(faults=[httpx.ConnectTimeout] * 10)
    with make_client(api, max_retries=4) as client, pytest.raises(APITimeoutError) as caught:
        client.push_usage_stats(PORT, *push_of(days_ago(1)))
    assert len(api.requests) == 5
    assert caught.value.request_id == api.request_ids[-1]
    assert caught.value.status_code is None and caught.value.response is None


def test_retry_after_is_honoured_and_capped() -> None:
    sleeps = Sleeps()
    soon = email.utils.format_datetime(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30),
                                       usegmt=True)  # fmt: skip
    api = FakeAPI(
        faults=[(429, {"Retry-After": "7"}), (503, {"Retry-After": "3600"}),
                (503, {"Retry-After": soon}), (429, {"Retry-After": "soon-ish"})]
    )  # fmt: skip
    policy = RetryPolicy(max_retries=4, max_retry_after=60.0, sleep=sleeps, random=lambda: 1.0)
    with make_client(api, retry=policy) as client:
        client.push_usage_stats(PORT, *push_of(days_ago(1)))
    assert sleeps.calls[0] == 7.0
    assert sleeps.calls[1] == 60.0  # an hour, capped
    assert 25.0 <= sleeps.calls[2] <= 30.0  # an HTTP date, 30 s ahead
    assert sleeps.calls[3] == 4.0  # unparseable: the backoff of retry number 3 (0.5 * 2**3)


@pytest.mark.parametrize(
    ("status", "error_type", "code"),
    [
        (400, BadRequestError, "INTERNAL_ERROR"),
        (401, AuthenticationError, "UNAUTHORIZED"),
        (403, PermissionDeniedError, "FORBIDDEN"),
        (404, NotFoundError, "NOT_FOUND"),
        (413, PayloadTooLargeError, "PAYLOAD_TOO_LARGE"),
        (422, UnprocessableEntityError, "VALIDATION_ERROR"),
        (418, APIStatusError, "INTERNAL_ERROR"),
    ],
)
def test_terminal_statuses_raise_their_typed_error_at_once(
    status: int, error_type: type[APIStatusError], code: str
) -> None:
    api = FakeAPI(faults=[status])
    with make_client(api) as client, pytest.raises(error_type) as caught:
        client.push_usage_stats(PORT, *push_of(days_ago(1)))
    assert len(api.requests) == 1
    error = caught.value
    assert type(error) is error_type
    assert isinstance(error, DataPortalError)
    assert error.status_code == status
    assert error.code == code
    assert error.request_id == api.request_ids[0]
    assert error.response is not None and error.response.status_code == status
    assert error.request_id in str(error)


def test_retried_statuses_raise_their_typed_error_when_retries_run_out() -> None:
    for status, error_type in [(429, RateLimitError), (500, InternalServerError),
                               (409, ConflictError), (408, APIStatusError)]:  # fmt: skip
        api = FakeAPI(faults=[status] * 3)
        with make_client(api) as client, pytest.raises(error_type) as caught:
            client.push_usage_stats(PORT, *push_of(days_ago(1)))
        assert caught.value.status_code == status
        assert len(api.requests) == 3


def test_a_server_422_names_the_rows_like_the_local_check() -> None:
    body = {
        "error": {
            "code": "VALIDATION_ERROR",
            "message": "body.asset_stats.0.consumer_id: no query row",
            "request_id": "r-1",
            "details": [
                {"loc": ["body", "asset_stats", 0, "consumer_id"], "msg": "no query row",
                 "type": "value_error"}
            ],
        }
    }  # fmt: skip
    api = FakeAPI(faults=[(422, {"X-Request-Id": "r-1"}, json.dumps(body).encode())])
    with make_client(api) as client, pytest.raises(ValidationError) as caught:
        client.push_usage_stats(PORT, *push_of(days_ago(1)))
    error = caught.value
    assert isinstance(error, UnprocessableEntityError)  # and a ValidationError, as caught
    assert [d.loc for d in error.details] == [("asset_stats", 0, "consumer_id")]
    assert "asset_stats[0].consumer_id: no query row" in str(error)
    assert error.request_id == "r-1"


def test_an_html_error_page_from_a_proxy_still_maps_to_a_typed_error() -> None:
    api = FakeAPI(faults=[(502, {"Content-Type": "text/html"}, b"<html>Bad Gateway</html>")] * 3)
    with make_client(api) as client, pytest.raises(InternalServerError) as caught:
        client.push_usage_stats(PORT, *push_of(days_ago(1)))
    assert caught.value.code is None
    assert caught.value.status_code == 502
    assert caught.value.request_id == api.request_ids[-1]


def test_a_given_idempotency_key_is_used_and_a_reused_one_is_reported() -> None:
    api = FakeAPI()
    with make_client(api) as client:
        first = client.push_usage_stats(PORT, *push_of(days_ago(1)), idempotency_key="run-42")
        again = client.push_usage_stats(PORT, *push_of(days_ago(1)), idempotency_key="run-42")
        with pytest.raises(UnprocessableEntityError) as caught:
            client.push_usage_stats(PORT, *push_of(days_ago(2)), idempotency_key="run-42")
    assert api.idempotency_keys == ["run-42"] * 3
    assert first.push_id == again.push_id and again.replayed
    assert caught.value.code == "IDEMPOTENCY_KEY_REUSED"


def test_each_push_gets_its_own_idempotency_key() -> None:
    api = FakeAPI()
    with make_client(api) as client:
        client.push_usage_stats(PORT, *push_of(days_ago(1)))
        client.push_usage_stats(PORT, *push_of(days_ago(1)))
    assert len(set(api.idempotency_keys)) == 2


def test_a_push_over_the_limit_is_split_into_atomic_days_with_derived_keys() -> None:
    days = [days_ago(3), days_ago(2), days_ago(1)]
    one_day = len(_body(push_of(days[0])))
    api = FakeAPI(max_bytes=one_day + 10)
    with make_client(api) as client:
        result = client.push_usage_stats(PORT, *push_of(*days))
        assert client.max_body_bytes == one_day + 10  # learnt from the 413
    assert [r.headers["idempotency-key"] for r in api.requests[1:]] == [
        f"{result.idempotency_key}/{d.isoformat()}" for d in days
    ]
    assert len(api.requests) == 4  # the refused whole, then one per day
    for request, day in zip(api.requests[1:], days, strict=True):
        body = json.loads(request.content)
        assert {r["date"] for r in body["query_stats"] + body["asset_stats"]} == {day.isoformat()}
    assert result.split and len(result.push_ids) == 3
    assert result.dates == tuple(days)
    assert (result.query_stats_rows, result.asset_stats_rows) == (3, 6)

    # The same push again, same key: every day is replayed, nothing is committed twice.
    with make_client(api) as client:
        again = client.push_usage_stats(
            PORT, *push_of(*days), idempotency_key=result.idempotency_key
        )
    assert again.replayed and again.push_ids == result.push_ids
    assert len(api.committed) == 3


def test_a_known_limit_splits_before_sending() -> None:
    days = [days_ago(2), days_ago(1)]
    api = FakeAPI()
    with make_client(api, max_body_bytes=len(_body(push_of(days[0]))) + 1) as client:
        result = client.push_usage_stats(PORT, *push_of(*days))
    assert len(api.requests) == 2 and result.split
    with make_client(api, max_body_bytes=10**6) as client:
        client.push_usage_stats(PORT, *push_of(*days))
    assert len(api.requests) == 3  # under the limit: one request


def test_one_day_over_the_limit_raises_payload_too_large() -> None:
    api = FakeAPI(max_bytes=50)
    with make_client(api) as client, pytest.raises(PayloadTooLargeError) as caught:
        client.push_usage_stats(PORT, *push_of(days_ago(2), days_ago(1)))
    assert caught.value.max_bytes == 50
    assert str(days_ago(2)) in str(caught.value)
    assert len(api.requests) == 2  # the whole, then the first day; nothing committed
    assert not api.committed


def test_configuration_comes_from_arguments_or_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DATA_PORTAL_API_KEY", raising=False)
    monkeypatch.delenv("DATA_PORTAL_BASE_URL", raising=False)
    with pytest.raises(ConfigurationError, match="DATA_PORTAL_API_KEY"):
        DataPortalClient(base_url=BASE_URL)
    with pytest.raises(ConfigurationError, match="DATA_PORTAL_BASE_URL"):
        DataPortalClient(api_key=KEY)
    with pytest.raises(ConfigurationError, match="http"):
        DataPortalClient(api_key=KEY, base_url="portal.test")
    with pytest.raises(ConfigurationError, match="whitespace"):
        DataPortalClient(api_key="floe_x\nInjected: 1", base_url=BASE_URL)

    monkeypatch.setenv("DATA_PORTAL_API_KEY", KEY)
    monkeypatch.setenv("DATA_PORTAL_BASE_URL", BASE_URL + "/")
    api = FakeAPI()
    with DataPortalClient(transport=httpx.MockTransport(api)) as client:
        assert KEY not in repr(client)
        client.push_usage_stats(PORT, *push_of(days_ago(1)))
    assert api.requests[0].url == f"{BASE_URL}/api/v1/output-ports/{PORT}/usage-stats"
    assert api.requests[0].headers["authorization"] == f"Bearer {KEY}"


def test_a_bad_idempotency_key_or_port_id_is_refused_before_sending() -> None:
    api = FakeAPI()
    with make_client(api) as client:
        with pytest.raises(ValidationError, match="idempotency_key"):
            client.push_usage_stats(PORT, *push_of(days_ago(1)), idempotency_key="a b")
        with pytest.raises(ValidationError, match="idempotency_key"):
            client.push_usage_stats(PORT, *push_of(days_ago(1)), idempotency_key="k" * 201)
        with pytest.raises(ValidationError, match="^invalid usage push .*\n  id: must be"):
            client.push_usage_stats("1234-5678-9012-3456", *push_of(days_ago(1)))
    assert api.requests == []


def _body(push: tuple[list[dict[str, object]], list[dict[str, object]]]) -> bytes:
    query_stats, asset_stats = push
    return json.dumps(
        {"query_stats": query_stats, "asset_stats": asset_stats},
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()


def test_an_unreadable_success_is_a_data_portal_error() -> None:
    api = FakeAPI(faults=[(202, {}, b"<html>captive portal</html>"), (200, {}, b"{}")])
    with make_client(api) as client:
        with pytest.raises(DataPortalError, match="unreadable answer"):
            client.push_usage_stats(PORT, *push_of(days_ago(1)))
        with pytest.raises(DataPortalError, match="unexpected answer 200"):
            client.push_usage_stats(PORT, *push_of(days_ago(1)))
    assert len(api.requests) == 2  # neither is retried


def test_a_connection_error_keeps_its_cause() -> None:
    api = FakeAPI(faults=[httpx.ConnectError] * 3)
    with make_client(api) as client, pytest.raises(APIConnectionError) as caught:
        client.push_usage_stats(PORT, *push_of(days_ago(1)))
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert not isinstance(caught.value, APITimeoutError)
