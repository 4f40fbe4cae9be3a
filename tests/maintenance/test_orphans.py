"""Orphan files: unreferenced and older than the threshold are deleted, nothing else."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from pyiceberg.table import Table

from platform_defs.maintenance import remove_orphan_files
from platform_defs.maintenance.storage import file_key

from .conftest import age, age_everything, files_under, local_dir, policy, sorted_rows

pytestmark = pytest.mark.integration


def test_old_orphans_go_young_ones_and_referenced_files_stay(
    make_table: Callable[..., Table],
) -> None:
    table = make_table(appends=3)
    expected = sorted_rows(table)
    root = local_dir(table.location())
    old_data = root / "data" / "00000-0-crashed-writer.parquet"
    old_metadata = root / "metadata" / "snap-123-0-failed-commit.avro"
    in_flight = root / "data" / "00000-0-commit-in-flight.parquet"
    for path in (old_data, old_metadata, in_flight):
        path.write_bytes(b"x" * 100)
    # Every file, referenced or not, is old now: only references protect the table's own.
    age_everything(table, hours=48)
    age(in_flight, hours=1)
    before = files_under(table, "data") | files_under(table, "metadata")

    removed = remove_orphan_files(
        table, policy(orphan_files_older_than_hours=24), now=datetime.now(UTC)
    )

    assert {file_key(orphan.uri) for orphan in removed} == {str(old_data), str(old_metadata)}
    assert sum(orphan.size for orphan in removed) == 200
    assert not old_data.exists() and not old_metadata.exists() and in_flight.exists()
    assert files_under(table, "data") | files_under(table, "metadata") == before - {
        old_data,
        old_metadata,
    }
    assert sorted_rows(table).equals(expected)
    for snapshot in table.snapshots():
        table.scan(snapshot_id=snapshot.snapshot_id).to_arrow()


def test_metadata_json_out_of_the_log_is_an_orphan(make_table: Callable[..., Table]) -> None:
    """pyiceberg keeps previous metadata files in the log; one that left it is unreferenced."""
    table = make_table(appends=3)
    logged = [entry.metadata_file for entry in table.metadata.metadata_log]
    assert len(logged) == 3
    with table.transaction() as txn:  # from now the log holds only the file before the current
        txn.set_properties({"write.metadata.previous-versions-max": "1"})
    age_everything(table, hours=48)

    removed = remove_orphan_files(table, policy(), now=datetime.now(UTC))

    assert {orphan.uri for orphan in removed} == set(logged)
    remaining = {p.as_uri() for p in files_under(table, "metadata") if p.suffix == ".json"}
    assert table.metadata_location in remaining
    assert {entry.metadata_file for entry in table.metadata.metadata_log} <= remaining


def test_dry_run_deletes_nothing(make_table: Callable[..., Table]) -> None:
    table = make_table(appends=2)
    orphan = local_dir(table.location()) / "data" / "left-over.parquet"
    orphan.write_bytes(b"x")
    age(orphan, hours=48)

    found = remove_orphan_files(table, policy(), now=datetime.now(UTC), dry_run=True)

    assert [file_key(o.uri) for o in found] == [str(orphan)] and orphan.exists()
