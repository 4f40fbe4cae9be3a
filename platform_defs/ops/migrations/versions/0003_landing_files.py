"""The landing zone: the sensors' listing cache, and attempts per manifest version.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 22:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from platform_defs.ops.migrate import migration_schema

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    schema = migration_schema()
    op.create_table(
        "landing_files",
        sa.Column(
            "pipeline", sa.String(length=255), nullable=False, comment="floe.yaml pipeline name"
        ),
        sa.Column(
            "path",
            sa.String(length=1024),
            nullable=False,
            comment="file path relative to the landing-zone root",
        ),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("mtime_ns", sa.BigInteger(), nullable=False),
        sa.Column(
            "checksum",
            sa.String(length=64),
            nullable=True,
            comment="SHA-256 of the content once stable; null while it may be written",
        ),
        sa.Column(
            "settled",
            sa.Boolean(),
            nullable=False,
            comment="the manifest records this checksum as ingested or failed",
        ),
        sa.Column(
            "seen_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="when a listing last changed this row",
        ),
        sa.PrimaryKeyConstraint("pipeline", "path", name="pk_landing_files"),
        schema=schema,
    )
    op.add_column(
        "raw_ingest_manifest",
        sa.Column(
            "attempts",
            sa.Integer(),
            server_default="0",
            nullable=False,
            comment="runs that set this version pending",
        ),
        schema=schema,
    )


def downgrade() -> None:
    schema = migration_schema()
    op.drop_column("raw_ingest_manifest", "attempts", schema=schema)
    op.drop_table("landing_files", schema=schema)
