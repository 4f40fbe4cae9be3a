"""`make run-prod`: the main job as production runs it, on the local PostgreSQL.

The same entry point as ``make run`` (``python -m platform_defs.main``), with the production
wiring instead of the embedded default, all of it through the repository's own
``platform-manifest.yaml`` (its ``${VAR:-default}`` values) and ``deploy/dagster-prod.yaml``:

* the Iceberg catalog and the ops store in one PostgreSQL database (``floe``), the Dagster
  instance (runs, events, schedules; dagster-postgres) in another (``floe_dagster``), both
  created here when absent;
* the landing zone ``data_lake/``, seeded from ``sample_data/`` the first time it holds no
  data file; each file is then ingested once (ops.raw_ingest_manifest), so a second run
  ingests nothing;
* local state apart from the demo's, under ``.floe/prod/`` (dlt working dirs, warehouse, dbt
  profile, marts DuckDB, ``DAGSTER_HOME``): a demo run's leftovers never reach the production
  catalog.

The ops store's migrations are applied before the run (deterministically, not at the first
session of some sensor), and the dbt profile is rewritten for the PostgreSQL catalog.
Settings: ``FLOE_PG_URL`` (server and user, default ``postgresql://postgres@127.0.0.1:5432``),
``FLOE_PG_DATABASE``, ``FLOE_PG_DAGSTER_DATABASE``; details in docs/production.md.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
from psycopg import sql
from sqlalchemy import URL, make_url

if TYPE_CHECKING:
    from platform_defs.config.manifest import PlatformManifest

PG_URL_ENV = "FLOE_PG_URL"
DATABASE_ENV = "FLOE_PG_DATABASE"
DAGSTER_DATABASE_ENV = "FLOE_PG_DAGSTER_DATABASE"
DAGSTER_URL_ENV = "FLOE_DAGSTER_PG_URL"  # read by deploy/dagster-prod.yaml

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432"
DEFAULT_DATABASE = "floe"
DEFAULT_DAGSTER_DATABASE = "floe_dagster"
# The database connected to for CREATE DATABASE when FLOE_PG_URL names none.
MAINTENANCE_DATABASE = "postgres"

LANDING_ROOT = "data_lake"
SEED_DIR = "sample_data"
PROD_ROOT = Path(".floe") / "prod"
INSTANCE_TEMPLATE = Path(__file__).resolve().parents[1] / "deploy" / "dagster-prod.yaml"
CONNECT_TIMEOUT_SECONDS = 5

_DATABASE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class ProdSetupError(Exception):
    """The production-like run cannot start; the message says what to fix."""


@dataclass(frozen=True)
class ProdSettings:
    """Where the production-like run keeps everything, from the environment."""

    server: URL
    database: str
    dagster_database: str
    project_dir: Path

    @classmethod
    def from_env(cls, environ: Mapping[str, str], project_dir: Path) -> ProdSettings:
        raw_url = environ.get(PG_URL_ENV) or DEFAULT_PG_URL
        try:
            server = make_url(raw_url)
        except Exception as error:  # sqlalchemy.exc.ArgumentError: the URL does not parse
            raise ProdSetupError(f"{PG_URL_ENV}: not a database URL ({error})") from None
        if server.get_backend_name() != "postgresql":
            raise ProdSetupError(
                f"{PG_URL_ENV}: {server.drivername!r} is not PostgreSQL "
                "(expected postgresql://user@host:port)"
            )
        if server.password is not None:
            # The URLs derived from it end up in Dagster's config and in logs.
            raise ProdSetupError(
                f"{PG_URL_ENV}: holds a password; leave it out and set PGPASSWORD or "
                "~/.pgpass instead (libpq reads them for every connection of the run)"
            )
        settings = cls(
            server=server,
            database=environ.get(DATABASE_ENV) or DEFAULT_DATABASE,
            dagster_database=environ.get(DAGSTER_DATABASE_ENV) or DEFAULT_DAGSTER_DATABASE,
            project_dir=project_dir.resolve(),
        )
        for name, value in (
            (DATABASE_ENV, settings.database),
            (DAGSTER_DATABASE_ENV, settings.dagster_database),
        ):
            if not _DATABASE_NAME.match(value):
                raise ProdSetupError(
                    f"{name}: {value!r} is not a valid database name ({_DATABASE_NAME.pattern})"
                )
        if settings.database == settings.dagster_database:
            raise ProdSetupError(
                f"{DATABASE_ENV} and {DAGSTER_DATABASE_ENV} must differ "
                f"(both {settings.database!r}): Dagster's tables would mix with the catalog's"
            )
        return settings

    @property
    def where(self) -> str:
        """host:port for messages."""
        return f"{self.server.host or 'localhost'}:{self.server.port or 5432}"

    def url(self, database: str, driver: str) -> str:
        """``postgresql+<driver>://user@host:port/<database>`` (no password, see from_env)."""
        url = self.server.set(drivername=f"postgresql+{driver}", database=database, query={})
        return url.render_as_string(hide_password=False)

    @property
    def root(self) -> Path:
        return self.project_dir / PROD_ROOT

    @property
    def dagster_home(self) -> Path:
        return self.root / "dagster"

    @property
    def landing_root(self) -> Path:
        return self.project_dir / LANDING_ROOT

    def environment(self) -> dict[str, str]:
        """The variables the run gets: the repo's platform-manifest.yaml interpolates the
        FLOE_* ones; deploy/dagster-prod.yaml reads FLOE_DAGSTER_PG_URL."""
        platform = self.url(self.database, "psycopg")
        return {
            "FLOE_PROJECT_DIR": str(self.project_dir),
            "FLOE_CATALOG_URI": platform,
            "FLOE_OPS_URL": platform,
            "FLOE_LANDING_ROOT": LANDING_ROOT,
            # relative to the manifest, like the embedded defaults
            "FLOE_WAREHOUSE": str(PROD_ROOT / "warehouse"),
            "FLOE_STORAGE_ROOT": str(PROD_ROOT),
            "DAGSTER_HOME": str(self.dagster_home),
            # psycopg2: see deploy/dagster-prod.yaml
            DAGSTER_URL_ENV: self.url(self.dagster_database, "psycopg2"),
        }


