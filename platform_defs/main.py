"""`make run`: materialize the platform's main job on the embedded default and summarize it.

Runs against the Dagster instance in ``$DAGSTER_HOME`` (the Makefile points it at
``.floe/dagster``), so the run shows up in the UI started by ``make dev``.
"""

from __future__ import annotations

import os
import sys

import dagster as dg

from platform_defs.config import ConfigError
from platform_defs.jobs import MAIN_JOB_NAME
from platform_defs.transform.answers import marts_answers
from platform_defs.transform.project import marts_path


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


def main() -> int:
    try:
        from platform_defs.definitions import defs, project
    except ConfigError as error:
        print(f"floe: configuration is invalid:\n{error}", file=sys.stderr)
        return 1
    job = defs.resolve_job_def(MAIN_JOB_NAME)
    with _instance() as instance:
        result = job.execute_in_process(
            instance=instance,
            raise_on_error=False,
            # Progress, not Dagster's debug event stream; the UI (`make dev`) has the details.
            run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
        )
    print()
    print("\n".join(_summarize(result)))
    if not result.success:
        print("\nfloe: the main job failed:", file=sys.stderr)
        print("\n".join(_failures(result)), file=sys.stderr)
        return 1
    print()
    print("\n".join(marts_answers(marts_path(project))))
    print(f"\nfloe: {MAIN_JOB_NAME} succeeded (run {result.run_id}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
