"""The ops store (engine + sessions) and the repository functions sensors and assets use.

Each function takes a :class:`~sqlalchemy.orm.Session` so that a caller can group several in
one transaction (``with store.session() as session: ...`` commits once, at the end). Writes
that may race — two sensors, a retried run — are single ``INSERT ... ON CONFLICT``
statements (PostgreSQL's and SQLite's, which share the syntax), never read-then-write.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import URL, CursorResult, and_, case, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from platform_defs.ops.engine import SQLITE_BEGIN_OPTION, create_ops_engine
from platform_defs.ops.migrate import current_revision, upgrade_to_head
from platform_defs.ops.models import (
    OPS_SCHEMA,
    AlertSent,
    AlertStatus,
    ManifestStatus,
    OpsBase,
    PipelineRun,
    RawIngestManifest,
    RunStatus,
    utc_now,
)

if TYPE_CHECKING:
    from platform_defs.config.manifest import PlatformManifest

_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


class OpsStore:
    """An engine and a sessionmaker on the ops store. Opening one connects to nothing."""

    def __init__(
        self,
        url: str | URL,
        schema: str = OPS_SCHEMA,
        *,
        password: str | None = None,
        **engine_kwargs: Any,
    ) -> None:
        self.schema = schema
        self.engine = create_ops_engine(url, schema, password=password, **engine_kwargs)
        bind = self.engine
        if bind.dialect.name == "sqlite":
            # A SQLite transaction that reads and then writes fails at once ("database is
            # locked") when another connection wrote in between: WAL cannot upgrade a stale
            # read. IMMEDIATE waits for the write lock at BEGIN instead; WAL readers outside
            # the store's sessions are not blocked by it.
            bind = bind.execution_options(**{SQLITE_BEGIN_OPTION: "BEGIN IMMEDIATE"})
        self._sessions = sessionmaker(bind, expire_on_commit=False)

    @classmethod
    def from_manifest(cls, manifest: PlatformManifest) -> OpsStore:
        """The store ``manifest.ops`` names; the password is read from the secrets backend
        (raises :class:`~platform_defs.config.SecretNotFoundError`)."""
        ops = manifest.ops
        password = ops.password(manifest.secrets.resolver())
        return cls(ops.url, ops.schema_name, password=password)

    def upgrade(self) -> str:
        """Migrate to the newest revision (see :func:`upgrade_to_head`); returns it."""
        return upgrade_to_head(self.engine, self.schema)

    def current_revision(self) -> str | None:
        return current_revision(self.engine, self.schema)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed when the block ends, rolled back if it
        raises. Objects stay readable after the commit."""
        with self._sessions.begin() as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()

    def __repr__(self) -> str:  # SQLAlchemy's URL repr masks a password
        return f"OpsStore({self.engine.url!r}, schema={self.schema!r})"


# -- raw_ingest_manifest -------------------------------------------------------------------

_MANIFEST_KEY = ("pipeline", "source_filename", "checksum")


def record_manifest_entry(
    session: Session,
    *,
    pipeline: str,
    source_filename: str,
    checksum: str,
    size_bytes: int,
    row_count: int | None = None,
    status: ManifestStatus = ManifestStatus.INGESTED,
    snapshot_id: int | None = None,
    run_id: str | None = None,
    error: str | None = None,
    at: datetime | None = None,
) -> None:
    """Record a file version (pipeline, file, checksum); a second record of the same version
    updates the first (``pending`` -> ``ingested``, a re-commit's snapshot)."""
    values = {
        "pipeline": pipeline,
        "source_filename": source_filename,
        "checksum": _checked_sha256(checksum),
        "size_bytes": size_bytes,
        "ingested_at": at or utc_now(),
        "row_count": row_count,
        "status": status,
        "error": error,
        "snapshot_id": snapshot_id,
        "run_id": run_id,
    }
    statement = _insert(session, RawIngestManifest).values(values)
    updated = ("size_bytes", "ingested_at", "row_count", "status", "error", "snapshot_id", "run_id")
    session.execute(
        statement.on_conflict_do_update(
            index_elements=list(_MANIFEST_KEY),
            set_={name: statement.excluded[name] for name in updated},
        )
    )


def record_manifest_entries(session: Session, entries: list[dict[str, Any]]) -> None:
    """:func:`record_manifest_entry` for many versions: multi-row statements of 500 rows."""
    updated = ("size_bytes", "ingested_at", "row_count", "status", "error", "snapshot_id", "run_id")
    now = utc_now()
    rows = [
        {
            "pipeline": entry["pipeline"],
            "source_filename": entry["source_filename"],
            "checksum": _checked_sha256(entry["checksum"]),
            "size_bytes": entry["size_bytes"],
            "ingested_at": entry.get("at") or now,
            "row_count": entry.get("row_count"),
            "status": entry.get("status", ManifestStatus.INGESTED),
            "error": entry.get("error"),
            "snapshot_id": entry.get("snapshot_id"),
            "run_id": entry.get("run_id"),
        }
        for entry in entries
    ]
    for start in range(0, len(rows), 500):
        statement = _insert(session, RawIngestManifest).values(rows[start : start + 500])
        session.execute(
            statement.on_conflict_do_update(
                index_elements=list(_MANIFEST_KEY),
                set_={name: statement.excluded[name] for name in updated},
            )
        )


