"""The ops store: raw_ingest_manifest, pipeline_runs, alerts_sent.

The schema itself is created by platform_defs.ops.migrate before any revision runs (the
version table lives in it).

Revision ID: 0001
Revises:
Create Date: 2026-12-01 19:22:43.819564
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from platform_defs.ops.migrate import migration_schema

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    schema = migration_schema()
    op.create_table(
        "raw_ingest_manifest",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "pipeline", sa.String(length=255), nullable=False, comment="floe.yaml pipeline name"
        ),
        sa.Column(
            "source_filename",
            sa.String(length=1024),
            nullable=False,
            comment="file path relative to the landing-zone root",
        ),
        sa.Column(
            "checksum", sa.String(length=64), nullable=False, comment="SHA-256 of the content, hex"
        ),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column(
            "ingested_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="when this row was last written",
        ),
        sa.Column("row_count", sa.BigInteger(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "ingested",
                "failed",
                name="ck_raw_ingest_manifest_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column(
            "snapshot_id",
            sa.BigInteger(),
            nullable=True,
            comment="Iceberg snapshot that committed the file's rows",
        ),
        sa.Column("run_id", sa.String(length=64), nullable=True, comment="Dagster run id"),
        sa.PrimaryKeyConstraint("id", name="pk_raw_ingest_manifest"),
        sa.UniqueConstraint(
            "pipeline", "source_filename", "checksum", name="uq_raw_ingest_manifest_file"
        ),
        schema=schema,
    )
    op.create_table(
        "pipeline_runs",
        sa.Column(
            "run_id", sa.String(length=64), nullable=False, comment="Dagster run id (a UUID)"
        ),
        sa.Column("job_name", sa.String(length=255), nullable=False, comment="Dagster job"),
        sa.Column(
            "pipeline",
            sa.String(length=255),
            nullable=True,
            comment="floe.yaml pipeline, when the run is one pipeline's",
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "running",
                "success",
                "failure",
                "canceled",
                name="ck_pipeline_runs_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("error_summary", sa.Text(), nullable=True),
        sa.Column(
            "category",
            sa.String(length=32),
            nullable=True,
            comment="ADR-0020 error category of a failure",
        ),
        sa.Column("code", sa.String(length=128), nullable=True, comment="error code of a failure"),
        sa.Column("failed_records", sa.BigInteger(), nullable=True),
        sa.Column("rows_loaded", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("run_id", name="pk_pipeline_runs"),
        schema=schema,
    )
    op.create_index(
        "ix_pipeline_runs_pipeline_started_at",
        "pipeline_runs",
        ["pipeline", "started_at"],
        unique=False,
        schema=schema,
    )
    op.create_index(
        "ix_pipeline_runs_started_at", "pipeline_runs", ["started_at"], unique=False, schema=schema
    )
    op.create_table(
        "alerts_sent",
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column(
            "channel", sa.String(length=255), nullable=False, comment="manifest alert channel name"
        ),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "sent",
                "failed",
                name="ck_alerts_sent_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("run_id", "channel", name="pk_alerts_sent"),
        schema=schema,
    )


def downgrade() -> None:
    schema = migration_schema()
    op.drop_table("alerts_sent", schema=schema)
    op.drop_index("ix_pipeline_runs_started_at", table_name="pipeline_runs", schema=schema)
    op.drop_index("ix_pipeline_runs_pipeline_started_at", table_name="pipeline_runs", schema=schema)
    op.drop_table("pipeline_runs", schema=schema)
    op.drop_table("raw_ingest_manifest", schema=schema)
