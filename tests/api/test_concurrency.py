"""Concurrent pushes of the same port and days from real processes through a real server
with two workers: each day ends with exactly one push's rows (the last committer's), and the
push log's sequence is 1..N in commit order."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections import defaultdict
from pathlib import Path

import pytest
from sqlalchemy import select

from platform_defs.ops import OpsStore
from platform_defs.ops.usage import UsagePush, committed_pushes_after
from tests.api.data import day, uid
from tests.api.server import ApiServer
from tests.api.tables import query_rows
from tests.conftest import REPO_ROOT
from tests.ops.conftest import OpsTarget

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

PORT = uid("contended-port")
ROUNDS = 8
PRODUCERS = {"a": 30, "b": 20}  # different consumers and numbers of them: a mix would show


# PostgreSQL only: SQLite serialises writers whole (BEGIN IMMEDIATE), which the stateful
# test's concurrent pushes exercise already.
@pytest.mark.parametrize("api_target", ["postgresql"], indirect=True)
def test_concurrent_pushes_of_the_same_days_never_mix(
    api_target: OpsTarget, api_store: OpsStore, tmp_path: Path
) -> None:
    from platform_defs.ops.usage import create_api_key

    with api_store.session() as session:
        token = create_api_key(session, "contended", [PORT]).token
    with ApiServer(api_target.url, api_target.schema, workers=2) as server:
        children = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.api.push_child",
                    server.url,
                    token,
                    str(PORT),
                    tag,
                    str(consumers),
                    str(ROUNDS),
                    str(tmp_path),
                ],
                cwd=REPO_ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for tag, consumers in PRODUCERS.items()
        ]
        deadline = time.monotonic() + 60
        while len(list(tmp_path.glob("ready-*"))) < len(children):
            assert time.monotonic() < deadline, "the producers did not start"
            assert all(child.poll() is None for child in children), "a producer died early"
            time.sleep(0.05)
        (tmp_path / "go").touch()
        outputs = [child.communicate(timeout=300) for child in children]
    for child, (_, err) in zip(children, outputs, strict=True):
        assert child.returncode == 0, err
    lines = [line.split() for out, _ in outputs for line in out.splitlines()]
    pushed = {uuid.UUID(value) for kind, value in lines if kind == "push"}
    assert len(pushed) == ROUNDS * len(PRODUCERS)
    # Never, at any moment a producer looked, did a day hold rows of two pushes.
    assert {int(value) for kind, value in lines if kind == "seen"} <= set(PRODUCERS.values())

    by_day: dict[object, set[tuple[uuid.UUID, uuid.UUID]]] = defaultdict(set)
    for (_, on, consumer), (_, push_id) in query_rows(api_store).items():
        by_day[on].add((push_id, consumer))
    with api_store.session() as session:
        log = {row.push_id: row for row in session.scalars(select(UsagePush))}
    last_by_sequence = max(log.values(), key=lambda row: row.sequence)
    for on in (day(1), day(2), day(3)):
        push_ids = {push_id for push_id, _ in by_day[on]}
        assert len(push_ids) == 1, f"{on}: rows of {len(push_ids)} pushes"
        (winner,) = push_ids
        consumers = {consumer for _, consumer in by_day[on]}
        assert consumers in (
            {uid(f"a-{n}") for n in range(PRODUCERS["a"])},
            {uid(f"b-{n}") for n in range(PRODUCERS["b"])},
        )
        # Every push covers all three days: the last committed one holds each of them.
        assert winner == last_by_sequence.push_id

    assert set(log) == pushed
    assert sorted(row.sequence for row in log.values()) == list(range(1, len(pushed) + 1))
    with api_store.session() as session:
        cursor_read = committed_pushes_after(session, 0, limit=1000)
    assert [push.sequence for push in cursor_read] == list(range(1, len(pushed) + 1))