def ensure_databases(settings: ProdSettings) -> list[str]:
    """Create the platform's and Dagster's databases when absent; returns those created."""
    server = settings.server
    conninfo = {
        "host": server.host or "127.0.0.1",
        "port": server.port or 5432,
        "user": server.username or "postgres",
        "dbname": server.database or MAINTENANCE_DATABASE,
        "connect_timeout": CONNECT_TIMEOUT_SECONDS,
    }
    try:
        # CREATE DATABASE cannot run in a transaction block: autocommit.
        connection = psycopg.connect(autocommit=True, **conninfo)
    except psycopg.OperationalError as error:
        raise ProdSetupError(
            f"PostgreSQL is not reachable at {settings.where} "
            f"(user {conninfo['user']}, database {conninfo['dbname']}): "
            f"{str(error).strip()}\nmake run-prod needs a running PostgreSQL; point "
            f"{PG_URL_ENV} at it (default {DEFAULT_PG_URL})."
        ) from None
    created = []
    with connection:
        for name in (settings.database, settings.dagster_database):
            exists = connection.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
            if exists:
                continue
            try:
                connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            except psycopg.errors.DuplicateDatabase:
                continue  # created meanwhile by a concurrent run-prod: just as good
            except psycopg.errors.InsufficientPrivilege as error:
                raise ProdSetupError(
                    f"cannot create database {name!r} on {settings.where} as "
                    f"{conninfo['user']}: {str(error).strip()} (create it, or grant CREATEDB)"
                ) from None
            created.append(name)
    return created


def _data_files(root: Path) -> list[Path]:
    """Files under ``root``, hidden ones (``.gitkeep``) left out."""
    if not root.is_dir():
        return []
    return [
        path
        for path in root.rglob("*")
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(root).parts)
    ]


def seed_landing_zone(landing: Path, seed: Path) -> list[Path]:
    """Copy ``seed``'s folders into ``landing`` when it holds no data file; returns the
    files copied (none when the landing zone already has data).

    Only folders are copied (the landing pipelines read ``<root>/<folder>``), not a
    generator script at the seed's top level. ``copy2`` keeps the modification times, so the
    files are not mistaken for files still being written (``landing_zone.settle_seconds``).
    """
    landing.mkdir(parents=True, exist_ok=True)
    if _data_files(landing) or not seed.is_dir():
        return []
    # `make run` drops its demo file into sample_data/ (its landing root): not sample data.
    # Imported here: the module imports Dagster, which --env and set-up errors do not need.
    from platform_defs.landing.demo import DEMO_FILE

    skip = shutil.ignore_patterns(".*", DEMO_FILE)
    for folder in sorted(path for path in seed.iterdir() if path.is_dir()):
        if folder.name.startswith((".", "_")):
            continue
        shutil.copytree(folder, landing / folder.name, copy_function=shutil.copy2, ignore=skip)
    return sorted(_data_files(landing))


