"""Committed pushes into the daily-partitioned bronze usage tables: the sensor's run
requests, one day's replacement, exactly once, bronze equal to the ops tables."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

import dagster as dg
import pytest
from pyiceberg.table import Table

from platform_defs.usage.assets import ASSET_KEYS
from platform_defs.usage.bronze import ASSET_STATS, QUERY_STATS, TABLES
from platform_defs.usage.sensors import RANGE_END_TAG, RANGE_START_TAG, run_key
from tests.usage.conftest import C1, C2, C3, D1, D2, D3, T1, T2, P, Q, UsagePlatform

pytestmark = pytest.mark.integration


def _keys(result: dg.SensorResult) -> list[tuple[str | None, str | None]]:
    return [(r.partition_key, r.run_key) for r in result.run_requests or []]


def _files_by_day(table: Table) -> dict[date, set[str]]:
    """Live data files per day (the table is partitioned by day(date))."""
    files: dict[date, set[str]] = defaultdict(set)
    for task in table.scan().plan_files():
        days = {
            row["date"]
            for row in table.scan(row_filter=f"date = '{_day_of(task)}'").to_arrow().to_pylist()
        }
        assert len(days) == 1
        files[days.pop()].add(task.file.file_path)
    return dict(files)


def _day_of(task) -> str:  # type: ignore[no-untyped-def]
    # The partition value of day(date) is days since the epoch.
    return date.fromordinal(date(1970, 1, 1).toordinal() + task.file.partition[0]).isoformat()


def test_sensor_requests_one_run_per_touched_day_once(usage: UsagePlatform) -> None:
    first = usage.push(P, [(D1, C1, 1), (D3, C1, 2)])
    second = usage.push(Q, [(D3, C2, 3)])

    result = usage.tick()
    assert _keys(result) == [
        ("2026-10-01", run_key(D1, first.sequence)),
        ("2026-10-03", run_key(D3, second.sequence)),
    ]
    for request in result.run_requests or []:
        assert set(request.asset_selection or []) == set(ASSET_KEYS)
        assert request.asset_check_keys == []
    assert result.cursor == str(second.sequence)

    # Nothing new: no request; the same state read again: the same run keys.
    assert not usage.tick().run_requests
    assert _keys(usage.tick(None, advance=False)) == _keys(result)

    # A new push of a day already ingested: a new key for that day only.
    third = usage.push(P, [(D3, C1, 5)])
    again = usage.tick()
    assert _keys(again) == [("2026-10-03", run_key(D3, third.sequence))]
    assert run_key(D3, third.sequence) != run_key(D3, second.sequence)
    assert again.cursor == str(third.sequence)


def test_consecutive_days_are_one_run_of_their_range(usage: UsagePlatform) -> None:
    days = [date(2026, 8, 1) + timedelta(days=n) for n in range(40)]
    push = usage.push(P, [(day, C1, n) for n, day in enumerate(days)])
    late = usage.push(Q, [(D3, C2, 1)])

    requests = usage.tick().run_requests or []
    ranges = [(r.tags.get(RANGE_START_TAG), r.tags.get(RANGE_END_TAG)) for r in requests]
    assert ranges == [("2026-08-01", "2026-08-31"), ("2026-09-01", "2026-09-09"), (None, None)]
    assert requests[0].run_key == f"usage:2026-08-01..2026-08-31:{push.sequence}"
    assert requests[2].partition_key == "2026-10-03"
    assert requests[2].run_key == run_key(D3, late.sequence)

    run = usage.execute(requests[1])
    [materialization, *rest] = run.asset_materializations_for_node(
        "bronze__output_port_query_stats_daily"
    )
    assert [m.partition for m in [materialization, *rest]] == [d.isoformat() for d in days[31:]]
    per_day = materialization.metadata["floe/days"].value
    assert [d["rows"] for d in per_day] == [1] * 9
    # each day is its own commit
    assert len({d["snapshot_id"] for d in per_day}) == 9
    assert usage.bronze(QUERY_STATS) == [
        row for row in usage.ops(QUERY_STATS) if row[0] in days[31:]
    ]


def test_a_materialization_replaces_exactly_its_day(usage: UsagePlatform) -> None:
    usage.push(
        P,
        [(D1, C1, 1), (D2, C1, 2), (D3, C1, 3)],
        [(D1, T1, C1, 1), (D2, T1, C1, 2), (D3, T1, C1, 3)],
    )
    usage.ingest()
    table = usage.table(QUERY_STATS)
    before = _files_by_day(table)
    assert set(before) == {D1, D2, D3}
    snapshots = len(table.snapshots())

    usage.push(P, [(D2, C1, 20), (D2, C2, 7)], [(D2, T2, C2, 7)])
    [run] = usage.ingest()
    for key in ASSET_KEYS:
        [materialization] = run.asset_materializations_for_node("__".join(key.path))
        assert materialization.partition == "2026-10-02"
        assert materialization.metadata["dagster/partition_row_count"].value > 0

    table = usage.table(QUERY_STATS)
    after = _files_by_day(table)
    assert after[D1] == before[D1] and after[D3] == before[D3]  # other days untouched
    assert after[D2].isdisjoint(before[D2])
    assert len(table.snapshots()) == snapshots + 1
    summary = table.current_snapshot().summary  # type: ignore[union-attr]
    assert summary["deleted-data-files"] == str(len(before[D2]))
    assert summary["added-data-files"] == str(len(after[D2]))
    assert summary["floe.usage.date"] == "2026-10-02"
    assert usage.bronze(QUERY_STATS) == usage.ops(QUERY_STATS)
    assert usage.bronze(ASSET_STATS) == usage.ops(ASSET_STATS)


def test_a_rerun_of_the_same_state_commits_nothing(usage: UsagePlatform) -> None:
    usage.push(P, [(D1, C1, 1)], [(D1, T1, C1, 1)])
    [request] = usage.tick().run_requests or []
    usage.execute(request)
    snapshots = {t.name: len(usage.table(t).snapshots()) for t in TABLES}

    # A retried run, or the daemon relaunching after a crash that followed the commit.
    rerun = usage.execute(request)
    assert {t.name: len(usage.table(t).snapshots()) for t in TABLES} == snapshots
    [materialization] = rerun.asset_materializations_for_node(
        "bronze__output_port_query_stats_daily"
    )
    assert materialization.metadata["floe/already_committed"].value is True


def test_a_push_landing_before_its_run_is_ingested_once(usage: UsagePlatform) -> None:
    usage.push(P, [(D1, C1, 1)])
    [early] = usage.tick().run_requests or []
    usage.push(P, [(D1, C1, 9)])  # committed after the request, before its run started

    usage.execute(early)  # reads the day as it is when it runs: the second push
    assert usage.bronze(QUERY_STATS) == usage.ops(QUERY_STATS)
    snapshots = len(usage.table(QUERY_STATS).snapshots())
    [late] = usage.tick().run_requests or []
    assert late.run_key != early.run_key
    usage.execute(late)  # the same version: nothing to commit
    assert len(usage.table(QUERY_STATS).snapshots()) == snapshots


def test_bronze_equals_the_ops_tables_after_several_pushes(usage: UsagePlatform) -> None:
    usage.push(P, [(D1, C1, 4), (D1, C2, 0), (D2, C1, 1)], [(D1, T1, C1, 4), (D2, T2, C1, 1)])
    usage.push(Q, [(D1, C3, 2)], [(D1, T1, C3, 1), (D1, T2, C3, 1)])
    usage.ingest()
    # P re-pushes D1 (fewer consumers) and D3; Q re-pushes D1 without asset rows, so D1 of
    # tech_asset_stats keeps P's rows only.
    usage.push(P, [(D1, C1, 5), (D3, C2, 2)], [(D1, T2, C1, 5), (D3, T1, C2, 2)])
    usage.push(Q, [(D1, C3, 0)])
    usage.ingest()
    usage.push(P, [(D2, C2, 8)])  # P's D2 without asset rows: that day empties in table 2
    usage.ingest()

    for table in TABLES:
        assert usage.bronze(table) == usage.ops(table), table.name
    assert not [row for row in usage.bronze(ASSET_STATS) if row[0] == D2]


def test_a_day_without_any_push_creates_the_empty_table(usage: UsagePlatform) -> None:
    request = dg.RunRequest(
        partition_key="2026-09-01", asset_selection=list(ASSET_KEYS), asset_check_keys=[]
    )
    usage.execute(request)
    for table in TABLES:
        iceberg = usage.table(table)
        assert iceberg.current_snapshot() is None
        assert [f.name for f in iceberg.spec().fields] == ["date_day"]
