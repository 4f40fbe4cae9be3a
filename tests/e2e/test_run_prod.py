"""`make run-prod` twice, for real: the prod entry point (``python -m platform_defs.prod``) in
a subprocess over a copy of the repository's floe.yaml, platform-manifest.yaml and sample data.

The Dagster instance, the Iceberg catalog and the ops store must all be on PostgreSQL, and
the second run must ingest nothing and be recorded beside the first. The databases get a
unique name per test session (never the developer's ``floe`` / ``floe_dagster``) and are
dropped afterwards.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import psycopg
import pytest
from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage
from psycopg import sql
from pyiceberg.catalog import load_catalog
from sqlalchemy import make_url

from platform_defs.config import load_project
from platform_defs.jobs import MAIN_JOB_NAME
from platform_defs.landing.demo import DEMO_FILE
from platform_defs.landing.runner import LandingFolder

from ..conftest import REPO_ROOT

# Two whole runs of the main job (ingestion + dbt build): allow for a loaded 2-core CI box.
pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.timeout(900)]

RUN_ID = re.compile(rf"floe: {MAIN_JOB_NAME} succeeded \(run ([0-9a-f-]{{36}})\)")


@dataclass
class State:
    """What the platform holds after a run."""

    manifest: list[tuple[Any, ...]]
    snapshots: dict[str, list[int]]


@dataclass
class ProdRuns:
    project: Path
    dagster_url: str
    platform_url: str
    outputs: list[subprocess.CompletedProcess[str]]
    states: list[State]

    def landing_pipelines(self) -> list[tuple[str, LandingFolder]]:
        """(destination table, folder) of each ``landing_zone: true`` pipeline of floe.yaml."""
        project = load_project(self.project, check_plugins=False)
        return [
            (entry.destination, LandingFolder.of(project, entry))
            for entry in project.floe.ingestion
            if entry.landing_zone
        ]

    @property
    def run_ids(self) -> list[str]:
        ids = []
        for output in self.outputs:
            found = RUN_ID.search(output.stdout)
            assert found, f"no run id in the output:\n{output.stdout[-3000:]}"
            ids.append(found.group(1))
        return ids


def _libpq(url: str) -> str:
    """A SQLAlchemy URL as a libpq one (psycopg.connect takes no +driver)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _state(platform_url: str) -> State:
    with psycopg.connect(_libpq(platform_url)) as connection:
        manifest = connection.execute(
            "SELECT pipeline, source_filename, checksum, status, row_count, snapshot_id, "
            "run_id, ingested_at FROM ops.raw_ingest_manifest ORDER BY pipeline, source_filename"
        ).fetchall()
    catalog = load_catalog("floe", type="sql", uri=platform_url, warehouse="file:///unused")
    # every table of the catalog (the rejects tables too), not only those this test expects
    snapshots = {
        ".".join(identifier): [s.snapshot_id for s in catalog.load_table(identifier).snapshots()]
        for namespace in catalog.list_namespaces()
        for identifier in catalog.list_tables(namespace)
    }
    return State(manifest=manifest, snapshots=snapshots)


def _sample_files() -> list[str]:
    """What seeding copies: the files of sample_data/'s folders, not make run's demo drop."""
    root = REPO_ROOT / "sample_data"
    return sorted(
        path.relative_to(root).as_posix()
        for folder in root.iterdir()
        if folder.is_dir() and not folder.name.startswith((".", "_"))
        for path in folder.rglob("*")
        if path.is_file() and path.name != DEMO_FILE and not path.name.startswith(".")
    )


def _environment(server: str, database: str, project: Path) -> dict[str, str]:
    # Nothing of the developer's shell (a demo FLOE_CATALOG_URI, DAGSTER_HOME) may leak in.
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("FLOE_", "DAGSTER_"))
    }
    return {
        **env,
        "FLOE_PG_URL": server,
        "FLOE_PG_DATABASE": database,
        "FLOE_PG_DAGSTER_DATABASE": f"{database}_dagster",
        "FLOE_PROJECT_DIR": str(project),
        "DO_NOT_TRACK": "1",
        "RUNTIME__DLTHUB_TELEMETRY": "false",
    }


def _drop(server: str, names: list[str]) -> None:
    with psycopg.connect(server, autocommit=True) as connection:
        for name in names:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture(scope="module")
