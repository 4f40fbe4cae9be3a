"""`maintain_table`: all steps together keep a table bounded; a dry run changes nothing."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pyiceberg.table import Table

from platform_defs.maintenance import maintain_table

from .conftest import (
    age,
    age_everything,
    append,
    days_later,
    files_under,
    live_data_files,
    local_dir,
    policy,
    rows,
    sorted_rows,
)

pytestmark = pytest.mark.integration


def _metadata_json(table: Table) -> int:
    return sum(1 for p in files_under(table, "metadata") if p.name.endswith(".metadata.json"))


def test_ten_runs_of_a_replacing_writer_are_bounded(make_table: Callable[..., Table]) -> None:
    """Issue #6: runs that rewrite the table, then runs that each add a small file; maintenance
    leaves the last K snapshots and their files, one live file, a bounded metadata log, and
    exactly the same rows."""
    table = make_table()
    for run in range(10):
        table.overwrite(rows(run))
    for run in range(10):
        append(table, 100 + run)
    expected = sorted_rows(table)
    age_everything(table, hours=8 * 24)  # the runs happened over the past week and more
    orphan = local_dir(table.location()) / "data" / "crashed-run.parquet"
    orphan.write_bytes(b"x" * 10)
    age(orphan, hours=48)
    before = (len(table.snapshots()), len(files_under(table, "data")), _metadata_json(table))

    report = maintain_table(table, policy(), now=days_later(8))

    assert sorted_rows(table).equals(expected)
    assert len(table.snapshots()) == 5 and report.snapshots_expired == before[0] - 5 + 1
    assert report.compacted_files_before == 11 and report.compacted_files_after == 1
    still_read = {
        task.file.file_path
        for snapshot in table.snapshots()
        for task in table.scan(snapshot_id=snapshot.snapshot_id).plan_files()
    }
    assert {p.as_uri() for p in files_under(table, "data")} == still_read
    assert report.data_files_removed > 0 and report.orphan_files_removed == 1
    assert report.orphan_bytes_removed == 10
    assert _metadata_json(table) <= 10 + 1 < before[2]
    assert len(live_data_files(table)) == 1
    for _ in range(15):  # every later commit keeps the metadata log bounded by itself
        append(table, 500)
    assert _metadata_json(table) <= 10 + 1


def test_dry_run_reports_and_changes_nothing(make_table: Callable[..., Table]) -> None:
    table = make_table()
    for run in range(6):
        table.overwrite(rows(run))
    for run in range(10):
        append(table, 100 + run)
    orphan = local_dir(table.location()) / "metadata" / "failed-commit.avro"
    orphan.write_bytes(b"x" * 7)
    age(orphan, hours=48)
    files = files_under(table, "data") | files_under(table, "metadata")
    location, properties = table.metadata_location, dict(table.metadata.properties)

    report = maintain_table(table, policy(keep_last_snapshots=2), dry_run=True, now=days_later(30))

    assert report.dry_run and report.snapshots_expired > 0 and report.data_files_removed > 0
    assert report.compacted_files_before == 11 and report.orphan_files_removed == 1
    assert report.properties_set and report.removed
    assert table.refresh().metadata_location == location
    assert dict(table.metadata.properties) == properties
    assert files_under(table, "data") | files_under(table, "metadata") == files


def test_a_table_without_snapshots_is_left_as_it_is(make_table: Callable[..., Table]) -> None:
    table = make_table()
    report = maintain_table(table, policy(), now=days_later(30))
    assert (report.snapshots_expired, report.compacted_files_before) == (0, 0)
    assert report.orphan_files_removed == 0 and table.snapshots() == []