def mark_failed(
    session: Session,
    *,
    pipeline: str,
    source_filename: str,
    checksum: str,
    size_bytes: int,
    error: str,
    run_id: str | None = None,
    at: datetime | None = None,
) -> bool:
    """Record that this version of the file could not be loaded, and why.

    A version already ``ingested`` stays so (its rows are in the table); returns whether the
    row now says ``failed``.
    """
    table = RawIngestManifest.__table__
    statement = _insert(session, RawIngestManifest).values(
        pipeline=pipeline,
        source_filename=source_filename,
        checksum=_checked_sha256(checksum),
        size_bytes=size_bytes,
        ingested_at=at or utc_now(),
        status=ManifestStatus.FAILED,
        error=error,
        run_id=run_id,
    )
    result = session.execute(
        statement.on_conflict_do_update(
            index_elements=list(_MANIFEST_KEY),
            set_={
                name: statement.excluded[name]
                for name in ("size_bytes", "ingested_at", "status", "error", "run_id")
            },
            where=table.c.status != ManifestStatus.INGESTED,
        ).returning(table.c.id)
    )
    return result.first() is not None


def mark_pending(
    session: Session,
    *,
    pipeline: str,
    files: Collection[tuple[str, str, int]],
    run_id: str | None,
    at: datetime | None = None,
) -> None:
    """Record that run `run_id` is about to load these ``(source_filename, checksum, size)``
    versions: ``pending``, one more attempt. A version already ingested stays so."""
    if not files:
        return
    table = RawIngestManifest.__table__
    when = at or utc_now()
    rows = [
        {
            "pipeline": pipeline,
            "source_filename": name,
            "checksum": _checked_sha256(checksum),
            "size_bytes": size,
            "ingested_at": when,
            "status": ManifestStatus.PENDING,
            "run_id": run_id,
            "attempts": 1,
        }
        for name, checksum, size in files
    ]
    statement = _insert(session, RawIngestManifest).values(rows)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=list(_MANIFEST_KEY),
            set_={
                "status": statement.excluded.status,
                "run_id": statement.excluded.run_id,
                "ingested_at": statement.excluded.ingested_at,
                "error": None,
                "attempts": table.c.attempts + 1,
            },
            where=table.c.status != ManifestStatus.INGESTED,
        )
    )


def manifest_versions(
    session: Session, pipeline: str, names: Collection[str]
) -> dict[tuple[str, str], RawIngestManifest]:
    """The manifest rows of these files (every checksum on record), by (file, checksum)."""
    found: dict[tuple[str, str], RawIngestManifest] = {}
    ordered = sorted(names)
    for start in range(0, len(ordered), 500):  # bounded IN lists
        chunk = ordered[start : start + 500]
        query = select(RawIngestManifest).where(
            RawIngestManifest.pipeline == pipeline, RawIngestManifest.source_filename.in_(chunk)
        )
        for row in session.scalars(query):
            found[(row.source_filename, row.checksum)] = row
    return found


def manifest_rows(session: Session, pipeline: str | None = None) -> list[RawIngestManifest]:
    """Every manifest row (of one pipeline), newest first."""
    query = select(RawIngestManifest).order_by(
        RawIngestManifest.ingested_at.desc(), RawIngestManifest.id.desc()
    )
    if pipeline is not None:
        query = query.where(RawIngestManifest.pipeline == pipeline)
    return list(session.scalars(query))


def known_checksums(
    session: Session,
    pipeline: str,
    *,
    statuses: Collection[ManifestStatus] = (ManifestStatus.INGESTED, ManifestStatus.FAILED),
) -> dict[str, str]:
    """File -> checksum of its newest version in the manifest with one of ``statuses``.

    By default ingested and failed versions: a file whose current checksum is here needs no
    run (it is loaded, or fails the same way until its content changes).
    """
    manifest = RawIngestManifest
    newest_first = func.row_number().over(
        partition_by=manifest.source_filename,
        order_by=(manifest.ingested_at.desc(), manifest.id.desc()),
    )
    ranked = (
        select(manifest.source_filename, manifest.checksum, newest_first.label("rank"))
        .where(manifest.pipeline == pipeline, manifest.status.in_(list(statuses)))
        .subquery()
    )
    rows = session.execute(
        select(ranked.c.source_filename, ranked.c.checksum).where(ranked.c.rank == 1)
    )
    return {row.source_filename: row.checksum for row in rows}


# -- pipeline_runs -------------------------------------------------------------------------

_RUN_FIELDS = (
    "job_name",
    "pipeline",
    "started_at",
    "finished_at",
    "error_summary",
    "category",
    "code",
    "failed_records",
    "rows_loaded",
)


