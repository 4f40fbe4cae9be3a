"""A producer for tests/crash/test_api_kill.py: pushes its planned pushes through the SDK,
retrying through server deaths, and reports each outcome as a JSON line on stdout.

    python -m tests.crash.api_push_child URL TOKEN ROUND CLIENT PUSHES

Lines: ``{"event": "sending", "push": i}`` before a push; ``{"event": "done", "push": i,
"push_id": ..., "replayed": bool, "retries": n}`` when the SDK returned; ``{"event": "failed",
"push": i, "error": ..., "retries": n}`` when it raised after its retries (the test then
retries that push itself with the same key). :func:`planned_push` is what the test checks
the tables against.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
import uuid
from dataclasses import dataclass
from typing import Any

NAMESPACE = uuid.UUID("0c6f3b52-8a0e-4d8e-9a55-2f1de7a0b6c4")
CONSUMERS = 60
ASSETS = 6
RETRY = {"max_retries": 80, "initial_delay": 0.05, "max_delay": 0.5, "max_retry_after": 1.0}
"""Generous: ~20 s of retrying on average, several times what a restart takes."""


def uid(*parts: object) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, ":".join(map(str, parts)))


def port_of(round_: int, client: int) -> uuid.UUID:
    return uid("port", round_, client)


@dataclass(frozen=True)
class PlannedPush:
    port: uuid.UUID
    key: str
    query_stats: list[dict[str, Any]]
    asset_stats: list[dict[str, Any]]

    @property
    def dates(self) -> set[str]:
        return {row["date"] for row in self.query_stats}


def planned_push(round_: int, client: int, index: int) -> PlannedPush:
    """Push ``index`` of a client in a round: 1-3 days of its own port that no other push
    covers, ~60 query rows and ~200 asset rows a day (big enough to take a while)."""
    today = dt.datetime.now(dt.UTC).date()
    port = port_of(round_, client)
    queries: list[dict[str, Any]] = []
    assets: list[dict[str, Any]] = []
    for k in range(1 + index % 3):
        day = (today - dt.timedelta(days=1 + 3 * index + k)).isoformat()
        for c in range(CONSUMERS):
            consumer = str(uid("consumer", c))
            count = 1 + (round_ * 7 + client * 5 + index * 3 + k + c) % 17
            queries.append({"date": day, "consumer_id": consumer, "query_count": count})
            for a in range(ASSETS):
                touches = (count + a * c) % (count + 1)
                if touches:
                    assets.append(
                        {
                            "date": day,
                            "tech_asset_id": str(uid("asset", a)),
                            "consumer_id": consumer,
                            "query_count": touches,
                        }
                    )
    return PlannedPush(port, f"kill-test/{round_}/{client}/{index}", queries, assets)


class _Retries(logging.Handler):
    """Counts the SDK's "retry n of m" warnings."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


def emit(**line: Any) -> None:
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


def main() -> None:
    from data_portal_sdk import DataPortalClient, RetryPolicy

    url, token, round_, client, pushes = sys.argv[1:6]
    retries = _Retries()
    logging.getLogger("data_portal_sdk").addHandler(retries)
    policy = RetryPolicy(**RETRY)
    with DataPortalClient(token, url, retry=policy, timeout=30.0) as sdk:
        for index in range(int(pushes)):
            push = planned_push(int(round_), int(client), index)
            before = retries.count
            emit(event="sending", push=index)
            try:
                result = sdk.push_usage_stats(
                    push.port, push.query_stats, push.asset_stats, idempotency_key=push.key
                )
            except Exception as exc:  # the test retries it with the same key
                emit(
                    event="failed",
                    push=index,
                    error=f"{type(exc).__name__}: {exc}",
                    retries=retries.count - before,
                )
                continue
            emit(
                event="done",
                push=index,
                push_id=str(result.push_id),
                replayed=result.replayed,
                retries=retries.count - before,
            )


if __name__ == "__main__":
    main()