def prepare(settings: ProdSettings) -> dict[str, str]:
    """Everything before the run; returns the run's environment (os.environ plus the prod
    variables)."""
    _say(f"floe: production-like run on PostgreSQL at {settings.where}")
    created = ensure_databases(settings)
    for name in (settings.database, settings.dagster_database):
        state = "created" if name in created else "exists"
        _say(f"  database {name}: {state}")

    seeded = seed_landing_zone(settings.landing_root, settings.project_dir / SEED_DIR)
    if seeded:
        _say(
            f"  landing zone {LANDING_ROOT}/ had no data files: seeded it with "
            f"{len(seeded)} file(s) from {SEED_DIR}/"
        )
    else:
        count = len(_data_files(settings.landing_root))
        _say(f"  landing zone {LANDING_ROOT}/: {count} file(s)")

    env = settings.environment()
    settings.dagster_home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(INSTANCE_TEMPLATE, settings.dagster_home / "dagster.yaml")
    _say(f"  Dagster instance: {settings.dagster_home} -> database {settings.dagster_database}")

    run_env = {**os.environ, **env}
    # The manifest reads the variables when it is loaded: load it only now, with them set.
    _with_environment(env, lambda: _prepare_project(settings))
    return run_env


def _prepare_project(settings: ProdSettings) -> None:
    # Imported here: importing the platform is slow and not needed for --env.
    from platform_defs.config import ConfigError, load_project
    from platform_defs.ops.store import OpsStore
    from platform_defs.transform.prepare import prepare as prepare_dbt

    try:
        project = load_project(settings.project_dir)
    except ConfigError as error:
        raise ProdSetupError(f"configuration is invalid:\n{error}") from None
    check_wiring(project.manifest, settings)
    store = OpsStore.from_manifest(project.manifest)
    try:
        revision = store.upgrade()
    finally:
        store.dispose()
    _say(f"  ops store: {project.manifest.ops.display_url} (schema ops, revision {revision})")
    project.manifest.prepare_local_storage()
    prepare_dbt(project)
    _say(f"  dbt profile: catalog {project.manifest.catalog.name} on {settings.database}")


def check_wiring(manifest: PlatformManifest, settings: ProdSettings) -> None:
    """Refuse to run when the manifest ignores the variables: a manifest that hard-codes its
    catalog would otherwise run "production" on SQLite without a word."""
    env = settings.environment()
    expected = {
        "catalog.uri": (manifest.catalog.uri, env["FLOE_CATALOG_URI"], "FLOE_CATALOG_URI"),
        "ops.url": (manifest.ops.url, env["FLOE_OPS_URL"], "FLOE_OPS_URL"),
        "landing_zone.root": (
            manifest.landing_zone.root,
            str(settings.landing_root),
            "FLOE_LANDING_ROOT",
        ),
    }
    wrong = [
        f"{key} is {actual!r}, not {wanted!r} (write it as ${{{variable}:-...}})"
        for key, (actual, wanted, variable) in expected.items()
        if actual != wanted
    ]
    if wrong:
        raise ProdSetupError(
            "platform-manifest.yaml does not take the production settings:\n  " + "\n  ".join(wrong)
        )
    if Path(manifest.storage.root) != settings.root:
        _say(
            f"  warning: storage.root is {manifest.storage.root}, not {PROD_ROOT} "
            "(write it as ${FLOE_STORAGE_ROOT:-.floe}): local state is shared with make run"
        )


def _with_environment(env: Mapping[str, str], action: Callable[[], None]) -> None:
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        action()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m platform_defs.prod",
        description="Prepare the production-like run on PostgreSQL, then run the main job.",
    )
    parser.add_argument(
        "--env",
        action="store_true",
        help="only print the run's environment as shell exports (e.g. for `dagster dev`)",
    )
    args = parser.parse_args(argv)
    project_dir = Path(os.environ.get("FLOE_PROJECT_DIR") or Path.cwd())
    try:
        settings = ProdSettings.from_env(os.environ, project_dir)
        if args.env:
            for name, value in settings.environment().items():
                _say(f"export {name}={shlex.quote(value)}")
            return 0
        env = prepare(settings)
    except ProdSetupError as error:
        sys.stderr.write(f"floe: make run-prod: {error}\n")
        return 1
    _say("")
    # A fresh process: the code location reads the manifest (hence the variables) at import.
    command = [sys.executable, "-m", "platform_defs.main"]
    return subprocess.run(command, env=env, cwd=settings.project_dir, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
