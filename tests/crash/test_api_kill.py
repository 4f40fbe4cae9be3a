"""SIGKILL the API while SDK clients push, restart it on the same port, let the SDK retry:
every push is committed exactly once (issue 9's fault test).

A real ``floe api serve`` (two uvicorn workers, its own process group) on a free 127.0.0.1
port, over a temp SQLite file and over a schema of its own on the local PostgreSQL. Per
round, three producer processes (tests/crash/api_push_child.py, each its own
``DataPortalClient`` with generous retries) push eight multi-day pushes each, every push
with its own Idempotency-Key and days no other push covers. While they push, the server and
its workers are SIGKILLed at a random moment — before the first commit, while a push
transaction is open (on PostgreSQL the test waits for one in ``pg_stat_activity``), or
between commits — kept down a random while, and restarted on the same port. Five rounds.

Then: every SDK call returned a push (a call that gave up after its retries — none should,
with ~20 s of retrying against a restart of a few seconds — is retried here with the same key
and listed in the failure context), the push log holds exactly one
committed row per (port, key) and nothing else, with sequences 1..N, each SDK answer names
the logged push, and both tables hold exactly the planned rows, each stamped with the push
that covered its day: no duplicate, no missing day, no leftover of a killed transaction.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import pytest
from data_portal_sdk import DataPortalClient, RetryPolicy
from sqlalchemy import select

from platform_defs.ops import OpsStore
from platform_defs.ops.usage import UsagePush, create_api_key
from tests.api.server import ApiServer
from tests.api.tables import asset_rows, query_rows
from tests.conftest import REPO_ROOT
from tests.crash.api_push_child import RETRY, planned_push, port_of
from tests.ops.conftest import OpsTarget, _drop_schema, unique_schema

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

ROUNDS = 5
CLIENTS = 3
PUSHES = 8
CHILD_TIMEOUT_SECONDS = 300


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpsTarget]:
    if request.param == "sqlite":
        yield OpsTarget("sqlite", f"sqlite:///{tmp_path / 'ops.db'}", "ops")
        return
    dsn: str = request.getfixturevalue("postgres_dsn")
    schema = unique_schema()
    try:
        yield OpsTarget("postgresql", dsn, schema)
    finally:
        _drop_schema(dsn, schema)


@dataclass
class Producer:
    """A producer process and the JSON lines it has printed so far."""

    client: int
    process: subprocess.Popen[str]
    stderr: Path
    events: list[dict[str, Any]] = field(default_factory=list)
    reader: threading.Thread | None = None

    def read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.events.append(json.loads(line))

    def done(self) -> int:
        return sum(1 for event in self.events if event["event"] in ("done", "failed"))

    def finish(self) -> None:
        """Wait for the process and for its last lines."""
        self.process.wait(timeout=CHILD_TIMEOUT_SECONDS)
        assert self.reader is not None
        self.reader.join(timeout=30)
        assert self.process.returncode == 0, f"producer {self.client}: {self.stderr.read_text()}"


def start_producers(url: str, token: str, round_: int, logs: Path) -> list[Producer]:
    producers = []
    for client in range(CLIENTS):
        command = [sys.executable, "-m", "tests.crash.api_push_child", url, token]
        command += [str(round_), str(client), str(PUSHES)]
        stderr = logs / f"producer-{round_}-{client}.log"
        with stderr.open("w") as err:
            process = subprocess.Popen(
                command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=err, text=True
            )
        producer = Producer(client, process, stderr)
        producer.reader = threading.Thread(target=producer.read, daemon=True)
        producer.reader.start()
        producers.append(producer)
    return producers


def wait_until(condition: Any, producers: list[Producer], timeout: float = 120) -> bool:
    """Poll ``condition`` until it holds; False once every producer has finished."""
    deadline = time.monotonic() + timeout
    while not condition():
        if all(p.process.poll() is not None for p in producers):
            return False
        assert time.monotonic() < deadline, "the producers made no progress"
        time.sleep(0.002)
    return True


def push_transaction_open(conn: psycopg.Connection[Any], schema: str) -> bool:
    """Whether a backend is inside a push's writes (PostgreSQL only)."""
    row = conn.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
        "AND state IN ('active', 'idle in transaction') AND query LIKE %s",
        (f"%{schema}.%_stats_daily%",),
    ).fetchone()
    return bool(row and row[0])


