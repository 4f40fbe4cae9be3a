"""An in-memory stand-in of the push endpoint, behind ``httpx.MockTransport``.

It keeps the API's idempotency rule (same key and body: the first answer again, with
``Idempotent-Replayed: true``; same key, other body: 422) and can be told to fail the next
requests (a status, a dropped connection, a timeout) or to refuse bodies over a size limit,
so the client's retries and splitting are tested without a network.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from data_portal_sdk import DataPortalClient, RetryPolicy

PORT = "6f1c1d1e-6a53-4a8f-9a57-3f5a2b9c0d11"
ALICE = "0b7c5e1a-1111-4c2e-9d0e-000000000001"
BOB = "0b7c5e1a-2222-4c2e-9d0e-000000000002"
TABLE_A = "a5a5a5a5-0000-4000-8000-00000000000a"
TABLE_B = "b5b5b5b5-0000-4000-8000-00000000000b"
KEY = "floe_k1_secret"
BASE_URL = "http://portal.test"


def days_ago(n: int) -> dt.date:
    return dt.datetime.now(dt.UTC).date() - dt.timedelta(days=n)


def push_of(*days: dt.date) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One consumer, one query joining two assets, on each day."""
    query_stats = [{"date": d.isoformat(), "consumer_id": ALICE, "query_count": 1} for d in days]
    asset_stats = [
        {"date": d.isoformat(), "tech_asset_id": t, "consumer_id": ALICE, "query_count": 1}
        for d in days
        for t in (TABLE_A, TABLE_B)
    ]
    return query_stats, asset_stats


Fault = int | tuple[int, dict[str, str]] | tuple[int, dict[str, str], bytes] | type[Exception]


@dataclass
class FakeAPI:
    """The push endpoint; ``faults`` are consumed one per request before it answers."""

    faults: list[Fault] = field(default_factory=list)
    max_bytes: int | None = None
    requests: list[httpx.Request] = field(default_factory=list)
    committed: dict[str, tuple[bytes, dict[str, Any]]] = field(default_factory=dict)
    commit_then_drop: int = 0
    """Commit the next N pushes, then drop the connection before answering."""

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        request_id = request.headers.get("x-request-id") or str(uuid.uuid4())
        ids = {"X-Request-Id": request_id}
        if self.faults:
            fault = self.faults.pop(0)
            if isinstance(fault, type):
                raise fault("injected", request=request)
            if isinstance(fault, int):
                fault = (fault, {})
            status, headers, *content = fault
            if content:
                return httpx.Response(status, headers={**ids, **headers}, content=content[0])
            return httpx.Response(
                status, headers={**ids, **headers}, json=_error(status, request_id)
            )
        if self.max_bytes is not None and len(request.content) > self.max_bytes:
            body = _error(413, request_id)
            body["error"]["max_bytes"] = self.max_bytes
            return httpx.Response(413, headers=ids, json=body)
        if request.headers.get("authorization") != f"Bearer {KEY}":
            return httpx.Response(401, headers=ids, json=_error(401, request_id))
        key = request.headers["idempotency-key"]
        if key in self.committed:
            content, answer = self.committed[key]
            if content != request.content:
                return httpx.Response(
                    422, headers=ids, json=_error(422, request_id, "IDEMPOTENCY_KEY_REUSED")
                )
            return httpx.Response(202, headers={**ids, "Idempotent-Replayed": "true"}, json=answer)
        payload = json.loads(request.content)
        port_id = request.url.path.split("/")[4]
        answer = {
            "push_id": str(uuid.uuid4()),
            "output_port_id": port_id,
            "status": "committed",
            "dates": sorted(
                {r["date"] for r in payload["query_stats"]}
                | {r["date"] for r in payload["asset_stats"]}
            ),
            "query_stats_rows": len(payload["query_stats"]),
            "asset_stats_rows": len(payload["asset_stats"]),
        }
        self.committed[key] = (request.content, answer)
        if self.commit_then_drop:
            self.commit_then_drop -= 1
            raise httpx.RemoteProtocolError("server died after the commit", request=request)
        return httpx.Response(202, headers=ids, json=answer)

    @property
    def idempotency_keys(self) -> list[str]:
        return [r.headers.get("idempotency-key", "") for r in self.requests]

    @property
    def request_ids(self) -> list[str]:
        return [r.headers.get("x-request-id", "") for r in self.requests]


_CODES = {
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    409: "PUSH_IN_PROGRESS",
    413: "PAYLOAD_TOO_LARGE",
    422: "VALIDATION_ERROR",
    429: "RATE_LIMITED",
    503: "SERVICE_UNAVAILABLE",
}


def _error(status: int, request_id: str, code: str | None = None) -> dict[str, Any]:
    return {
        "error": {
            "code": code or _CODES.get(status, "INTERNAL_ERROR"),
            "message": f"injected {status}",
            "request_id": request_id,
            "details": [],
        }
    }


@dataclass
class Sleeps:
    """Records the waits instead of sleeping."""

    calls: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def make_client(
    api: Callable[[httpx.Request], httpx.Response],
    sleeps: Sleeps | None = None,
    *,
    jitter: float = 1.0,
    **kwargs: Any,
) -> DataPortalClient:
    """A client over ``api``; ``jitter`` is what the policy's random() returns (1.0: the
    backoff ceiling itself, so waits are predictable)."""
    policy = kwargs.pop("retry", None) or RetryPolicy(
        sleep=sleeps if sleeps is not None else Sleeps(), random=lambda: jitter
    )
    return DataPortalClient(
        api_key=KEY,
        base_url=BASE_URL,
        transport=httpx.MockTransport(api),
        retry=policy,
        **kwargs,
    )
