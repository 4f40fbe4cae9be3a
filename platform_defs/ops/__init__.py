"""The ops store: the platform's own records, in the database the manifest's ``ops:`` names.

Tables (:mod:`platform_defs.ops.models`): ``ops.raw_ingest_manifest`` (landing-zone files and
their checksums), ``ops.pipeline_runs`` (every Dagster run of the platform) and
``ops.alerts_sent`` (one claim per run and alert channel), ``ops.landing_files`` (the landing
sensors' listing cache: size, mtime and checksum per file). Schema changes are Alembic
revisions in ``migrations/versions/``, applied by :func:`upgrade_to_head` when the Dagster
resource first opens a session and by ``floe db upgrade``. Assets and sensors get sessions
from :class:`platform_defs.ops.resource.OpsStoreResource`; the repository functions in
:mod:`platform_defs.ops.store` take such a session.

A module adding tables (``OpsBase`` subclasses) is imported here, so the metadata every
migration and test compares against holds them.
"""

from platform_defs.ops import usage as usage
from platform_defs.ops.engine import create_ops_engine
from platform_defs.ops.migrate import current_revision, head_revision, upgrade_to_head
from platform_defs.ops.models import (
    OPS_SCHEMA,
    AlertSent,
    AlertStatus,
    LandingFile,
    ManifestStatus,
    OpsBase,
    PipelineRun,
    RawIngestManifest,
    RunStatus,
)
from platform_defs.ops.store import (
    OpsStore,
    claim_alert,
    known_checksums,
    last_runs,
    manifest_rows,
    manifest_versions,
    mark_failed,
    mark_pending,
    record_alert_attempt,
    record_manifest_entry,
    unsent_alerts,
    upsert_run,
)

__all__ = [
    "OPS_SCHEMA",
    "AlertSent",
    "AlertStatus",
    "LandingFile",
    "ManifestStatus",
    "OpsBase",
    "OpsStore",
    "PipelineRun",
    "RawIngestManifest",
    "RunStatus",
    "claim_alert",
    "create_ops_engine",
    "current_revision",
    "head_revision",
    "known_checksums",
    "last_runs",
    "manifest_rows",
    "manifest_versions",
    "mark_failed",
    "mark_pending",
    "record_alert_attempt",
    "record_manifest_entry",
    "unsent_alerts",
    "upgrade_to_head",
    "upsert_run",
]
