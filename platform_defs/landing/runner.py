"""One run of a landing-zone pipeline: exactly the chosen files, each recorded once.

1. **Choose.** The files the sensor requested (each re-hashed: the run records the checksum of
   what it reads; one that changed since is left to the next tick), or — a run from a
   schedule, the UI or ``make run`` — every stable file the manifest does not hold yet.
   The chosen versions are marked pending at once (this run, one more attempt).
2. **Reconcile.** A file version already recorded in a snapshot of the table
   (:data:`~plugins.base.LANDING_FILES_PROPERTY`) but not in the manifest — a run died between
   the commit and the manifest write — is recorded now and not loaded again.
3. **Check.** A file that cannot be read as a whole is marked failed with the reason
   (``inspect.py``); the others go on.
4. **Load, record.** The plugin commits the others in one Iceberg commit that replaces the
   rows their earlier versions contributed, and only then the manifest says ingested (rows,
   snapshot) — in one transaction.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.expressions import EqualTo
from sqlalchemy.orm import Session

from platform_defs.config import IngestionPipeline, Project
from platform_defs.landing.files import list_files, sha256_file
from platform_defs.landing.inspect import file_problem
from platform_defs.landing.tracker import SETTLED, mark_settled
from platform_defs.ops.models import ManifestStatus
from platform_defs.ops.store import (
    manifest_versions,
    mark_failed,
    mark_pending,
    record_manifest_entries,
    record_manifest_entry,
)
from plugins.base import (
    LANDING_FILES_PROPERTY,
    ErrorCategory,
    IngestionConfig,
    IngestionError,
    IngestionResult,
    PartialIngestionError,
    RunContext,
    SourceFiles,
)

log = logging.getLogger(__name__)

SOURCE_FILE_COLUMN = "_floe_source_file"
RECONCILE_SNAPSHOTS = 100
"""Newest snapshots searched for versions a crashed run committed but did not record."""

Sessions = Callable[[], AbstractContextManager[Session]]


@dataclass(frozen=True)
class RequestedFile:
    """A file version a sensor asked a run to load."""

    source_filename: str
    checksum: str


@dataclass(frozen=True)
class LandingFolder:
    """Where a landing pipeline's files are, and how its names map to the manifest's."""

    pipeline: str
    folder: Path
    file_glob: str
    fmt: str
    prefix: str
    """The folder relative to the landing root, with a trailing ``/`` (or empty)."""

    @classmethod
    def of(cls, project: Project, entry: IngestionPipeline) -> LandingFolder:
        from plugins.dlt.options import FilesystemConfig

        _, block = entry.plugin_block
        fs = FilesystemConfig.model_validate(block.get("config") or {})
        relative = fs.bucket_url.strip("/")
        root = Path(project.manifest.landing_zone.root)
        prefix = f"{relative}/" if relative not in ("", ".") else ""
        return cls(entry.name, root / relative, fs.file_glob, str(fs.format), prefix)

    def name_of(self, source_filename: str) -> str:
        return source_filename.removeprefix(self.prefix)


@dataclass
class LandingRun:
    """What a landing run did, for the asset's metadata and the run's log."""

    result: IngestionResult | None = None
    """The plugin's result; None when there was nothing to load."""
    loaded: dict[str, str] = field(default_factory=dict)
    """source_filename -> checksum committed by this run."""
    reconciled: dict[str, str] = field(default_factory=dict)
    """Versions found committed by an earlier run, recorded now."""
    failed: dict[str, str] = field(default_factory=dict)
    """source_filename -> why it was refused (nothing of it landed)."""
    skipped: dict[str, str] = field(default_factory=dict)
    """Requested but not loaded now, and why (changed since the sensor saw it, gone)."""

    def as_metadata(self) -> dict[str, Any]:
        return {
            "files_loaded": sorted(self.loaded),
            "files_reconciled": sorted(self.reconciled),
            "files_failed": dict(sorted(self.failed.items())),
            "files_skipped": dict(sorted(self.skipped.items())),
        }


