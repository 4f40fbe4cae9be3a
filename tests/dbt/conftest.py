"""dbt on real bronze: Iceberg tables in a temp SQLite catalog, a generated profile, dbtRunner."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from dbt.adapters.duckdb.connections import DuckDBConnectionManager
from dbt.cli.main import dbtRunner, dbtRunnerResult
from pyiceberg.catalog import Catalog

from platform_defs.transform.profiles import write_profiles
from tests.catalogs import local_catalog_properties
from tests.dbt.bronze import load_sample_bronze, open_catalog

REPO_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = REPO_ROOT / "dbt"
SAMPLE_DATA = REPO_ROOT / "sample_data"
CATALOG_NAME = "floe"


@dataclass
class DbtEnv:
    """One isolated dbt environment: its own catalog, profile, DuckDB file and target dir."""

    root: Path
    catalog: Catalog
    duckdb_path: Path

    def invoke(self, *args: str) -> dbtRunnerResult:
        command, *rest = args
        reset_duckdb_environment()
        try:
            return self._invoke(command, rest)
        finally:
            reset_duckdb_environment()

    def _invoke(self, command: str, rest: list[str]) -> dbtRunnerResult:
        return dbtRunner().invoke(
            [
                command,
                "--project-dir",
                str(DBT_PROJECT_DIR),
                "--profiles-dir",
                str(self.root / "profiles"),
                "--target-path",
                str(self.root / "target"),
                "--log-path",
                str(self.root / "logs"),
                *rest,
            ]
        )

    def query(self, sql: str) -> list[tuple]:
        # Same (default) config as dbt-duckdb's connection: an in-process dbt run may still hold
        # the file open, and DuckDB refuses a second connection with a different config.
        with duckdb.connect(str(self.duckdb_path)) as con:
            return con.execute(sql).fetchall()


def reset_duckdb_environment() -> None:
    """Forget dbt-duckdb's process-wide environment between in-process dbt invocations.

    dbt-duckdb keeps its environment (DuckDB connection + plugins) in a class attribute that
    outlives an invocation. The next invocation's parse then renders source relations with it
    and the iceberg plugin scans the *previous* test's catalog (failing when that catalog lacks
    a table). Dagster runs dbt in a subprocess, where this cannot happen; tests run many dbt
    invocations in one process, so they reset it.
    """
    with DuckDBConnectionManager._LOCK:
        env = DuckDBConnectionManager._ENV
        DuckDBConnectionManager._ENV = None
    if env is not None:
        env.close()


def make_dbt_env(root: Path, *, load_samples: bool = True) -> DbtEnv:
    properties = local_catalog_properties(root)
    catalog = open_catalog(properties, name=CATALOG_NAME)
    if load_samples:
        load_sample_bronze(catalog, SAMPLE_DATA)
    # Not "marts.duckdb": DuckDB names the database after the file, and a database called
    # `marts` makes the unqualified schema `marts` ambiguous for readers.
    duckdb_path = root / "floe.duckdb"
    write_profiles(
        root / "profiles",
        catalog_name=CATALOG_NAME,
        catalog_properties=properties,
        duckdb_path=duckdb_path,
    )
    return DbtEnv(root=root, catalog=catalog, duckdb_path=duckdb_path)


@pytest.fixture
def dbt_env(tmp_path: Path) -> DbtEnv:
    """A fresh environment with all four sample tables in bronze (not yet built)."""
    return make_dbt_env(tmp_path)


@pytest.fixture(scope="module")
def built_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DbtEnv, dbtRunnerResult]]:
    """The sample data, built once per module with `dbt build`."""
    env = make_dbt_env(tmp_path_factory.mktemp("dbt_build"))
    yield env, env.invoke("build")
