"""The ops store on both backends: a temp SQLite file, and a schema of its own on the local
PostgreSQL (dropped afterwards), so parallel runs never see each other's tables."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine

from platform_defs.ops import OpsStore, create_ops_engine

FLOE_YAML = """\
ingestion:
  - name: orders
    destination: bronze.orders
    dlt: {source: "json:loads"}
"""
CATALOG = "catalog: {uri: 'sqlite:///.floe/catalog.db', warehouse: .floe/warehouse}\n"


def write_project(root: Path, ops: str = "") -> Path:
    """A project whose manifest has the given ``ops:`` block (YAML text; none: defaults)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "floe.yaml").write_text(FLOE_YAML)
    (root / "platform-manifest.yaml").write_text(CATALOG + ops)
    return root


@dataclass(frozen=True)
class OpsTarget:
    """Where a test's ops store lives: as the manifest's ``ops.url`` and ``ops.schema``."""

    backend: str
    url: str
    schema: str

    def engine(self) -> Engine:
        return create_ops_engine(self.url, self.schema)

    def store(self) -> OpsStore:
        return OpsStore(self.url, self.schema)

    def manifest_block(self) -> str:
        return f"ops:\n  url: '{self.url}'\n  schema: {self.schema}\n"


def unique_schema() -> str:
    return f"ops_test_{uuid.uuid4().hex[:12]}"


def _drop_schema(dsn: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def ops_target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpsTarget]:
    """An empty ops store (no tables yet) on each backend."""
    if request.param == "sqlite":
        yield OpsTarget("sqlite", f"sqlite:///{tmp_path / 'ops.db'}", "ops")
        return
    yield request.getfixturevalue("postgres_target")


@pytest.fixture
def postgres_target(postgres_dsn: str) -> Iterator[OpsTarget]:
    """A schema of its own on the local PostgreSQL, not created yet; dropped afterwards."""
    schema = unique_schema()
    try:
        yield OpsTarget("postgresql", postgres_dsn, schema)
    finally:
        _drop_schema(postgres_dsn, schema)


@pytest.fixture
def store(ops_target: OpsTarget) -> Iterator[OpsStore]:
    """An ops store migrated to head."""
    store = ops_target.store()
    store.upgrade()
    yield store
    store.dispose()
