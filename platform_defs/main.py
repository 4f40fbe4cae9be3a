"""`make run`: materialize the platform's main job on the embedded default and summarize it.

Runs against the Dagster instance in ``$DAGSTER_HOME`` (the Makefile points it at
``.floe/dagster``), so the run shows up in the UI started by ``make dev``. Then the landing-zone
demo: a file dropped into the landing zone, picked up once by its sensor
(``platform_defs/landing/demo.py``). No daemon runs here, so each run is recorded in
``ops.pipeline_runs`` (and alerted, if it failed) by the same code as the run-status sensors;
the summary ends with the manifest and the last runs.
"""

from __future__ import annotations

import logging
import os
import sys

import dagster as dg

from platform_defs.config import ConfigError, Project
from platform_defs.jobs import MAIN_JOB_NAME
from platform_defs.landing.demo import execute_request, run_landing_demo
from platform_defs.observability.alerts import Alerter
from platform_defs.observability.runs import PipelineIndex
from platform_defs.observability.sensors import track_run
from platform_defs.ops import last_runs, manifest_rows
from platform_defs.ops.resource import OpsStoreResource
from platform_defs.transform.answers import marts_answers
from platform_defs.transform.project import marts_path
from platform_defs.usage.demo import push_sample_usage


def _instance() -> dg.DagsterInstance:
    if os.environ.get("DAGSTER_HOME"):
        return dg.DagsterInstance.get()
    return dg.DagsterInstance.ephemeral()


def _summarize(result: dg.ExecuteInProcessResult) -> list[str]:
    """Each bronze table the run materialized: total rows, rows loaded, rows rejected (kept in
    `<table>__rejected`), Iceberg snapshot."""
    lines = [f"{'bronze table':<42} {'rows':>10} {'loaded':>10} {'rejected':>9}  snapshot"]
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        metadata = materialization.metadata
        if "iceberg/snapshot_id" not in metadata:
            continue  # a dbt model: its answers follow below
        key = materialization.asset_key.to_user_string()
        rows = metadata.get("dagster/row_count")
        loaded = metadata.get("rows_loaded")
        rejected = metadata.get("floe/rejected_rows")
        snapshot = metadata["iceberg/snapshot_id"]
        lines.append(
            f"{key:<42} {_value(rows):>10} {_value(loaded):>10} {_value(rejected):>9}  "
            f"{_value(snapshot) or '-'}"
        )
    return lines


def _value(entry: dg.MetadataValue | None) -> str:
    return "-" if entry is None else str(entry.value)


def _failures(result: dg.ExecuteInProcessResult) -> list[str]:
    lines = []
    for event in result.all_events:
        if event.event_type != dg.DagsterEventType.STEP_FAILURE:
            continue
        data = event.step_failure_data
        message = data.user_failure_data.description if data.user_failure_data else None
        message = message or (data.error.message.strip() if data.error else "failed")
        lines.append(f"  {event.step_key}: {message}")
    return lines


_CONSOLE = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}
log = logging.getLogger("floe.main")


class RunTracker:
    """Records in-process runs in ops.pipeline_runs as the run-status sensors would."""

    def __init__(self, project: Project, instance: dg.DagsterInstance) -> None:
        self.instance = instance
        self.ops_store = OpsStoreResource.from_manifest(project.manifest)
        self.pipelines = PipelineIndex.from_project(project)
        self.alerter = Alerter(project.manifest.alerts, project.manifest.secrets.resolver())

    def track(self, result: dg.ExecuteInProcessResult) -> None:
        run = self.instance.get_run_by_id(result.run_id)
        if run is None:
            return
        status = dg.DagsterRunStatus.SUCCESS if result.success else dg.DagsterRunStatus.FAILURE
        track_run(self.instance, run, status, self.ops_store, self.pipelines, self.alerter, log)


def _manifest_and_runs(ops_store: OpsStoreResource) -> list[str]:
    with ops_store.session() as session:
        files = manifest_rows(session)
        runs = last_runs(session, 5)
    lines = ["Landing-zone manifest (ops.raw_ingest_manifest):"]
    lines.append(f"  {'file':<48} {'status':<9} {'rows':>6}  checksum      snapshot")
    for row in files:
        lines.append(
            f"  {row.source_filename:<48} {row.status:<9} {_value_of(row.row_count):>6}  "
            f"{row.checksum[:12]}  {_value_of(row.snapshot_id)}"
        )
    lines.append("Last runs (ops.pipeline_runs):")
    for run in runs:
        took = (
            f"{(run.finished_at - run.started_at).total_seconds():.1f}s" if run.finished_at else "-"
        )
        lines.append(
            f"  {run.run_id[:8]}  {run.job_name:<28} {run.status:<8} {took:>7}  "
            f"rows {_value_of(run.rows_loaded)}"
            + (f"  {run.error_summary.splitlines()[0][:60]}" if run.error_summary else "")
        )
    return lines


def _value_of(value: object) -> str:
    return "-" if value is None else str(value)


def main() -> int:
    try:
        from platform_defs.definitions import defs, project
    except ConfigError as error:
        print(f"floe: configuration is invalid:\n{error}", file=sys.stderr)
        return 1
    job = defs.resolve_job_def(MAIN_JOB_NAME)
    with _instance() as instance:
        tracker = RunTracker(project, instance)

        def execute(request: dg.RunRequest) -> dg.ExecuteInProcessResult:
            run = execute_request(defs, instance, request, _CONSOLE)
            tracker.track(run)
            return run

        # Producers first: the sample usage days go through the SDK and the API into the
        # ops store, and the usage sensor's runs carry them into bronze (the marts follow).
        print("Usage push: the sample usage days, pushed through the producer SDK:")
        popular = push_sample_usage(
            defs, project, instance, tracker.ops_store, execute, say=lambda m: print(f"  {m}")
        )
        result = job.execute_in_process(
            instance=instance,
            raise_on_error=False,
            # Progress, not Dagster's debug event stream; the UI (`make dev`) has the details.
            run_config=_CONSOLE,
        )
        tracker.track(result)
        print()
        print("\n".join(_summarize(result)))
        if not result.success:
            print("\nfloe: the main job failed:", file=sys.stderr)
            print("\n".join(_failures(result)), file=sys.stderr)
            return 1
        print()
        print("\n".join(marts_answers(marts_path(project))))
        print("\nMost popular assets, read back through the usage API:")
        print("\n".join(popular))

        print("\nLanding zone: a file dropped, its sensor ticked (no daemon here):")
        run_landing_demo(
            defs, project, instance, tracker.ops_store, execute, say=lambda m: print(f"  {m}")
        )
        print()
        print("\n".join(_manifest_and_runs(tracker.ops_store)))
    print(f"\nfloe: {MAIN_JOB_NAME} succeeded (run {result.run_id}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
