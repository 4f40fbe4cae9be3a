"""One landing-zone sensor per ``landing_zone: true`` pipeline.

Each tick lists the pipeline's folder (``tracker.py``) and requests one run per batch of new
or changed stable files. The run carries exactly those files (name and checksum, in its run
config) and its run key is derived from them — plus the run that last tried them, when that
run ended without recording them — so a file version is never launched twice, and one whose
run was killed is launched again (up to ``landing_zone.max_attempts``).

No ``from __future__ import annotations``: Dagster reads the sensor's resource annotation.
"""

import hashlib
import json
from collections.abc import Callable

import dagster as dg

from platform_defs.config import IngestionPipeline, Project
from platform_defs.ingestion.assets import REJECTS_CHECK, asset_key
from platform_defs.landing.runner import LandingFolder
from platform_defs.landing.tracker import Candidate, Scan, scan_pipeline
from platform_defs.ops.resource import OpsStoreResource

ACTIVE_RUN_STATUSES = frozenset(
    {
        dg.DagsterRunStatus.QUEUED,
        dg.DagsterRunStatus.NOT_STARTED,
        dg.DagsterRunStatus.STARTING,
        dg.DagsterRunStatus.STARTED,
        dg.DagsterRunStatus.CANCELING,
    }
)
LANDING_FILES_TAG = "floe/landing_files"
LANDING_KEY_TAG = "floe/landing_key"
QUIET_DIGEST = "quiet_listing"
"""Cursor key: the digest of the last listing that left nothing to do."""
"""The run key of the file versions a run carries (before any chaining on earlier runs)."""


def sensor_name(entry: IngestionPipeline) -> str:
    return f"landing_{entry.name}"


def op_name(entry: IngestionPipeline) -> str:
    """The op of the pipeline's asset (Dagster joins the key's parts with ``__``)."""
    return "__".join(asset_key(entry).path)


def run_key(candidates: list[Candidate]) -> str:
    """The same file versions (and the same failed predecessor) give the same key."""
    digest = hashlib.sha256()
    for candidate in sorted(candidates, key=lambda c: c.source_filename):
        line = f"{candidate.source_filename}\0{candidate.checksum}\0{candidate.previous_run_id}\n"
        digest.update(line.encode())
    return f"landing:{digest.hexdigest()}"


def run_requests(
    entry: IngestionPipeline,
    scan: Scan,
    max_files: int,
    earlier_runs: Callable[[str], list[dg.DagsterRun]] = lambda key: [],
    max_attempts: int = 3,
) -> list[dg.RunRequest]:
    """One request per batch of candidates. A batch whose earlier run (same key) ended
    without recording its files — killed before it could mark them pending — gets a key
    chained on that run, so it is launched again; one still running waits."""
    candidates = sorted(scan.candidates, key=lambda c: c.source_filename)
    requests = []
    for start in range(0, len(candidates), max_files):
        batch = candidates[start : start + max_files]
        base = run_key(batch)
        earlier = earlier_runs(base)
        if any(run.status in ACTIVE_RUN_STATUSES for run in earlier):
            continue
        if len(earlier) >= max_attempts:
            scan.gave_up.extend(c.source_filename for c in batch)
            continue
        key = base if not earlier else f"{base}:{earlier[0].run_id}"
        files = [{"source_filename": c.source_filename, "checksum": c.checksum} for c in batch]
        requests.append(
            dg.RunRequest(
                run_key=key,
                asset_selection=[asset_key(entry)],
                # the load's own check; dbt's source tests of the table run with the marts
                # (a dbt invocation per dropped file would dwarf the load)
                asset_check_keys=[dg.AssetCheckKey(asset_key(entry), REJECTS_CHECK)],
                run_config={"ops": {op_name(entry): {"config": {"files": files}}}},
                tags={
                    "floe/pipeline": entry.name,
                    LANDING_FILES_TAG: str(len(batch)),
                    LANDING_KEY_TAG: base,
                },
            )
        )
    return requests


def build_landing_sensor(project: Project, entry: IngestionPipeline) -> dg.SensorDefinition:
    settings = project.manifest.landing_zone

    @dg.sensor(
        name=sensor_name(entry),
        minimum_interval_seconds=settings.sensor_interval_seconds,
        asset_selection=[asset_key(entry)],
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            f"Ingests each new or changed file of the landing zone's "
            f"{LandingFolder.of(project, entry).prefix or './'} folder once "
            f"(pipeline {entry.name})."
        ),
    )
    def _landing(
        context: dg.SensorEvaluationContext, ops_store: OpsStoreResource
    ) -> dg.SensorResult:
        landing = LandingFolder.of(project, entry)
        instance = context.instance

        def run_is_active(run_id: str) -> bool:
            run = instance.get_run_by_id(run_id)
            return run is not None and run.status in ACTIVE_RUN_STATUSES

        with ops_store.session() as session:
            scan = scan_pipeline(
                session,
                pipeline=entry.name,
                folder=landing.folder,
                file_glob=landing.file_glob,
                prefix=landing.prefix,
                run_is_active=run_is_active,
                max_attempts=settings.max_attempts,
                quiet_digest=_quiet_digest(context.cursor),
            )
        # the listing of a tick with nothing to do: the next tick skips the ops store when
        # the folder lists exactly the same again
        cursor = json.dumps({QUIET_DIGEST: scan.digest} if scan.quiet else {})
        if scan.settling:
            context.log.info(
                f"{len(scan.settling)} file(s) new or changing since the last listing, "
                f"looked at again next tick: {', '.join(scan.settling[:5])}"
            )

        def earlier_runs(base: str) -> list[dg.DagsterRun]:
            # newest first; only runs that did not record their files leave the versions
            # candidates, so any run found here ended (or runs) without recording them
            return list(
                instance.get_runs(filters=dg.RunsFilter(tags={LANDING_KEY_TAG: base}), limit=20)
            )

        requests = run_requests(
            entry, scan, settings.max_files_per_run, earlier_runs, settings.max_attempts
        )
        for path in scan.gave_up:
            context.log.warning(f"{path}: runs kept ending without recording it; not retried")
        if not requests:
            return dg.SensorResult(skip_reason=dg.SkipReason(_summary(scan)), cursor=cursor)
        context.log.info(_summary(scan))
        return dg.SensorResult(run_requests=requests, cursor=cursor)

    return _landing


def _quiet_digest(cursor: str | None) -> str | None:
    if not cursor:
        return None
    try:
        value = json.loads(cursor).get(QUIET_DIGEST)
    except (ValueError, AttributeError):
        return None  # a cursor of an older floe: scan in full
    return value if isinstance(value, str) else None


def _summary(scan: Scan) -> str:
    if scan.skipped:
        return f"{scan.listed} file(s) listed, unchanged since the last quiet tick"
    return (
        f"{scan.listed} file(s) listed, {scan.hashed} hashed, {len(scan.candidates)} to load, "
        f"{len(scan.settling)} settling, {len(scan.in_progress)} in a running run"
    )


def landing_definitions(project: Project) -> dg.Definitions:
    return dg.Definitions(
        sensors=[
            build_landing_sensor(project, entry)
            for entry in project.floe.ingestion
            if entry.landing_zone
        ]
    )