def prod_runs(postgres_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProdRuns]:
    project = tmp_path_factory.mktemp("prod_project")
    shutil.copy(REPO_ROOT / "floe.yaml", project / "floe.yaml")
    shutil.copy(REPO_ROOT / "platform-manifest.yaml", project / "platform-manifest.yaml")
    shutil.copytree(
        REPO_ROOT / "sample_data", project / "sample_data", ignore=shutil.ignore_patterns(DEMO_FILE)
    )
    (project / "data_lake").mkdir()
    (project / "data_lake" / ".gitkeep").touch()  # as committed: not data

    database = f"floe_t{uuid.uuid4().hex[:12]}"
    names = [database, f"{database}_dagster"]
    server = make_url(postgres_dsn)
    platform_url = server.set(drivername="postgresql+psycopg", database=database)
    dagster_url = server.set(drivername="postgresql+psycopg2", database=names[1])
    env = _environment(postgres_dsn, database, project)
    runs = ProdRuns(
        project=project,
        dagster_url=dagster_url.render_as_string(hide_password=False),
        platform_url=platform_url.render_as_string(hide_password=False),
        outputs=[],
        states=[],
    )
    try:
        for _ in range(2):
            output = subprocess.run(
                [sys.executable, "-m", "platform_defs.prod"],
                cwd=project,
                env=env,
                capture_output=True,
                text=True,
                timeout=420,
                check=False,
            )
            assert output.returncode == 0, (
                f"run-prod failed ({output.returncode}):\n{output.stdout[-4000:]}\n"
                f"{output.stderr[-4000:]}"
            )
            runs.outputs.append(output)
            runs.states.append(_state(runs.platform_url))
        yield runs
    finally:
        _drop(postgres_dsn, names)


def test_the_first_run_seeds_the_landing_zone_and_the_second_does_not(
    prod_runs: ProdRuns,
) -> None:
    first, second = (output.stdout for output in prod_runs.outputs)
    samples = _sample_files()
    assert f"seeded it with {len(samples)} file(s) from sample_data/" in first
    assert "seeded" not in second
    for name in samples:
        seeded = prod_runs.project / "data_lake" / name
        assert seeded.read_bytes() == (REPO_ROOT / "sample_data" / name).read_bytes()


def test_the_dagster_instance_is_on_postgres(
    prod_runs: ProdRuns, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = prod_runs.project / ".floe" / "prod" / "dagster"
    monkeypatch.setenv("FLOE_DAGSTER_PG_URL", prod_runs.dagster_url)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        runs = instance.get_runs(filters=dg.RunsFilter(job_name=MAIN_JOB_NAME))
        assert sorted(run.run_id for run in runs) == sorted(prod_runs.run_ids)
        assert {run.status for run in runs} == {dg.DagsterRunStatus.SUCCESS}
    # and not in a SQLite run storage beside it
    assert not (home / "history").exists()


def test_the_catalog_and_the_ops_store_are_in_postgres(prod_runs: ProdRuns) -> None:
    with psycopg.connect(_libpq(prod_runs.platform_url)) as connection:
        tables = {
            row[0]
            for row in connection.execute(
                "SELECT table_name FROM iceberg_tables "
                "WHERE catalog_name = 'floe' AND table_namespace = 'bronze'"
            )
        }
        ops = {
            row[0]
            for row in connection.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'ops'"
            )
        }
    expected = {table.split(".", 1)[1] for table, _ in prod_runs.landing_pipelines()}
    assert expected and expected <= tables
    assert {"raw_ingest_manifest", "pipeline_runs", "landing_files"} <= ops
    # no embedded SQLite catalog or ops store was created instead
    assert not list(prod_runs.project.rglob("*.db"))


def test_the_first_run_ingests_every_seeded_file(prod_runs: ProdRuns) -> None:
    first = prod_runs.states[0]
    ingested = {(row[0], row[1]) for row in first.manifest if row[3] == "ingested"}
    landing = prod_runs.project / "data_lake"
    pipelines = prod_runs.landing_pipelines()
    assert pipelines, "floe.yaml has no landing_zone pipeline"
    for table, folder in pipelines:
        files = {
            f"{folder.prefix}{path.name}"
            for path in (landing / folder.prefix).glob(folder.file_glob)
            if path.name != DEMO_FILE
        }
        assert files, f"nothing seeded for {folder.pipeline}"
        assert {(folder.pipeline, name) for name in files} <= ingested
        assert first.snapshots[table], f"{table} has no snapshot"


def test_the_second_run_ingests_nothing(prod_runs: ProdRuns) -> None:
    first, second = prod_runs.states
    assert second.manifest == first.manifest  # same rows, same run ids and times
    assert second.snapshots == first.snapshots  # no new Iceberg snapshot on any bronze table


def test_pipeline_runs_records_both_runs(prod_runs: ProdRuns) -> None:
    with psycopg.connect(_libpq(prod_runs.platform_url)) as connection:
        rows = dict(
            connection.execute(
                "SELECT run_id, status FROM ops.pipeline_runs WHERE job_name = %s",
                (MAIN_JOB_NAME,),
            ).fetchall()
        )
    assert {run_id: rows.get(run_id) for run_id in prod_runs.run_ids} == dict.fromkeys(
        prod_runs.run_ids, "success"
    )