def run_landing_pipeline(
    project: Project,
    entry: IngestionPipeline,
    *,
    plugin: Any,
    config: IngestionConfig,
    catalog: Catalog,
    sessions: Sessions,
    requested: list[RequestedFile] | None,
    run_context: RunContext,
    progress: Callable[[str], None] = log.info,
) -> LandingRun:
    """Steps 1-4 of the module doc. Plugin errors come back in ``result.error``."""
    landing = LandingFolder.of(project, entry)
    outcome = LandingRun()
    chosen = (
        _requested_files(landing, requested, outcome)
        if requested is not None
        else _new_files(landing, sessions, project.manifest.landing_zone.settle_seconds)
    )
    if not chosen:
        progress("landing zone: no new or changed file to load")
        return outcome

    with sessions() as session:
        versions = manifest_versions(session, entry.name, list(chosen))
    for name, (checksum, _) in list(chosen.items()):
        row = versions.get((name, checksum))
        if row is not None and row.status in SETTLED:
            outcome.skipped[name] = f"already {row.status} (checksum {checksum[:12]})"
            del chosen[name]

    # Pending first, in a transaction of its own: a run that dies after this point — even
    # one that only reconciles, which writes nothing else before its record — leaves its id
    # (and one more attempt) on the versions, so the sensor's next request gets a new run key
    # (the daemon launches a key once) and max_attempts counts it.
    with sessions() as session:
        mark_pending(
            session,
            pipeline=entry.name,
            files=[(name, checksum, size) for name, (checksum, size) in chosen.items()],
            run_id=run_context.run_id,
        )

    committed = _committed_versions(catalog, config.destination_table)
    reconcile = {n: c for n, (c, _) in chosen.items() if committed.get(n, (None,))[0] == c}
    if reconcile:
        _record_reconciled(landing, sessions, catalog, config, reconcile, committed, run_context)
        outcome.reconciled.update(reconcile)
        progress(
            f"landing zone: {len(reconcile)} file(s) were committed by an earlier run that "
            f"did not record them; recorded now: {', '.join(sorted(reconcile))}"
        )
        for name in reconcile:
            del chosen[name]

    options = config.options
    reader = dict((options.get("config") or {}).get("reader_options") or {})
    required = _declared_columns(options)
    for name, (checksum, size) in list(chosen.items()):
        problem = file_problem(
            landing.folder / landing.name_of(name),
            landing.fmt,
            encoding=str(reader.get("encoding", "utf-8")),
            delimiter=str(reader.get("delimiter") or reader.get("sep") or ","),
            quotechar=str(reader.get("quotechar", '"')),
            required_columns=required,
            normalize=_normalize,
        )
        if problem is None:
            continue
        message = f"{name} {problem}"
        with sessions() as session:
            mark_failed(
                session,
                pipeline=entry.name,
                source_filename=name,
                checksum=checksum,
                size_bytes=size,
                error=message,
                run_id=run_context.run_id,
            )
            mark_settled(session, entry.name, [(name, checksum)])
        outcome.failed[name] = message
        progress(f"landing zone: refused {message}")
        del chosen[name]
    if not chosen:
        return outcome

    source_files = SourceFiles(
        {landing.name_of(name): checksum for name, (checksum, _) in chosen.items()},
        column=SOURCE_FILE_COLUMN,
        prefix=landing.prefix,
    )
    progress(f"landing zone: loading {len(chosen)} file(s): {_names(chosen)}")
    run = RunContext(
        run_id=run_context.run_id,
        partition_key=run_context.partition_key,
        is_cancelled=run_context.is_cancelled,
        source_files=source_files,
    )
    result = plugin.run(plugin.create_pipeline(config), progress=progress, run_context=run)
    outcome.result = result
    error = result.error
    if result.success or (error is not None and error.category == ErrorCategory.PARTIAL):
        rows = result.details.get("file_rows") or {}
        snapshot_id = _snapshot_of(result)
        with sessions() as session:
            record_manifest_entries(
                session,
                [
                    {
                        "pipeline": entry.name,
                        "source_filename": name,
                        "checksum": checksum,
                        "size_bytes": size,
                        "row_count": int(rows.get(name, 0)),
                        "status": ManifestStatus.INGESTED,
                        "snapshot_id": snapshot_id,
                        "run_id": run_context.run_id,
                    }
                    for name, (checksum, size) in chosen.items()
                ],
            )
            mark_settled(session, entry.name, [(n, c) for n, (c, _) in chosen.items()])
        outcome.loaded.update({name: checksum for name, (checksum, _) in chosen.items()})
    elif error is not None and _refuses_files(error):
        with sessions() as session:
            for name, (checksum, size) in chosen.items():
                mark_failed(
                    session,
                    pipeline=entry.name,
                    source_filename=name,
                    checksum=checksum,
                    size_bytes=size,
                    error=f"[{error.category}/{error.code}] {error.message}",
                    run_id=run_context.run_id,
                )
            mark_settled(session, entry.name, [(n, c) for n, (c, _) in chosen.items()])
        outcome.failed.update(dict.fromkeys(chosen, error.message))
    # a transient or configuration failure leaves the versions pending: the step's retry (or,
    # once this run has ended, the sensor) tries them again
    return outcome


def _requested_files(
    landing: LandingFolder, requested: list[RequestedFile], outcome: LandingRun
) -> dict[str, tuple[str, int]]:
    chosen: dict[str, tuple[str, int]] = {}
    for file in requested:
        path = landing.folder / landing.name_of(file.source_filename)
        try:
            size = path.stat().st_size
            checksum = sha256_file(path)
        except FileNotFoundError:
            outcome.skipped[file.source_filename] = "gone from the landing zone"
            continue
        if checksum != file.checksum:
            outcome.skipped[file.source_filename] = "changed since the sensor saw it"
            continue
        chosen[file.source_filename] = (checksum, size)
    return chosen


