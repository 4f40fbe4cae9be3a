"""The production catalog: maintenance on a pyiceberg SQL catalog in PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyiceberg.catalog import Catalog, load_catalog

from platform_defs.maintenance import maintain_table

from .conftest import SCHEMA, age, append, days_later, files_under, local_dir, policy, sorted_rows

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


@pytest.fixture
def postgres_catalog(postgres_dsn: str, tmp_path: Path) -> Iterator[Catalog]:
    """A catalog name of its own, so parallel runs never see each other's tables."""
    catalog = load_catalog(
        f"floe_test_{uuid.uuid4().hex[:12]}",
        type="sql",
        uri=postgres_dsn.replace("postgresql://", "postgresql+psycopg://", 1),
        warehouse=(tmp_path / "warehouse").as_uri(),
    )
    catalog.create_namespace("bronze")
    yield catalog
    for identifier in catalog.list_tables("bronze"):
        catalog.drop_table(identifier)
    catalog.drop_namespace("bronze")
    catalog.engine.dispose()  # type: ignore[attr-defined]


def test_maintenance_on_a_postgres_catalog(postgres_catalog: Catalog) -> None:
    table = postgres_catalog.create_table("bronze.events", schema=SCHEMA)
    for batch in range(12):
        append(table, batch)
    expected = sorted_rows(table)
    orphan = local_dir(table.location()) / "metadata" / "failed-commit.avro"
    orphan.write_bytes(b"x")
    age(orphan, hours=48)

    report = maintain_table(table, policy(keep_last_snapshots=2), now=days_later(30))

    reloaded = postgres_catalog.load_table("bronze.events")
    assert len(reloaded.snapshots()) == 2 and report.snapshots_expired == 11
    assert (report.compacted_files_before, report.compacted_files_after) == (12, 1)
    assert report.orphan_files_removed == 1 and not orphan.exists()
    assert sorted_rows(reloaded).equals(expected)
    assert reloaded.metadata.properties["write.metadata.delete-after-commit.enabled"] == "true"
    still_read = {
        task.file.file_path
        for snapshot in reloaded.snapshots()
        for task in reloaded.scan(snapshot_id=snapshot.snapshot_id).plan_files()
    }
    assert {p.as_uri() for p in files_under(reloaded, "data")} == still_read
