"""Fixtures for table maintenance: real Iceberg tables in a temp SQLite catalog, written with
pyiceberg directly (each append one snapshot and one small file)."""

from __future__ import annotations

import os
import textwrap
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

import pyarrow as pa
import pytest
import stamina
from pyiceberg.catalog import Catalog, load_catalog
from pyiceberg.table import Table

from platform_defs.config import MaintenancePolicy
from tests.catalogs import local_catalog_properties

SCHEMA = pa.schema([pa.field("id", pa.int64()), pa.field("name", pa.string())])
HOUR = 3600


@pytest.fixture(autouse=True)
def _no_retry_waits() -> Iterator[None]:
    stamina.set_testing(True, attempts=3)
    yield
    stamina.set_testing(False)


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    catalog = load_catalog("floe", **local_catalog_properties(tmp_path))
    catalog.create_namespace("bronze")
    return catalog


@pytest.fixture
def make_table(catalog: Catalog) -> Callable[..., Table]:
    def make(name: str = "bronze.events", appends: int = 0) -> Table:
        table = catalog.create_table(name, schema=SCHEMA)
        for batch in range(appends):
            append(table, batch)
        return table

    return make


def rows(batch: int, count: int = 3) -> pa.Table:
    ids = [batch * 1000 + i for i in range(count)]
    return pa.table({"id": ids, "name": [f"row {i}" for i in ids]}, schema=SCHEMA)


def append(table: Table, batch: int) -> None:
    table.append(rows(batch))
    time.sleep(0.002)  # distinct snapshot timestamps (milliseconds)


def policy(**overrides: object) -> MaintenancePolicy:
    return MaintenancePolicy.model_validate(overrides)


def days_later(days: float) -> datetime:
    """A `now` for the maintenance functions: every snapshot looks `days` older."""
    return datetime.now(UTC) + timedelta(days=days)


def sorted_rows(table: Table, snapshot_id: int | None = None) -> pa.Table:
    return table.scan(snapshot_id=snapshot_id).to_arrow().sort_by("id")


def local_dir(location: str) -> Path:
    return Path(urlparse(location).path)


def files_under(table: Table, directory: str) -> set[Path]:
    return {p for p in (local_dir(table.location()) / directory).rglob("*") if p.is_file()}


def live_data_files(table: Table) -> set[str]:
    return {task.file.file_path for task in table.scan().plan_files()}


def age(path: Path, hours: float) -> None:
    """Make `path` look `hours` old (its modification time)."""
    then = time.time() - hours * HOUR
    os.utime(path, (then, then))


def age_everything(table: Table, hours: float) -> None:
    for path in files_under(table, "data") | files_under(table, "metadata"):
        age(path, hours)


def write_project(root: Path, destinations: list[str], maintenance: str = "") -> Path:
    """A floe project whose floe.yaml writes to `destinations` (SQLite catalog under .floe)."""
    entries = "".join(
        textwrap.dedent(
            f"""\
            - name: {destination.replace(".", "_")}
              destination: {destination}
              dlt:
                source: dlt.sources.filesystem
                config: {{bucket_url: data, file_glob: "*.csv", format: csv}}
            """
        )
        for destination in destinations
    )
    (root / "data").mkdir(exist_ok=True)  # the dlt filesystem source's bucket_url
    (root / "floe.yaml").write_text("version: 1\ningestion:\n" + textwrap.indent(entries, "  "))
    (root / "platform-manifest.yaml").write_text(
        "version: 1\n"
        "catalog: {name: floe, uri: 'sqlite:///.floe/catalog.db', warehouse: .floe/warehouse}\n"
        + maintenance
    )
    return root