def kill_moment(
    rng: random.Random, round_: int, target: OpsTarget, producers: list[Producer]
) -> str:
    """Wait for this round's moment; what it was."""
    if round_ == 0:
        # Before any push is committed: as soon as the first one is being sent.
        wait_until(lambda: any(p.events for p in producers), producers)
        time.sleep(rng.uniform(0, 0.05))
        return "before the first commit"
    if target.backend == "postgresql" and round_ in (1, 3):
        wait_until(lambda: any(p.events for p in producers), producers)
        with psycopg.connect(target.url, autocommit=True) as conn:
            if wait_until(lambda: push_transaction_open(conn, target.schema), producers):
                return "with a push transaction open"
        return "after the last push (no open transaction seen)"
    threshold = rng.randint(1, CLIENTS * PUSHES // 3)
    wait_until(lambda: sum(p.done() for p in producers) >= threshold, producers)
    time.sleep(rng.uniform(0, 0.3))
    return f"after ~{threshold} pushes returned"


def test_sigkilled_api_commits_every_push_exactly_once(target: OpsTarget, tmp_path: Path) -> None:
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    store = OpsStore(target.url, target.schema)
    store.upgrade()
    ports = [port_of(r, c) for r in range(ROUNDS) for c in range(CLIENTS)]
    with store.session() as session:
        token = create_api_key(session, "kill-test", ports).token

    answers: dict[str, uuid.UUID] = {}  # Idempotency-Key -> push id the SDK returned
    retried_by_test: list[str] = []
    sdk_retries = 0
    moments: list[str] = []
    server = ApiServer(target.url, target.schema, workers=2)
    try:
        server.start()
        for round_ in range(ROUNDS):
            producers = start_producers(server.url, token, round_, tmp_path)
            moments.append(kill_moment(rng, round_, target, producers))
            server.kill()  # the uvicorn process and its workers: SIGKILL to the group
            time.sleep(rng.uniform(0, 1.0))  # the producers meet a closed port meanwhile
            server.start()  # same port
            for producer in producers:
                producer.finish()
                outcomes = {e["push"]: e for e in producer.events if e["event"] != "sending"}
                assert sorted(outcomes) == list(range(PUSHES)), producer.events
                for index, outcome in outcomes.items():
                    push = planned_push(round_, producer.client, index)
                    sdk_retries += outcome["retries"]
                    if outcome["event"] == "failed":
                        # Gave up after its retries: the same push again, with the same key.
                        retried_by_test.append(f"{push.key}: {outcome['error']}")
                        with DataPortalClient(token, server.url, retry=RetryPolicy(**RETRY)) as sdk:
                            result = sdk.push_usage_stats(
                                push.port,
                                push.query_stats,
                                push.asset_stats,
                                idempotency_key=push.key,
                            )
                        answers[push.key] = result.push_id
                    else:
                        answers[push.key] = uuid.UUID(outcome["push_id"])
    finally:
        server.stop()

    context = (
        f"seed {seed}; kills {moments}; {len(retried_by_test)} pushes retried by the test, "
        f"first: {retried_by_test[:2]}"
    )
    # The kills did hit pushes in flight (else this test proves nothing): some attempts failed
    # and were retried, by the SDK or (after it gave up) by the test.
    assert sdk_retries + len(retried_by_test) > 0, context

    planned = [
        planned_push(r, c, i) for r in range(ROUNDS) for c in range(CLIENTS) for i in range(PUSHES)
    ]
    with store.session() as session:
        log = list(session.scalars(select(UsagePush)))
    # Exactly one committed push per (port, key), and no other.
    logged = [(row.output_port_id, row.idempotency_key) for row in log]
    assert sorted(logged, key=str) == sorted(((p.port, p.key) for p in planned), key=str), context
    assert {row.status for row in log} == {"committed"}
    assert sorted(row.sequence for row in log) == list(range(1, len(planned) + 1)), context
    push_ids = {row.idempotency_key: row.push_id for row in log}
    assert answers == push_ids, context  # each SDK answer is the committed push

    expected_queries: dict[tuple[uuid.UUID, date, uuid.UUID], tuple[int, uuid.UUID]] = {}
    expected_assets: dict[tuple[uuid.UUID, date, uuid.UUID, uuid.UUID], tuple[int, uuid.UUID]] = {}
    for push in planned:
        push_id = push_ids[push.key]
        for row in push.query_stats:
            key = (push.port, date.fromisoformat(row["date"]), uuid.UUID(row["consumer_id"]))
            assert key not in expected_queries  # the plan: no two pushes share a day
            expected_queries[key] = (row["query_count"], push_id)
        for row in push.asset_stats:
            asset_key = (
                push.port,
                date.fromisoformat(row["date"]),
                uuid.UUID(row["tech_asset_id"]),
                uuid.UUID(row["consumer_id"]),
            )
            expected_assets[asset_key] = (row["query_count"], push_id)
    assert query_rows(store) == expected_queries, context
    assert asset_rows(store) == expected_assets, context
    by_key = {push.key: push for push in planned}
    assert all(set(row.dates) == by_key[row.idempotency_key].dates for row in log), context
    store.dispose()
