"""A floe project with one landing-zone pipeline, driven as the platform drives it: the real
sensor evaluated tick by tick (``build_sensor_context``), each run it requests executed in
process with its run config, the ops store on SQLite or on the local PostgreSQL."""

from __future__ import annotations

import os
import textwrap
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from pyiceberg.catalog import load_catalog

from platform_defs.config import Project, load_project
from platform_defs.ingestion.assets import ingestion_definitions
from platform_defs.landing.demo import execute_request
from platform_defs.landing.sensors import landing_definitions
from platform_defs.ops import OpsStore, RawIngestManifest, manifest_rows
from platform_defs.ops.definitions import ops_definitions
from platform_defs.ops.resource import OpsStoreResource

PIPELINE = "activity"
SENSOR = f"landing_{PIPELINE}"
TABLE = "bronze.daily_activity"
HEADER = "Id,ActivityDate,TotalSteps\n"

FLOE_YAML = """\
version: 1
ingestion:
  - name: activity
    destination: bronze.daily_activity
    write_disposition: {disposition}
    primary_key: [Id, ActivityDate]
    landing_zone: true
    dlt:
      source: dlt.sources.filesystem
      config: {{bucket_url: wearable, file_glob: "daily_activity*.csv", format: csv}}
      columns:
        Id: {{data_type: bigint, nullable: false}}
        ActivityDate: {{data_type: date, nullable: false}}
        TotalSteps: {{data_type: bigint}}
"""

MANIFEST = """\
version: 1
catalog:
  uri: sqlite:///.floe/catalog.db
  warehouse: .floe/warehouse
landing_zone:
  root: landing
  max_files_per_run: {max_files}
ops:
  url: '{ops_url}'
  schema: {ops_schema}
"""


@dataclass
class Landing:
    """The project, its Definitions and instance, and what a test does to them."""

    root: Path
    project: Project
    defs: dg.Definitions
    instance: dg.DagsterInstance
    ops_store: OpsStoreResource
    runs: list[dg.ExecuteInProcessResult] = field(default_factory=list)
    cursor: str | None = None

    @property
    def folder(self) -> Path:
        return self.root / "landing" / "wearable"

    def drop(self, name: str, rows: str, *, header: str = HEADER) -> Path:
        """Write a file (a new mtime, even within one clock tick)."""
        path = self.folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(header + rows, encoding="utf-8")
        stamp = time.time_ns() + len(self.runs) * 1000 + 1000
        os.utime(path, ns=(stamp, stamp))
        return path

    def tick(self) -> list[dg.RunRequest]:
        """One evaluation, with the cursor the previous one left (as the daemon keeps it)."""
        sensor = self.defs.resolve_sensor_def(SENSOR)
        with dg.build_sensor_context(
            instance=self.instance, resources={"ops_store": self.ops_store}, cursor=self.cursor
        ) as context:
            result = sensor(context)
        assert isinstance(result, dg.SensorResult)
        if result.cursor is not None:
            self.cursor = result.cursor
        return list(result.run_requests or [])

    def settle(self) -> list[dg.RunRequest]:
        """Two ticks: the first sees new files as settling, the second requests them."""
        first = self.tick()
        return first + self.tick()

    def execute(self, request: dg.RunRequest) -> dg.ExecuteInProcessResult:
        result = execute_request(self.defs, self.instance, request)
        self.runs.append(result)
        return result

    def materialize(self) -> dg.ExecuteInProcessResult:
        """A run without the sensor (schedule, UI): it chooses the files itself."""
        return self.execute(
            dg.RunRequest(asset_selection=[dg.AssetKey(["bronze", "daily_activity"])])
        )

    def ingest(self) -> list[dg.ExecuteInProcessResult]:
        """Tick until nothing is requested; execute each request."""
        done = []
        for request in self.settle():
            result = self.execute(request)
            assert result.success, result
            done.append(result)
        return done

    def rows(self) -> list[tuple[Any, ...]]:
        context = self.project.plugin_context()
        catalog = load_catalog(context.catalog_name, **context.catalog_properties)
        if not catalog.table_exists(TABLE):
            return []
        data = catalog.load_table(TABLE).scan().to_arrow()
        return sorted(
            zip(
                data.column("id").to_pylist(),
                [d.isoformat() for d in data.column("activity_date").to_pylist()],
                data.column("total_steps").to_pylist(),
                data.column("_floe_source_file").to_pylist(),
                strict=True,
            )
        )

    def snapshots(self) -> int:
        context = self.project.plugin_context()
        catalog = load_catalog(context.catalog_name, **context.catalog_properties)
        return len(catalog.load_table(TABLE).snapshots()) if catalog.table_exists(TABLE) else 0

    def manifest(self) -> dict[str, RawIngestManifest]:
        """The newest row of each file."""
        with self.ops_store.session() as session:
            newest: dict[str, RawIngestManifest] = {}
            for row in manifest_rows(session, PIPELINE):
                newest.setdefault(row.source_filename, row)
            return newest


def _drop_schema(dsn: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def make_landing(
    root: Path, ops_url: str, ops_schema: str, *, disposition: str = "merge", max_files: int = 500
) -> Landing:
    root.mkdir(parents=True, exist_ok=True)
    (root / "floe.yaml").write_text(FLOE_YAML.format(disposition=disposition))
    (root / "platform-manifest.yaml").write_text(
        MANIFEST.format(ops_url=ops_url, ops_schema=ops_schema, max_files=max_files)
    )
    (root / "landing" / "wearable").mkdir(parents=True)
    project = load_project(root)
    # the ingestion half of the code location (the dbt half, with the source checks dbt runs
    # on a bronze table, is tested in tests/e2e)
    defs = dg.Definitions.merge(
        ingestion_definitions(project), landing_definitions(project), ops_definitions(project)
    )
    ops_store = OpsStoreResource.from_manifest(project.manifest)
    return Landing(root, project, defs, dg.DagsterInstance.ephemeral(), ops_store)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def landing(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Landing]:
    """The landing project with its ops store on each backend."""
    if request.param == "sqlite":
        yield make_landing(tmp_path / "project", "sqlite:///.floe/ops.db", "ops")
        return
    dsn = request.getfixturevalue("postgres_dsn")
    schema = f"ops_landing_{uuid.uuid4().hex[:12]}"
    try:
        yield make_landing(tmp_path / "project", dsn, schema)
    finally:
        _drop_schema(dsn, schema)


@pytest.fixture
def landing_sqlite(tmp_path: Path) -> Landing:
    return make_landing(tmp_path / "project", "sqlite:///.floe/ops.db", "ops")


def store_of(landing: Landing) -> OpsStore:
    return landing.ops_store.store


def dedent(text: str) -> str:
    return textwrap.dedent(text)
