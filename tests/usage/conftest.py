"""A floe project whose usage tables are fed by pushes, driven as the platform drives it.

Pushes are committed into the ops store (SQLite or a schema of its own on the local
PostgreSQL) by :func:`platform_defs.ops.usage.record_push`, the function behind the API's
POST; the ``usage_pushes`` sensor is evaluated tick by tick (``build_sensor_context``) and
each run it requests is executed in process with its partition key, on a real Iceberg SQL
catalog in a temp dir.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from pyiceberg.catalog import Catalog, load_catalog
from pyiceberg.table import Table

from platform_defs.config import Project, load_project
from platform_defs.landing.demo import execute_request
from platform_defs.ops.definitions import ops_definitions
from platform_defs.ops.resource import OpsStoreResource
from platform_defs.ops.store import OpsStore
from platform_defs.ops.usage import AssetStatRow, PushRecord, QueryStatRow, record_push
from platform_defs.usage.bronze import UsageTable
from platform_defs.usage.definitions import usage_definitions
from platform_defs.usage.sensors import SENSOR_NAME
from tests.ops.conftest import OpsTarget, _drop_schema, unique_schema

# floe.yaml needs a pipeline; this one is never run (the usage tables are not in floe.yaml).
FLOE_YAML = """\
version: 1
ingestion:
  - name: orders
    destination: bronze.orders
    dlt: {source: "json:loads"}
"""
MANIFEST = """\
version: 1
catalog:
  uri: sqlite:///.floe/catalog.db
  warehouse: .floe/warehouse
ops:
  url: '{url}'
  schema: {schema}
"""

# Ports, consumers and assets: fixed UUIDs so failures are readable.
P = uuid.UUID("00000000-0000-4000-8000-00000000000a")
Q = uuid.UUID("00000000-0000-4000-8000-00000000000b")
C1, C2, C3 = (uuid.UUID(f"00000000-0000-4000-8000-0000000000c{i}") for i in (1, 2, 3))
T1, T2 = (uuid.UUID(f"00000000-0000-4000-8000-0000000000f{i}") for i in (1, 2))
D1, D2, D3 = date(2026, 10, 1), date(2026, 10, 2), date(2026, 10, 3)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def ops_target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpsTarget]:
    if request.param == "sqlite":
        yield OpsTarget("sqlite", f"sqlite:///{tmp_path / 'ops.db'}", "ops")
        return
    dsn: str = request.getfixturevalue("postgres_dsn")
    schema = unique_schema()
    try:
        yield OpsTarget("postgresql", dsn, schema)
    finally:
        _drop_schema(dsn, schema)


def write_usage_project(root: Path, target: OpsTarget) -> Project:
    root.mkdir(parents=True, exist_ok=True)
    (root / "floe.yaml").write_text(FLOE_YAML)
    (root / "platform-manifest.yaml").write_text(
        MANIFEST.format(url=target.url, schema=target.schema)
    )
    return load_project(root, check_plugins=False)


@dataclass
class UsagePlatform:
    """The project, its usage Definitions and instance, and what a test does to them."""

    project: Project
    defs: dg.Definitions
    instance: dg.DagsterInstance
    ops_store: OpsStoreResource
    store: OpsStore
    cursor: str | None = None
    runs: list[dg.ExecuteInProcessResult] = field(default_factory=list)

    def push(
        self,
        port: uuid.UUID,
        query_stats: Sequence[tuple[date, uuid.UUID, int]],
        asset_stats: Sequence[tuple[date, uuid.UUID, uuid.UUID, int]] = (),
    ) -> PushRecord:
        """Commit a push as the API does: (day, consumer, count) and (day, asset, consumer,
        count) rows."""
        body = repr((port, query_stats, asset_stats, uuid.uuid4())).encode()
        with self.store.session() as session:
            outcome = record_push(
                session,
                output_port_id=port,
                producer="tests",
                query_stats=[QueryStatRow(d, c, n) for d, c, n in query_stats],
                asset_stats=[AssetStatRow(d, t, c, n) for d, t, c, n in asset_stats],
                body_hash=hashlib.sha256(body).hexdigest(),
            )
        return outcome.record

    def tick(self, cursor: str | None = ..., *, advance: bool = True) -> dg.SensorResult:  # type: ignore[assignment]
        """Evaluate the sensor from ``cursor`` (default: where the last tick left it)."""
        sensor = self.defs.resolve_sensor_def(SENSOR_NAME)
        start = self.cursor if cursor is ... else cursor
        with dg.build_sensor_context(
            instance=self.instance, cursor=start, resources={"ops_store": self.ops_store}
        ) as context:
            result = sensor(context)
        assert isinstance(result, dg.SensorResult)
        if advance and result.cursor is not None:
            self.cursor = result.cursor
        return result

    def execute(self, request: dg.RunRequest) -> dg.ExecuteInProcessResult:
        result = execute_request(self.defs, self.instance, request)
        assert result.success, [e.message for e in result.all_events if e.is_failure]
        self.runs.append(result)
        return result

    def ingest(self) -> list[dg.ExecuteInProcessResult]:
        """One tick; execute every run it requests."""
        return [self.execute(request) for request in self.tick().run_requests or []]

    def catalog(self) -> Catalog:
        context = self.project.plugin_context()
        return load_catalog(context.catalog_name, **context.catalog_properties)

    def table(self, table: UsageTable) -> Table:
        return self.catalog().load_table(table.identifier)

    def bronze(self, table: UsageTable) -> list[tuple[Any, ...]]:
        data = self.table(table).scan().to_arrow()
        return sorted(tuple(row[name] for name in table.columns) for row in data.to_pylist())

    def ops(self, table: UsageTable) -> list[tuple[Any, ...]]:
        from sqlalchemy import select

        model = table.model
        with self.store.session() as session:
            rows = session.execute(select(*(getattr(model, c) for c in table.columns))).all()
        return sorted(
            tuple(value if isinstance(value, date | int) else str(value) for value in row)
            for row in rows
        )


def make_platform(root: Path, target: OpsTarget, instance: dg.DagsterInstance) -> UsagePlatform:
    project = write_usage_project(root, target)
    defs = dg.Definitions.merge(usage_definitions(project), ops_definitions(project))
    store = target.store()
    store.upgrade()
    return UsagePlatform(
        project=project,
        defs=defs,
        instance=instance,
        ops_store=OpsStoreResource.from_manifest(project.manifest),
        store=store,
    )


@pytest.fixture
def usage(tmp_path: Path, ops_target: OpsTarget) -> Iterator[UsagePlatform]:
    with dg.instance_for_test() as instance:
        platform = make_platform(tmp_path / "project", ops_target, instance)
        try:
            yield platform
        finally:
            platform.store.dispose()
