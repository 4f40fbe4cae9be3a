"""Apply the ops store's Alembic migrations: at start-up and by ``floe db upgrade``.

No ``alembic.ini``: the configuration is built here (``script_location`` is the
``migrations/`` folder beside this module) and ``migrations/env.py`` runs on the connection it
is handed. The version table lives in the ops schema too, so two ops stores in one PostgreSQL
database (tests, or two deployments) never see each other's revision.

:func:`upgrade_to_head` is idempotent and safe when several processes start at once (a run
worker, the daemon's sensors, ``floe db upgrade``): every revision runs in ONE transaction that
first takes a lock — ``pg_advisory_xact_lock`` on PostgreSQL, the write lock of
``BEGIN IMMEDIATE`` on SQLite — and, once it holds it, reads the current revision again. The
others wait, then find the store at head and do nothing. DDL is transactional on both
backends, so a process killed mid-upgrade leaves the previous revision intact.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import URL, Connection, Engine, MetaData, text
from sqlalchemy.schema import CreateSchema

from platform_defs.ops.engine import SQLITE_BEGIN_OPTION, create_ops_engine
from platform_defs.ops.models import OPS_SCHEMA, metadata_for

MIGRATIONS_DIR = Path(__file__).resolve().with_name("migrations")
SCHEMA_ATTRIBUTE = "ops_schema"
CONNECTION_ATTRIBUTE = "connection"


def alembic_config(schema: str = OPS_SCHEMA, connection: Connection | None = None) -> Config:
    """The Alembic configuration of the ops store, for ``alembic.command`` functions."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes[SCHEMA_ATTRIBUTE] = schema
    if connection is not None:
        config.attributes[CONNECTION_ATTRIBUTE] = connection
    return config


def migration_schema() -> str:
    """Inside a revision: the schema the ops tables live in (revisions never hard-code it)."""
    from alembic import op

    config = op.get_context().config
    if config is None:  # pragma: no cover - only migrate.py runs the revisions
        raise RuntimeError("ops revisions run through platform_defs.ops.migrate")
    schema: str = config.attributes[SCHEMA_ATTRIBUTE]
    return schema


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the initial revision is in the package
        raise RuntimeError(f"no Alembic revision in {MIGRATIONS_DIR / 'versions'}")
    return head


def current_revision(engine: Engine, schema: str = OPS_SCHEMA) -> str | None:
    """The revision the store is at; ``None`` for an empty database (or no schema yet)."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table_schema": schema})
        return context.get_current_revision()


def upgrade_to_head(
    target: Engine | str | URL, schema: str = OPS_SCHEMA, *, password: str | None = None
) -> str:
    """Bring the store to the newest revision; returns it. Cheap when already there."""
    engine = (
        target
        if isinstance(target, Engine)
        else create_ops_engine(target, schema, password=password)
    )
    try:
        head = head_revision()
        current = current_revision(engine, schema)
        if current == head:
            return head
        if current is not None and not known_revision(current):
            raise NewerStoreError(
                f"the ops store is at revision {current}, which this floe does not have "
                f"(its newest is {head}): it was migrated by a newer floe; upgrade this one"
            )
        with _locked_transaction(engine, schema) as connection:
            # Alembic reads the current revision again on this connection, under the lock.
            command.upgrade(alembic_config(schema, connection), "head")
        return head
    finally:
        if engine is not target:
            engine.dispose()


class NewerStoreError(RuntimeError):
    """The store was migrated by a newer floe: this code does not know its revision."""


def known_revision(revision: str) -> bool:
    """Whether this floe has ``revision`` among its migrations."""
    script = ScriptDirectory.from_config(alembic_config())
    return any(known.revision == revision for known in script.walk_revisions())


def model_differences(
    engine: Engine, schema: str = OPS_SCHEMA, metadata: MetaData | None = None
) -> list[Any]:
    """What the models (or ``metadata``) declare and the store does not have, as Alembic
    autogenerate sees it: empty when the migrations build exactly the models."""
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "version_table_schema": schema,
                "include_schemas": True,
                "include_name": lambda name, type_, _: (
                    name == schema if type_ == "schema" else True
                ),
                "compare_type": True,
            },
        )
        return list(compare_metadata(context, metadata or metadata_for(schema)))


def new_revision(message: str, target: Engine | str | URL, schema: str = OPS_SCHEMA) -> Path:
    """Write the next revision (``0002_<slug>.py``, ...) with what the models declare and a
    store at head lacks (Alembic autogenerate), the schema spelled ``schema=schema``.

    Review the file: autogenerate misses renames and CHECK constraint changes. Compare
    against PostgreSQL (``target``) for the most faithful result.
    """
    engine = target if isinstance(target, Engine) else create_ops_engine(target, schema)
    try:
        script = ScriptDirectory.from_config(alembic_config(schema))
        if script.get_current_head() is not None:
            upgrade_to_head(engine, schema)
        rev_id = f"{len(list(script.walk_revisions())) + 1:04d}"
        with _locked_transaction(engine, schema) as connection:
            config = alembic_config(schema, connection)
            config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
            written = command.revision(config, message, autogenerate=True, rev_id=rev_id)
    finally:
        if engine is not target:
            engine.dispose()
    scripts = written if isinstance(written, list) else [written]
    path = Path(scripts[0].path) if scripts and scripts[0] is not None else None
    if path is None:  # pragma: no cover - command.revision always writes one
        raise RuntimeError("Alembic wrote no revision")
    path.write_text(path.read_text().replace(f"schema={schema!r}", "schema=schema"))
    return path


@contextmanager
def _locked_transaction(engine: Engine, schema: str) -> Iterator[Connection]:
    if engine.dialect.name == "sqlite":
        # The attached file is the schema: nothing to create; IMMEDIATE takes its write lock.
        engine = engine.execution_options(**{SQLITE_BEGIN_OPTION: "BEGIN IMMEDIATE"})
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key(schema)}
            )
            # Here and not in a revision: the version table lives in the schema.
            connection.execute(CreateSchema(schema, if_not_exists=True))
        yield connection


def _lock_key(schema: str) -> int:
    """A stable signed 64-bit advisory-lock key per ops schema."""
    digest = hashlib.sha256(f"floe.ops.migrations:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)