def _new_files(
    landing: LandingFolder, sessions: Sessions, settle_seconds: float
) -> dict[str, tuple[str, int]]:
    """Every file old enough to be complete whose version the manifest does not hold yet."""
    listed = list_files(landing.folder, landing.file_glob)
    newest_allowed = time.time_ns() - int(settle_seconds * 1e9)
    stable = {name: f for name, f in listed.items() if f.mtime_ns <= newest_allowed}
    names = [f"{landing.prefix}{name}" for name in stable]
    with sessions() as session:
        versions = manifest_versions(session, landing.pipeline, names)
    settled = {key for key, row in versions.items() if row.status in SETTLED}
    chosen = {}
    for name, file in sorted(stable.items()):
        checksum = sha256_file(landing.folder / name)
        source_filename = f"{landing.prefix}{name}"
        if (source_filename, checksum) not in settled:
            chosen[source_filename] = (checksum, file.size_bytes)
    return chosen


def _committed_versions(catalog: Catalog, table_name: str) -> dict[str, tuple[str, int]]:
    """source_filename -> (checksum, snapshot id) of the newest snapshot recording it."""
    try:
        table = catalog.load_table(table_name)
    except NoSuchTableError:
        return {}
    found: dict[str, tuple[str, int]] = {}
    snapshots = sorted(table.snapshots(), key=lambda s: s.sequence_number or 0, reverse=True)
    for snapshot in snapshots[:RECONCILE_SNAPSHOTS]:
        recorded = snapshot.summary.get(LANDING_FILES_PROPERTY) if snapshot.summary else None
        if not recorded:
            continue
        for name, checksum in json.loads(recorded).items():
            found.setdefault(name, (checksum, snapshot.snapshot_id))
    return found


def _record_reconciled(
    landing: LandingFolder,
    sessions: Sessions,
    catalog: Catalog,
    config: IngestionConfig,
    versions: dict[str, str],
    committed: dict[str, tuple[str, int]],
    run_context: RunContext,
) -> None:
    table = catalog.load_table(config.destination_table)
    with sessions() as session:
        for name, checksum in versions.items():
            path = landing.folder / landing.name_of(name)
            # pyiceberg 0.12's EqualTo is a pydantic model whose __init__ mypy misreads
            this_file = EqualTo(SOURCE_FILE_COLUMN, name)  # type: ignore[misc,call-arg,arg-type]
            rows = table.scan(
                row_filter=this_file, selected_fields=(SOURCE_FILE_COLUMN,)
            ).to_arrow()
            record_manifest_entry(
                session,
                pipeline=landing.pipeline,
                source_filename=name,
                checksum=checksum,
                size_bytes=path.stat().st_size if path.exists() else 0,
                row_count=rows.num_rows,
                status=ManifestStatus.INGESTED,
                snapshot_id=committed[name][1],
                run_id=run_context.run_id,
            )
        mark_settled(session, landing.pipeline, list(versions.items()))


def _snapshot_of(result: IngestionResult) -> int | None:
    ids = [c.snapshot_id for c in result.commits if c.snapshot_id is not None]
    return ids[-1] if ids else result.snapshot_id


def _refuses_files(error: IngestionError) -> bool:
    """A failure that the same files would meet again: they are marked failed until they
    change. Transient and configuration failures are not the files' fault."""
    return error.category == ErrorCategory.PERMANENT


def _declared_columns(options: Any) -> list[str]:
    from plugins.dlt.options import DltOptions

    try:
        return list(DltOptions.model_validate(dict(options)).declared_columns)
    except Exception:  # the plugin reports an invalid block itself
        return []


def _normalize(name: str) -> str:
    from plugins.dlt.sources import normalize_identifier

    return normalize_identifier(name)


def _names(chosen: Iterable[str], limit: int = 5) -> str:
    names = sorted(chosen)
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def nothing_to_load(config: IngestionConfig) -> IngestionResult:
    """The result of a landing run that found no file to load."""
    return IngestionResult(success=True, rows_loaded=0, tables_created=[], duration_seconds=0.0)


def refused_files(result: IngestionResult, failed: dict[str, str], source: str) -> IngestionResult:
    """`result` (a success) as PARTIAL: the other files landed, these were refused whole."""
    listed = "; ".join(failed[name] for name in sorted(failed))
    error = PartialIngestionError(
        "FILES_REFUSED",
        f"{len(failed)} file(s) refused, nothing of them loaded: {listed}",
        source=source,
        retryable=False,  # marked failed in the manifest: a retry finds nothing to do
        failed_records=0,
        details={"files_failed": dict(sorted(failed.items()))},
    )
    return replace(result, success=False, error=error)
