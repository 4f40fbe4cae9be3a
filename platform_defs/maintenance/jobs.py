"""The `floe_maintenance` job: one op per bronze table, on the manifest's maintenance cron.

Ops, not assets: maintenance changes no rows, so it must not count as a new materialization
of a bronze table (that would rebuild every mart downstream). Each op records what it removed
as an AssetObservation on the table's asset and as its output's metadata.

No ``from __future__ import annotations``: Dagster reads the op's context annotation at runtime.
"""

import re

import dagster as dg

from platform_defs.config import Project
from platform_defs.maintenance.table_maintenance import TableReport
from platform_defs.maintenance.tables import describe, maintained_tables, run_maintenance

MAINTENANCE_JOB_NAME = "floe_maintenance"
MAINTENANCE_SCHEDULE_NAME = "floe_maintenance_schedule"


def op_name(table: str) -> str:
    """`bronze.daily_activity` -> `maintain_bronze__daily_activity`."""
    return "maintain_" + re.sub(r"[^A-Za-z0-9_]", "_", table.replace(".", "__"))


def report_metadata(report: TableReport) -> dict[str, dg.MetadataValue]:
    metadata: dict[str, dg.MetadataValue] = {
        "iceberg/table": dg.MetadataValue.text(report.table),
        "snapshots_expired": dg.MetadataValue.int(report.snapshots_expired),
        "snapshots_kept": dg.MetadataValue.int(report.snapshots_after),
        "data_files_removed": dg.MetadataValue.int(report.data_files_removed),
        "metadata_files_removed": dg.MetadataValue.int(report.metadata_files_removed),
        "orphan_files_removed": dg.MetadataValue.int(report.orphan_files_removed),
        "orphan_bytes_removed": dg.MetadataValue.int(report.orphan_bytes_removed),
        "files_compacted": dg.MetadataValue.text(
            f"{report.compacted_files_before} → {report.compacted_files_after}"
        ),
    }
    if report.compaction_snapshot_id is not None:
        metadata["iceberg/compaction_snapshot_id"] = dg.MetadataValue.text(
            str(report.compaction_snapshot_id)
        )
    if report.properties_set:
        metadata["table_properties_set"] = dg.MetadataValue.json(report.properties_set)
    if report.notes:
        metadata["notes"] = dg.MetadataValue.text("; ".join(report.notes))
    return metadata


def build_maintenance_op(project: Project, table: str) -> dg.OpDefinition:
    @dg.op(
        name=op_name(table),
        description=f"Expire old snapshots, remove orphan files and compact {table}.",
        tags={"floe/table": table},
    )
    def _maintain(context: dg.OpExecutionContext) -> dg.Output[None]:
        context.log.info(f"{table}: maintenance starts")
        (report,) = run_maintenance(project, [table], progress=context.log.info)
        context.log.info(describe(report))
        metadata = report_metadata(report)
        context.log_event(
            dg.AssetObservation(asset_key=dg.AssetKey(table.split(".")), metadata=metadata)
        )
        return dg.Output(None, metadata=metadata)

    return _maintain


def build_maintenance_job(project: Project) -> dg.JobDefinition:
    ops = [build_maintenance_op(project, table) for table in maintained_tables(project)]

    @dg.job(
        name=MAINTENANCE_JOB_NAME,
        description="Expire snapshots, remove orphan files and compact every bronze table.",
        tags={"floe/maintenance": "true"},
    )
    def _job() -> None:
        for maintain in ops:  # independent: one table's failure does not stop the others
            maintain()

    return _job


def maintenance_definitions(project: Project) -> dg.Definitions:
    job = build_maintenance_job(project)
    schedule = project.manifest.maintenance.schedule
    return dg.Definitions(
        jobs=[job],
        schedules=[
            dg.ScheduleDefinition(
                name=MAINTENANCE_SCHEDULE_NAME,
                job=job,
                cron_schedule=schedule,
                description=f"Runs {MAINTENANCE_JOB_NAME} on '{schedule}' (manifest maintenance).",
                # The platform team set the retention policy: it applies unattended.
                default_status=dg.DefaultScheduleStatus.RUNNING,
            )
        ],
    )
