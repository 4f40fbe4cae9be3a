"""Snapshot expiry: older than N days, never the last K, and the files only they referenced."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from pyiceberg.table import Table

from platform_defs.maintenance import MAINTENANCE_PROPERTY, compact_small_files, expire_snapshots

from .conftest import append, days_later, files_under, policy, rows, sorted_rows

pytestmark = pytest.mark.integration


def test_expire_keeps_the_last_k_however_old(make_table: Callable[..., Table]) -> None:
    table = make_table(appends=8)
    newest = [s.snapshot_id for s in table.snapshots()][-3:]

    expiry = expire_snapshots(
        table, policy(expire_snapshots_older_than_days=7, keep_last_snapshots=3), now=days_later(30)
    )

    assert len(expiry.snapshot_ids) == 5
    assert [s.snapshot_id for s in table.snapshots()] == newest
    assert sorted_rows(table).num_rows == 8 * 3


def test_expire_removes_only_snapshots_older_than_n_days(make_table: Callable[..., Table]) -> None:
    table = make_table(appends=8)
    snapshots = table.snapshots()
    # `now` such that exactly the first three snapshots are older than 7 days.
    fourth = datetime.fromtimestamp(snapshots[3].timestamp_ms / 1000, tz=UTC)
    now = fourth + timedelta(days=7)

    expiry = expire_snapshots(
        table, policy(expire_snapshots_older_than_days=7, keep_last_snapshots=1), now=now
    )

    assert sorted(expiry.snapshot_ids) == sorted(s.snapshot_id for s in snapshots[:3])
    assert [s.snapshot_id for s in table.snapshots()] == [s.snapshot_id for s in snapshots[3:]]


def test_nothing_young_enough_is_expired(make_table: Callable[..., Table]) -> None:
    table = make_table(appends=4)
    expiry = expire_snapshots(table, policy(keep_last_snapshots=1), now=days_later(0))
    assert expiry.snapshot_ids == [] and len(table.snapshots()) == 4


def test_files_only_expired_snapshots_referenced_are_deleted(
    make_table: Callable[..., Table],
) -> None:
    """Each overwrite replaces the table's rows: after expiry, the files no remaining snapshot
    reads, and the expired snapshots' manifest lists, are gone; every remaining snapshot
    still reads what it read before."""
    table = make_table()
    for batch in range(6):
        table.overwrite(rows(batch))
    data_before = {p.as_uri() for p in files_under(table, "data")}
    assert len(data_before) == 6
    read_before = {s.snapshot_id: sorted_rows(table, s.snapshot_id) for s in table.snapshots()}
    manifest_lists = {s.manifest_list for s in table.snapshots()}

    expiry = expire_snapshots(
        table, policy(expire_snapshots_older_than_days=1, keep_last_snapshots=2), now=days_later(2)
    )

    remaining = table.snapshots()
    assert len(remaining) == 2 and len(expiry.snapshot_ids) == len(read_before) - 2
    still_read = {
        task.file.file_path
        for snapshot in remaining
        for task in table.scan(snapshot_id=snapshot.snapshot_id).plan_files()
    }
    assert {p.as_uri() for p in files_under(table, "data")} == still_read
    assert set(expiry.data_files) == data_before - still_read
    assert len(expiry.data_files) >= 4
    for snapshot in remaining:
        assert sorted_rows(table, snapshot.snapshot_id).equals(read_before[snapshot.snapshot_id])
    assert sorted_rows(table).equals(rows(5).sort_by("id"))
    expired_lists = manifest_lists - {s.manifest_list for s in remaining}
    assert expired_lists and expired_lists <= set(expiry.metadata_files)
    assert not expired_lists & {p.as_uri() for p in files_under(table, "metadata")}


def test_dry_run_expires_and_deletes_nothing(make_table: Callable[..., Table]) -> None:
    table = make_table()
    for batch in range(4):
        table.overwrite(rows(batch))
    files = files_under(table, "data") | files_under(table, "metadata")
    location, count = table.metadata_location, len(table.snapshots())

    expiry = expire_snapshots(
        table, policy(keep_last_snapshots=1), now=days_later(30), dry_run=True
    )

    assert len(expiry.snapshot_ids) == count - 1 and len(expiry.data_files) == 3
    assert table.refresh().metadata_location == location and len(table.snapshots()) == count
    assert files_under(table, "data") | files_under(table, "metadata") == files


def test_a_writers_last_snapshot_outlives_maintenance_snapshots(
    make_table: Callable[..., Table],
) -> None:
    """With K=1 the compaction snapshot alone would be kept; the append before it carries the
    writer's bookkeeping (the dlt state) and stays in the current history."""
    table = make_table(appends=4)
    compact_small_files(table, policy(compact_when_small_files_at_least=2))
    head = table.current_snapshot()
    assert head is not None and head.summary is not None
    assert head.summary.get(MAINTENANCE_PROPERTY) == "compaction"
    writer = head.parent_snapshot_id

    expire_snapshots(table, policy(keep_last_snapshots=1), now=days_later(30))

    assert [s.snapshot_id for s in table.snapshots()] == [writer, head.snapshot_id]
    append(table, 9)
    expire_snapshots(table, policy(keep_last_snapshots=1), now=days_later(30))
    assert [s.snapshot_id for s in table.snapshots()] == [table.current_snapshot().snapshot_id]
