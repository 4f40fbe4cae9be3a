"""The ops store's tables as SQLAlchemy 2 typed models.

Every table sits in the logical schema ``ops`` (:data:`OPS_SCHEMA`); an ops store configured
with another schema name maps it at run time (``schema_translate_map``), so the models never
change with the deployment. New tables (the usage stats of the usage-push work) subclass
:class:`OpsBase` in their own module, imported by ``platform_defs/ops/__init__.py`` so that
every user of the metadata sees them, and get an Alembic revision in
``platform_defs/ops/migrations/versions/``; ``tests/ops/test_migrations.py`` fails while the
models and the migrations disagree.

Timestamps are timezone-aware UTC on both backends (:class:`UTCDateTime`).
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    Enum,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

OPS_SCHEMA = "ops"
"""The schema name the models are declared in; see the module docstring."""


class UTCDateTime(TypeDecorator[datetime]):
    """``timestamptz`` on PostgreSQL; UTC ISO text on SQLite (which has no time zones).

    Naive datetimes are refused rather than guessed at; values come back aware, in UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()}: pass a timezone-aware one")
        value = value.astimezone(UTC)
        # SQLAlchemy's SQLite DATETIME drops tzinfo without converting: store UTC, then drop.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_now() -> datetime:
    return datetime.now(UTC)


def _status(enum_class: type[enum.StrEnum], name: str) -> Enum:
    # A VARCHAR with a CHECK, not a native PostgreSQL ENUM: adding a value stays one
    # ALTER of a constraint, the same on both backends.
    return Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


class ManifestStatus(enum.StrEnum):
    PENDING = "pending"
    """Requested by a run, not committed yet."""
    INGESTED = "ingested"
    """Its rows are committed to the bronze table (``snapshot_id``)."""
    FAILED = "failed"
    """It could not be loaded; ``error`` says why. A new checksum is tried again."""


class RunStatus(enum.StrEnum):
    RUNNING = "running"
    SUCCESS = "success"
    FAILURE = "failure"
    CANCELED = "canceled"
    """Stopped on purpose: recorded, but not a failure to alert on."""


class AlertStatus(enum.StrEnum):
    PENDING = "pending"
    """Claimed by a sender; not delivered yet."""
    SENT = "sent"
    FAILED = "failed"
    """The last attempt failed (``last_error``); retried until delivered."""


class OpsBase(DeclarativeBase):
    """Base of every ops-store model."""

    metadata = MetaData(schema=OPS_SCHEMA)
    type_annotation_map = {datetime: UTCDateTime()}


# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
_Id = BigInteger().with_variant(Integer(), "sqlite")


class RawIngestManifest(OpsBase):
    """One row per (pipeline, landing-zone file, content checksum) seen by the platform."""

    __tablename__ = "raw_ingest_manifest"
    __table_args__ = (
        PrimaryKeyConstraint("id", name="pk_raw_ingest_manifest"),
        UniqueConstraint(
            "pipeline", "source_filename", "checksum", name="uq_raw_ingest_manifest_file"
        ),
    )

    id: Mapped[int] = mapped_column(_Id, autoincrement=True)
    pipeline: Mapped[str] = mapped_column(String(255), comment="floe.yaml pipeline name")
    source_filename: Mapped[str] = mapped_column(
        String(1024), comment="file path relative to the landing-zone root"
    )
    checksum: Mapped[str] = mapped_column(String(64), comment="SHA-256 of the content, hex")
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    ingested_at: Mapped[datetime] = mapped_column(comment="when this row was last written")
    row_count: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[ManifestStatus] = mapped_column(
        _status(ManifestStatus, "ck_raw_ingest_manifest_status")
    )
    error: Mapped[str | None] = mapped_column(Text)
    snapshot_id: Mapped[int | None] = mapped_column(
        BigInteger, comment="Iceberg snapshot that committed the file's rows"
    )
    run_id: Mapped[str | None] = mapped_column(String(64), comment="Dagster run id")
    attempts: Mapped[int] = mapped_column(
        Integer, server_default="0", comment="runs that set this version pending"
    )


class PipelineRun(OpsBase):
    """One row per Dagster run of the platform (ingestion, dbt, maintenance)."""

    __tablename__ = "pipeline_runs"
    __table_args__ = (
        PrimaryKeyConstraint("run_id", name="pk_pipeline_runs"),
        Index("ix_pipeline_runs_started_at", "started_at"),
        Index("ix_pipeline_runs_pipeline_started_at", "pipeline", "started_at"),
    )

    run_id: Mapped[str] = mapped_column(String(64), comment="Dagster run id (a UUID)")
    job_name: Mapped[str] = mapped_column(String(255), comment="Dagster job")
    pipeline: Mapped[str | None] = mapped_column(
        String(255), comment="floe.yaml pipeline, when the run is one pipeline's"
    )
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    status: Mapped[RunStatus] = mapped_column(_status(RunStatus, "ck_pipeline_runs_status"))
    error_summary: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(
        String(32), comment="ADR-0020 error category of a failure"
    )
    code: Mapped[str | None] = mapped_column(String(128), comment="error code of a failure")
    failed_records: Mapped[int | None] = mapped_column(BigInteger)
    rows_loaded: Mapped[int | None] = mapped_column(BigInteger)


class AlertSent(OpsBase):
    """One row per (run, alert channel): the claim that makes an alert go out once."""

    __tablename__ = "alerts_sent"
    __table_args__ = (PrimaryKeyConstraint("run_id", "channel", name="pk_alerts_sent"),)

    run_id: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(255), comment="manifest alert channel name")
    claimed_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    status: Mapped[AlertStatus] = mapped_column(_status(AlertStatus, "ck_alerts_sent_status"))
    attempts: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)


class LandingFile(OpsBase):
    """The landing sensor's view of one file: what the last listing saw, and its checksum.

    An unchanged tick compares each listed file's size and mtime with this row and hashes
    nothing; a file whose size or mtime moved since the last listing is still being written
    (``checksum`` is cleared) and is hashed once two listings agree.
    """

    __tablename__ = "landing_files"
    __table_args__ = (PrimaryKeyConstraint("pipeline", "path", name="pk_landing_files"),)

    pipeline: Mapped[str] = mapped_column(String(255), comment="floe.yaml pipeline name")
    path: Mapped[str] = mapped_column(
        String(1024), comment="file path relative to the landing-zone root"
    )
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    mtime_ns: Mapped[int] = mapped_column(BigInteger)
    checksum: Mapped[str | None] = mapped_column(
        String(64), comment="SHA-256 of the content once stable; null while it may be written"
    )
    settled: Mapped[bool] = mapped_column(
        Boolean, comment="the manifest records this checksum as ingested or failed"
    )
    seen_at: Mapped[datetime] = mapped_column(comment="when a listing last changed this row")


def metadata_for(schema: str) -> MetaData:
    """The models' tables declared in ``schema`` (what the migrations build there)."""
    if schema == OPS_SCHEMA:
        return OpsBase.metadata
    copy = MetaData(schema=schema)
    for table in OpsBase.metadata.sorted_tables:
        table.to_metadata(copy, schema=schema)
    return copy


__all__ = [
    "OPS_SCHEMA",
    "AlertSent",
    "AlertStatus",
    "LandingFile",
    "ManifestStatus",
    "OpsBase",
    "PipelineRun",
    "RawIngestManifest",
    "RunStatus",
    "UTCDateTime",
    "metadata_for",
    "utc_now",
]
