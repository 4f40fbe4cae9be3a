"""Compaction: fewer files, exactly the same rows, one tagged commit, conflicts retried."""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyiceberg.catalog import Catalog
from pyiceberg.table import Table
from pyiceberg.types import DoubleType

from platform_defs.maintenance import MAINTENANCE_PROPERTY, compact_small_files
from platform_defs.maintenance import table_maintenance as tm

from .conftest import append, files_under, live_data_files, policy, rows, sorted_rows

pytestmark = pytest.mark.integration


def test_compaction_reduces_files_and_keeps_every_row(make_table: Callable[..., Table]) -> None:
    table = make_table(appends=12)
    expected = sorted_rows(table)
    snapshots = len(table.snapshots())
    assert len(live_data_files(table)) == 12

    rewritten, written, snapshot_id = compact_small_files(
        table, policy(compact_when_small_files_at_least=10)
    )

    assert (len(rewritten), written) == (12, 1)
    assert len(live_data_files(table)) == 1
    assert sorted_rows(table).equals(expected)
    assert len(table.snapshots()) == snapshots + 1  # ONE commit
    head = table.current_snapshot()
    assert head is not None and head.snapshot_id == snapshot_id and head.summary is not None
    assert head.summary.get(MAINTENANCE_PROPERTY) == "compaction"
    assert head.summary["deleted-data-files"] == "12" and head.summary["added-data-files"] == "1"
    assert head.summary["total-records"] == str(expected.num_rows)
    # The new file carries the table's Parquet field ids (readers that map by id need them).
    (path,) = live_data_files(table)
    fields = pq.read_schema(path.removeprefix("file://"))
    assert [f.metadata[b"PARQUET:field_id"] for f in fields] == [b"1", b"2"]


def test_too_few_small_files_are_left_alone(make_table: Callable[..., Table]) -> None:
    table = make_table(appends=3)
    before = table.metadata_location
    assert compact_small_files(table, policy(compact_when_small_files_at_least=4)) == ([], 0, None)
    assert table.refresh().metadata_location == before


def test_a_file_of_the_small_size_is_not_small(make_table: Callable[..., Table]) -> None:
    table = make_table(appends=4)
    smallest = min(task.file.file_size_in_bytes for task in table.scan().plan_files())
    limit = policy(compact_when_small_files_at_least=2, small_file_bytes=smallest)
    assert compact_small_files(table, limit) == ([], 0, None)


def test_groups_are_bounded_by_the_target_size(make_table: Callable[..., Table]) -> None:
    table = make_table(appends=6)
    expected = sorted_rows(table)
    size = max(task.file.file_size_in_bytes for task in table.scan().plan_files())
    rewritten, written, _ = compact_small_files(
        table,
        policy(
            compact_when_small_files_at_least=2,
            small_file_bytes=size + 1,
            target_file_bytes=2 * size,
        ),
    )
    assert (len(rewritten), written) == (6, 3)
    assert sorted_rows(table).equals(expected)


def test_files_written_before_a_new_column_keep_their_rows(
    make_table: Callable[..., Table],
) -> None:
    table = make_table(appends=3)
    with table.update_schema() as update:
        update.add_column("score", DoubleType())
    wide = rows(7).append_column("score", pa.array([1.5, None, 2.5]))
    table.append(wide)
    expected = sorted_rows(table)

    compact_small_files(table, policy(compact_when_small_files_at_least=2))

    assert len(live_data_files(table)) == 1
    assert sorted_rows(table).equals(expected)
    assert sorted_rows(table).column("score").null_count == 9 + 1


def test_a_concurrent_commit_is_retried_and_the_failed_attempt_leaves_no_file(
    make_table: Callable[..., Table],
    catalog: Catalog,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    table = make_table(appends=4)
    other_writer = catalog.load_table("bronze.events")
    rewrite = tm._rewrite
    attempts: list[int] = []

    def rewrite_racing_a_writer(*args, **kwargs):  # type: ignore[no-untyped-def]
        if not attempts:  # another process commits while the first attempt rewrites
            append(other_writer.refresh(), 50)
        attempts.append(1)
        return rewrite(*args, **kwargs)

    monkeypatch.setattr(tm, "_rewrite", rewrite_racing_a_writer)

    rewritten, written, _ = compact_small_files(table, policy(compact_when_small_files_at_least=2))

    assert len(attempts) == 2  # the first commit was refused, the second re-planned
    assert (len(rewritten), written) == (5, 1)  # the concurrent file is compacted too
    assert sorted_rows(table).num_rows == 5 * 3
    data = {p.as_uri() for p in files_under(table, "data")}
    referenced = {
        task.file.file_path
        for snapshot in table.snapshots()
        for task in table.scan(snapshot_id=snapshot.snapshot_id).plan_files()
    }
    assert data == referenced, "the refused attempt's file was left behind"


def test_dry_run_writes_nothing(make_table: Callable[..., Table]) -> None:
    table = make_table(appends=4)
    files = files_under(table, "data") | files_under(table, "metadata")
    rewritten, written, snapshot_id = compact_small_files(
        table, policy(compact_when_small_files_at_least=2), dry_run=True
    )
    assert (len(rewritten), written, snapshot_id) == (4, 0, None)
    assert files_under(table, "data") | files_under(table, "metadata") == files
