"""The ops store's Alembic migrations: from empty to head, twice, from several processes at
once, and in agreement with the models."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Column, Integer, MetaData, inspect, text
from sqlalchemy.schema import CreateSchema

from platform_defs.ops import OpsStore, current_revision, head_revision, upgrade_to_head
from platform_defs.ops.migrate import NewerStoreError, alembic_config, model_differences
from platform_defs.ops.models import metadata_for
from tests.conftest import REPO_ROOT

from .conftest import OpsTarget

pytestmark = pytest.mark.integration

OPS_TABLES = {"alembic_version", "raw_ingest_manifest", "pipeline_runs", "alerts_sent"}
OPS_TABLES |= {  # revision 0002: usage stats (platform_defs/ops/usage.py)
    "output_port_query_stats_daily",
    "tech_asset_stats_daily",
    "usage_pushes",
    "usage_producers",
    "usage_api_keys",
    "usage_api_key_ports",
}
OPS_TABLES |= {"landing_files"}  # revision 0003: the landing sensors' listing cache


def _tables(target: OpsTarget) -> set[str]:
    engine = target.engine()
    try:
        with engine.connect() as connection:
            return set(inspect(connection).get_table_names(schema=target.schema))
    finally:
        engine.dispose()


def test_empty_to_head_twice(ops_target: OpsTarget) -> None:
    engine = ops_target.engine()
    assert current_revision(engine, ops_target.schema) is None

    assert upgrade_to_head(engine, ops_target.schema) == head_revision()
    assert upgrade_to_head(ops_target.url, ops_target.schema) == head_revision()  # a no-op

    assert current_revision(engine, ops_target.schema) == head_revision()
    assert _tables(ops_target) == OPS_TABLES
    with engine.connect() as connection:
        versions = connection.execute(
            text(f"SELECT version_num FROM {ops_target.schema}.alembic_version")
        ).all()
    assert versions == [(head_revision(),)]
    engine.dispose()


def test_the_models_and_the_migrations_agree(ops_target: OpsTarget) -> None:
    engine = ops_target.engine()
    upgrade_to_head(engine, ops_target.schema)

    assert model_differences(engine, ops_target.schema) == []

    # ... and it does see a difference when there is one.
    changed = MetaData(schema=ops_target.schema)
    for table in metadata_for(ops_target.schema).sorted_tables:
        table.to_metadata(changed)
    changed.tables[f"{ops_target.schema}.pipeline_runs"].append_column(Column("extra", Integer))
    diff = model_differences(engine, ops_target.schema, changed)
    assert [change[:3] for change in diff] == [("add_column", ops_target.schema, "pipeline_runs")]
    engine.dispose()


def test_downgrade_to_empty_and_up_again(ops_target: OpsTarget) -> None:
    engine = ops_target.engine()
    upgrade_to_head(engine, ops_target.schema)
    with engine.begin() as connection:
        command.downgrade(alembic_config(ops_target.schema, connection), "base")
    assert _tables(ops_target) == {"alembic_version"}
    assert current_revision(engine, ops_target.schema) is None

    upgrade_to_head(engine, ops_target.schema)
    assert _tables(ops_target) == OPS_TABLES
    engine.dispose()


def test_processes_upgrading_at_once_all_end_at_head(ops_target: OpsTarget, tmp_path: Path) -> None:
    """Real processes start on an empty store at the same moment; the lock serialises them."""
    _upgrade_from_processes_at_once(ops_target, tmp_path)


@pytest.mark.postgres
def test_processes_upgrading_an_existing_schema_at_once(
    postgres_target: OpsTarget, tmp_path: Path
) -> None:
    """The case of a later revision: the processes no longer queue behind each other's
    ``CREATE SCHEMA``; only the advisory lock keeps their DDL apart. (On SQLite the schema is
    the attached file: the test above is that case already.)"""
    engine = postgres_target.engine()
    with engine.begin() as connection:
        connection.execute(CreateSchema(postgres_target.schema))
    engine.dispose()
    _upgrade_from_processes_at_once(postgres_target, tmp_path)


def _upgrade_from_processes_at_once(ops_target: OpsTarget, tmp_path: Path) -> None:
    children = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.ops.upgrade_child",
                ops_target.url,
                ops_target.schema,
                str(tmp_path),
            ],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    deadline = time.monotonic() + 120
    while len(list(tmp_path.glob("ready-*"))) < len(children):
        assert time.monotonic() < deadline, "the processes did not start"
        assert all(child.poll() is None for child in children), "a process died early"
        time.sleep(0.05)
    (tmp_path / "go").touch()
    results = [child.communicate(timeout=120) for child in children]

    for child, (out, err) in zip(children, results, strict=True):
        assert child.returncode == 0, err
        assert out.strip() == head_revision()
    assert _tables(ops_target) == OPS_TABLES
    engine = ops_target.engine()
    assert current_revision(engine, ops_target.schema) == head_revision()
    engine.dispose()


def test_sqlite_keeps_the_tables_in_the_attached_file(tmp_path: Path) -> None:
    """``ops.<table>`` works in plain SQL; the file itself holds the tables unqualified."""
    path = tmp_path / "ops.db"
    store = OpsStore(f"sqlite:///{path}", "ops")
    store.upgrade()
    with store.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM ops.pipeline_runs")).scalar() == 0
    store.dispose()

    with sqlite3.connect(path) as plain:
        names = {
            name for (name,) in plain.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        assert names == OPS_TABLES
        assert plain.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_sqlite_under_another_schema_name(tmp_path: Path) -> None:
    store = OpsStore(f"sqlite:///{tmp_path / 'ops.db'}", "ops_other")
    store.upgrade()
    with store.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM ops_other.alerts_sent")).scalar() == 0
    assert model_differences(store.engine, "ops_other") == []
    store.dispose()


def test_a_store_migrated_by_a_newer_floe_is_refused_with_the_reason(
    ops_target: OpsTarget,
) -> None:
    engine = ops_target.engine()
    upgrade_to_head(engine, ops_target.schema)
    with engine.begin() as connection:
        connection.execute(
            text(f"UPDATE {ops_target.schema}.alembic_version SET version_num = '0099'")
        )
    with pytest.raises(NewerStoreError, match="revision 0099, which this floe does not have"):
        upgrade_to_head(engine, ops_target.schema)
    engine.dispose()