def upsert_run(
    session: Session,
    *,
    run_id: str,
    job_name: str,
    status: RunStatus,
    pipeline: str | None = None,
    started_at: datetime | None = None,
    finished_at: datetime | None = None,
    error_summary: str | None = None,
    category: str | None = None,
    code: str | None = None,
    failed_records: int | None = None,
    rows_loaded: int | None = None,
) -> None:
    """Record a run's start or end; events may arrive in any order and more than once.

    Only the fields given overwrite; a finished run never goes back to ``running`` (a late
    start event still fills in ``started_at``). A finish seen first records ``started_at`` as
    the finish time until the start says better.
    """
    given = {
        name: value
        for name, value in {
            "job_name": job_name,
            "pipeline": pipeline,
            "started_at": started_at,
            "finished_at": finished_at,
            "error_summary": error_summary,
            "category": category,
            "code": code,
            "failed_records": failed_records,
            "rows_loaded": rows_loaded,
        }.items()
        if value is not None
    }
    values = {
        "run_id": run_id,
        "status": status,
        **given,
        "started_at": started_at or finished_at or utc_now(),
    }
    table = PipelineRun.__table__
    statement = _insert(session, PipelineRun).values(values)
    excluded = statement.excluded
    keep_finished = and_(table.c.status != RunStatus.RUNNING, excluded.status == RunStatus.RUNNING)
    set_: dict[str, Any] = {name: excluded[name] for name in _RUN_FIELDS if name in given}
    set_["status"] = case((keep_finished, table.c.status), else_=excluded.status)
    session.execute(statement.on_conflict_do_update(index_elements=["run_id"], set_=set_))


def last_runs(session: Session, n: int = 10, *, pipeline: str | None = None) -> list[PipelineRun]:
    """The ``n`` most recently started runs, newest first (of one pipeline, if given)."""
    query = select(PipelineRun).order_by(PipelineRun.started_at.desc(), PipelineRun.run_id.desc())
    if pipeline is not None:
        query = query.where(PipelineRun.pipeline == pipeline)
    return list(session.scalars(query.limit(n)))


# -- alerts_sent ---------------------------------------------------------------------------


def claim_alert(session: Session, run_id: str, channel: str, *, at: datetime | None = None) -> bool:
    """Claim the alert of ``run_id`` on ``channel``: True for the one caller that gets it.

    Commit the claim before sending; whoever gets False must not send. A failed send is
    recorded with :func:`record_alert_attempt` and retried from :func:`unsent_alerts`.
    """
    statement = _insert(session, AlertSent).values(
        run_id=run_id,
        channel=channel,
        claimed_at=at or utc_now(),
        status=AlertStatus.PENDING,
        attempts=0,
    )
    claimed = statement.on_conflict_do_nothing(index_elements=["run_id", "channel"])
    # RETURNING rather than rowcount: an ORM session's INSERT does not report it everywhere.
    return session.execute(claimed.returning(AlertSent.run_id)).first() is not None


def record_alert_attempt(
    session: Session,
    run_id: str,
    channel: str,
    *,
    error: str | None = None,
    at: datetime | None = None,
) -> None:
    """Record one delivery attempt of a claimed alert: sent, or failed with ``error``."""
    when = at or utc_now()
    result = session.execute(
        update(AlertSent)
        .where(AlertSent.run_id == run_id, AlertSent.channel == channel)
        .values(
            attempts=AlertSent.attempts + 1,
            status=AlertStatus.FAILED if error else AlertStatus.SENT,
            sent_at=None if error else when,
            last_error=error,
        )
    )
    if _rowcount(result) != 1:
        raise LookupError(f"no alert claimed for run {run_id} on channel {channel!r}")


def unsent_alerts(session: Session, *, max_attempts: int | None = None) -> list[AlertSent]:
    """Claimed alerts not delivered yet (pending or failed), oldest claim first."""
    query = select(AlertSent).where(AlertSent.status != AlertStatus.SENT)
    if max_attempts is not None:
        query = query.where(AlertSent.attempts < max_attempts)
    return list(session.scalars(query.order_by(AlertSent.claimed_at, AlertSent.run_id)))


# -- helpers -------------------------------------------------------------------------------


def _insert(session: Session, model: type[OpsBase]) -> postgresql.Insert | sqlite.Insert:
    """The dialect's INSERT, which has ``on_conflict_do_nothing / _do_update``."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(model)
    if name == "sqlite":
        return sqlite.insert(model)
    raise NotImplementedError(f"the ops store runs on SQLite or PostgreSQL, not {name}")


def _rowcount(result: Any) -> int:
    return cast(CursorResult[Any], result).rowcount


def _checked_sha256(checksum: str) -> str:
    if not _SHA256_HEX.match(checksum):
        raise ValueError(f"checksum {checksum!r} is not a lower-case SHA-256 hex digest")
    return checksum
