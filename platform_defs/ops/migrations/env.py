"""Alembic environment of the ops store, run by :mod:`platform_defs.ops.migrate`.

Programmatic only: the caller hands over an open connection, already inside the transaction
that holds the migration lock, and the ops schema name (``config.attributes``). The target
metadata is the models' tables in that schema, so ``migrate.new_revision`` (autogenerate, see
docs/configuration.md) and the models-vs-migrations test compare like with like.
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context

from platform_defs.ops.migrate import CONNECTION_ATTRIBUTE, SCHEMA_ATTRIBUTE
from platform_defs.ops.models import UTCDateTime, metadata_for


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Only the ops schema: a PostgreSQL database holds other schemas (the catalog's)."""
    if type_ == "schema":
        return name == context.config.attributes[SCHEMA_ATTRIBUTE]
    return True


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Revisions spell the column type, not the models' decorator (they must not change
    when the models do)."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations() -> None:
    if context.is_offline_mode():
        raise RuntimeError("the ops store migrates online only: run `floe db upgrade`")
    connection = context.config.attributes.get(CONNECTION_ATTRIBUTE)
    if connection is None:
        raise RuntimeError(
            "platform_defs/ops/migrations runs through platform_defs.ops.migrate "
            "(upgrade_to_head, `floe db upgrade`), which hands it a connection"
        )
    schema = context.config.attributes[SCHEMA_ATTRIBUTE]
    context.configure(
        connection=connection,
        target_metadata=metadata_for(schema),
        version_table_schema=schema,
        include_schemas=True,
        include_name=include_name,  # type: ignore[arg-type]  # alembic's Literal type_
        render_item=render_item,
        compare_type=True,
    )
    with context.begin_transaction():  # the caller's transaction: commits with it
        context.run_migrations()


run_migrations()
