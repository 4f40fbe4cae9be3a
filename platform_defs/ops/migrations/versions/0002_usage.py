"""Usage stats: the two daily tables, the push log, producers and their API keys.

Ids are ``uuid`` on PostgreSQL and 36-character text on SQLite (platform_defs/ops/usage.py,
``UUIDText``).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from platform_defs.ops.migrate import migration_schema

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _uuid() -> sa.types.TypeEngine[object]:
    return sa.String(length=36).with_variant(postgresql.UUID(as_uuid=True), "postgresql")


def upgrade() -> None:
    schema = migration_schema()
    op.create_table(
        "output_port_query_stats_daily",
        sa.Column("date", sa.Date(), nullable=False, comment="UTC day the queries ran"),
        sa.Column("output_port_id", _uuid(), nullable=False),
        sa.Column("consumer_id", _uuid(), nullable=False),
        sa.Column("query_count", sa.Integer(), nullable=False),
        sa.Column("push_id", _uuid(), nullable=False, comment="the push that wrote the row"),
        sa.PrimaryKeyConstraint(
            "date", "output_port_id", "consumer_id", name="pk_output_port_query_stats_daily"
        ),
        schema=schema,
    )
    op.create_index(
        "ix_output_port_query_stats_daily_port_date",
        "output_port_query_stats_daily",
        ["output_port_id", "date"],
        unique=False,
        schema=schema,
    )
    op.create_table(
        "tech_asset_stats_daily",
        sa.Column("date", sa.Date(), nullable=False, comment="UTC day the queries ran"),
        sa.Column("output_port_id", _uuid(), nullable=False),
        sa.Column("tech_asset_id", _uuid(), nullable=False),
        sa.Column("consumer_id", _uuid(), nullable=False),
        sa.Column("query_count", sa.Integer(), nullable=False),
        sa.Column("push_id", _uuid(), nullable=False, comment="the push that wrote the row"),
        sa.PrimaryKeyConstraint(
            "date",
            "output_port_id",
            "tech_asset_id",
            "consumer_id",
            name="pk_tech_asset_stats_daily",
        ),
        schema=schema,
    )
    op.create_index(
        "ix_tech_asset_stats_daily_port_date",
        "tech_asset_stats_daily",
        ["output_port_id", "date"],
        unique=False,
        schema=schema,
    )
    op.create_table(
        "usage_pushes",
        sa.Column("push_id", _uuid(), nullable=False),
        sa.Column(
            "sequence",
            sa.BigInteger(),
            nullable=False,
            comment="1, 2, ... in commit order: the ingestion sensor's cursor",
        ),
        sa.Column("output_port_id", _uuid(), nullable=False),
        sa.Column("producer", sa.String(length=255), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=True, comment="the API key that pushed"),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column(
            "request_hash",
            sa.String(length=64),
            nullable=False,
            comment="SHA-256 of the canonical body, hex",
        ),
        sa.Column(
            "status",
            sa.Enum(
                "committed",
                name="ck_usage_pushes_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("dates", sa.JSON(), nullable=False, comment="ISO dates covered, ascending"),
        sa.Column("query_stats_rows", sa.Integer(), nullable=False),
        sa.Column("asset_stats_rows", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("committed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("push_id", name="pk_usage_pushes"),
        sa.UniqueConstraint("sequence", name="uq_usage_pushes_sequence"),
        sa.UniqueConstraint(
            "output_port_id", "idempotency_key", name="uq_usage_pushes_idempotency_key"
        ),
        schema=schema,
    )
    op.create_table(
        "usage_producers",
        sa.Column("producer", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("producer", name="pk_usage_producers"),
        schema=schema,
    )
    op.create_table(
        "usage_api_keys",
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("producer", sa.String(length=255), nullable=False),
        sa.Column(
            "key_hash", sa.String(length=64), nullable=False, comment="SHA-256 of the secret, hex"
        ),
        sa.Column(
            "prefix", sa.String(length=64), nullable=False, comment="what lists show of the key"
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["producer"], [f"{schema}.usage_producers.producer"], name="fk_usage_api_keys_producer"
        ),
        sa.PrimaryKeyConstraint("key_id", name="pk_usage_api_keys"),
        schema=schema,
    )
    op.create_table(
        "usage_api_key_ports",
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("output_port_id", _uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["key_id"], [f"{schema}.usage_api_keys.key_id"], name="fk_usage_api_key_ports_key_id"
        ),
        sa.PrimaryKeyConstraint("key_id", "output_port_id", name="pk_usage_api_key_ports"),
        schema=schema,
    )


def downgrade() -> None:
    schema = migration_schema()
    op.drop_table("usage_api_key_ports", schema=schema)
    op.drop_table("usage_api_keys", schema=schema)
    op.drop_table("usage_producers", schema=schema)
    op.drop_table("usage_pushes", schema=schema)
    op.drop_index(
        "ix_tech_asset_stats_daily_port_date", table_name="tech_asset_stats_daily", schema=schema
    )
    op.drop_table("tech_asset_stats_daily", schema=schema)
    op.drop_index(
        "ix_output_port_query_stats_daily_port_date",
        table_name="output_port_query_stats_daily",
        schema=schema,
    )
    op.drop_table("output_port_query_stats_daily", schema=schema)
