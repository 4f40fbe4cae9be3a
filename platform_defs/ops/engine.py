"""The ops store's SQLAlchemy engine, with the ``ops`` schema on both backends.

PostgreSQL has schemas. SQLite does not, but it has attached databases, and
``schema.table`` names a table of the database attached as ``schema``. So on SQLite each
connection's main database is a private in-memory one and the configured file is attached
under the schema name: ``ops.pipeline_runs`` then means the same on both backends — in the
models, in the migrations and in hand-written SQL (``floe`` summaries, ``sqlite3 .floe/ops.db``
shows the tables unqualified). A table-name prefix would have needed different SQL per
backend, and ``schema_translate_map`` to ``None`` would have left raw SQL broken on SQLite.

SQLite connections also get:

* ``BEGIN`` emitted by SQLAlchemy rather than by the driver, which by default starts
  transactions late and never before DDL (SQLAlchemy's documented pysqlite recipe); an
  engine with ``execution_options(sqlite_begin="BEGIN IMMEDIATE")`` takes the write lock at
  the start of the transaction: migrations serialise that way, and the store's sessions
  use it so that a read-then-write transaction waits instead of failing;
* WAL journaling (readers never block the writer: sensors read while a run writes), foreign
  keys on, and a 30 s busy timeout, so concurrent processes wait for each other instead of
  failing with "database is locked".
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.pool import StaticPool

from platform_defs.ops.models import OPS_SCHEMA

SQLITE_BUSY_TIMEOUT_SECONDS = 30.0
SQLITE_BEGIN_OPTION = "sqlite_begin"
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def ops_url(url: str | URL, password: str | None = None) -> URL:
    """``url`` as a SQLAlchemy URL with ``password`` set (SQLite has none to set);
    ``postgresql://`` uses psycopg 3 (installed here; SQLAlchemy's default is psycopg2)."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if password is not None and parsed.get_backend_name() != "sqlite":
        parsed = parsed.set(password=password)
    return parsed


def create_ops_engine(
    url: str | URL, schema: str = OPS_SCHEMA, *, password: str | None = None, **kwargs: Any
) -> Engine:
    """An engine on which the models' ``ops`` schema is ``schema``.

    ``kwargs`` go to :func:`sqlalchemy.create_engine`. Creating the engine connects to
    nothing and, for SQLite, only creates the file's directory.
    """
    if not _SCHEMA_NAME.match(schema):
        raise ValueError(f"{schema!r} is not a valid ops schema name ({_SCHEMA_NAME.pattern})")
    parsed = ops_url(url, password)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        engine = _sqlite_engine(parsed, schema, **kwargs)
    elif backend == "postgresql":
        engine = create_engine(parsed, pool_pre_ping=True, **kwargs)
    else:
        raise ValueError(f"the ops store runs on SQLite or PostgreSQL, not {backend!r}")
    if schema != OPS_SCHEMA:
        engine = engine.execution_options(schema_translate_map={OPS_SCHEMA: schema})
    return engine


def sqlite_file(url: URL) -> str:
    """The database file a SQLite URL names (``:memory:`` for none)."""
    return url.database or ":memory:"


def _sqlite_engine(url: URL, schema: str, **kwargs: Any) -> Engine:
    database = sqlite_file(url)
    if database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    else:  # one shared connection, or each would attach a different empty database
        kwargs.setdefault("poolclass", StaticPool)
    connect_args = {"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, **kwargs.pop("connect_args", {})}
    engine = create_engine(url, connect_args=connect_args, **kwargs)

    @event.listens_for(engine, "do_connect")
    def _in_memory_main(dialect: Any, record: Any, cargs: list[Any], cparams: dict) -> None:
        cargs[:] = [":memory:"]  # the file is attached under the schema name instead
        cparams.pop("uri", None)

    @event.listens_for(engine, "connect")
    def _attach(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN (see _begin)
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f'ATTACH DATABASE ? AS "{schema}"', (database,))
            cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_SECONDS * 1000)}")
            if database != ":memory:":
                cursor.execute(f'PRAGMA "{schema}".journal_mode = WAL')
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        statement = connection.get_execution_options().get(SQLITE_BEGIN_OPTION, "BEGIN")
        connection.exec_driver_sql(statement)

    return engine
