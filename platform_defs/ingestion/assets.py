"""One Dagster asset (and, with a cron, one schedule) per `floe.yaml` ingestion entry."""

from typing import Any

import dagster as dg
from pydantic import Field

from platform_defs.catalog import open_catalog, table_metadata
from platform_defs.config import ConfigError, IngestionPipeline, Project
from platform_defs.ingestion.retry import (
    accepts_partial,
    error_metadata,
    raise_for_error,
    rejects_metadata,
)
from platform_defs.landing.runner import (
    RequestedFile,
    nothing_to_load,
    refused_files,
    run_landing_pipeline,
)
from platform_defs.ops.resource import OpsStoreResource
from plugins.base import ConfigurationIngestionError, PermanentIngestionError, RunContext
from plugins.registry import PluginNotFoundError, get_plugin_class

GROUP_NAME = "ingestion"
REJECTS_CHECK = "no_rejected_rows"


def asset_key(pipeline: IngestionPipeline) -> dg.AssetKey:
    """`<namespace>/<table>`: the same key dagster-dbt gives the dbt source `namespace.table`."""
    return dg.AssetKey(pipeline.destination.split("."))


def pool_name(pipeline: IngestionPipeline) -> str:
    """The pipeline's own Dagster concurrency pool: with the instance's ``default_limit: 1``
    and ``granularity: run`` (dagster.yaml), a schedule, sensor or backfill never starts a
    second run of a pipeline while one is in progress (dlt's working dir is not shareable)."""
    return f"floe_pipeline_{pipeline.name}"


def _description(pipeline: IngestionPipeline) -> str:
    if pipeline.description:
        return pipeline.description
    return (
        f"Bronze table {pipeline.destination}, ingested by {pipeline.type} "
        f"pipeline {pipeline.name}."
    )


class LandingFileConfig(dg.Config):
    source_filename: str = Field(description="Path under the landing-zone root.")
    checksum: str = Field(description="SHA-256 of the content the sensor saw, hex.")


class LandingRunConfig(dg.Config):
    """Run config of a landing-zone pipeline's asset (its sensor fills it in)."""

    files: list[LandingFileConfig] | None = Field(
        default=None,
        description=(
            "The file versions to load (the landing sensor's request). Leave empty to load "
            "every stable file the manifest does not hold yet."
        ),
    )


def build_ingestion_asset(project: Project, pipeline: IngestionPipeline) -> dg.AssetsDefinition:
    name = pipeline.name
    spec: dict[str, Any] = {
        "key": asset_key(pipeline),
        "group_name": GROUP_NAME,
        "kinds": {pipeline.type, "iceberg"},
        "description": _description(pipeline),
        "metadata": {
            "floe/pipeline": name,
            "floe/plugin": pipeline.type,
            "floe/write_disposition": pipeline.write_disposition,
            "floe/landing_zone": pipeline.landing_zone,
        },
        "tags": {"floe/pipeline": name},
        "pool": pool_name(pipeline),
        "check_specs": [
            dg.AssetCheckSpec(
                REJECTS_CHECK,
                asset=asset_key(pipeline),
                description="The load rejected no row and refused no file (rejected rows: "
                "the plugin's rejects table, e.g. <table>__rejected; refused files: "
                "ops.raw_ingest_manifest). A warning: the good rows are committed.",
            )
        ],
    }
    if pipeline.landing_zone:

        @dg.asset(**spec)
        def _landing(
            context: dg.AssetExecutionContext,
            config: LandingRunConfig,
            ops_store: OpsStoreResource,
        ) -> dg.MaterializeResult:
            requested = (
                None
                if config.files is None
                else [RequestedFile(f.source_filename, f.checksum) for f in config.files]
            )
            return _materialize(context, project, pipeline, ops_store, requested)

        return _landing

    @dg.asset(**spec)
    def _ingest(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        return _materialize(context, project, pipeline, None, None)

    return _ingest


def _materialize(
    context: dg.AssetExecutionContext,
    project: Project,
    pipeline: IngestionPipeline,
    ops_store: OpsStoreResource | None,
    requested: list[RequestedFile] | None,
) -> dg.MaterializeResult:
    name = pipeline.name
    # The checks the code location skips at import (Project.code_issues), for this entry
    # only and on this worker: a missing folder fails here, with `floe validate`'s message.
    issues = project.code_issues(name)
    if issues:
        raise_for_error(
            context,
            project.manifest.retry,
            ConfigurationIngestionError(
                "INVALID_CONFIG", "\n".join(str(issue) for issue in issues), source=name
            ),
        )
    try:
        plugin_context = project.plugin_context()
        plugin = get_plugin_class(pipeline.type)(plugin_context)
        entry_config = project.ingestion_config(name, resolve_secrets=True)
    except (ConfigError, PluginNotFoundError) as exc:
        # e.g. a secret ref that does not resolve on this worker: fix config, don't retry.
        raise_for_error(
            context,
            project.manifest.retry,
            ConfigurationIngestionError("INVALID_CONFIG", str(exc), source=name),
        )
    run_context = RunContext(
        run_id=context.run_id,
        partition_key=context.partition_key if context.has_partition_key else None,
        is_cancelled=lambda: _is_cancelling(context),
    )
    landing_metadata: dict[str, Any] = {}
    if ops_store is not None:
        landing_run = run_landing_pipeline(
            project,
            pipeline,
            plugin=plugin,
            config=entry_config,
            catalog=open_catalog(plugin_context),
            sessions=ops_store.session,
            requested=requested,
            run_context=run_context,
            progress=context.log.info,
        )
        landing_metadata = {
            "floe/landing": dg.MetadataValue.json(landing_run.as_metadata()),
            "floe/files_loaded": dg.MetadataValue.int(len(landing_run.loaded)),
            "floe/files_failed": dg.MetadataValue.int(len(landing_run.failed)),
        }
        result = landing_run.result or nothing_to_load(entry_config)
        if landing_run.failed and result.error is None:
            # the other files landed; the refused ones are a warning, like rejected rows
            result = refused_files(result, landing_run.failed, name)
    else:
        result = plugin.run(
            plugin.create_pipeline(entry_config),
            progress=lambda message: context.log.info(message),
            run_context=run_context,
        )
    error = result.error
    partial = error is not None and accepts_partial(project.manifest.retry, error)
    if error is not None and not partial:
        raise_for_error(context, project.manifest.retry, error)
    if not result.success and not partial:
        # A plugin that reports failure without an error breaks the contract; never pass it.
        raise_for_error(
            context,
            project.manifest.retry,
            PermanentIngestionError(
                "UNEXPECTED_ERROR", "plugin reported failure without an error", source=name
            ),
        )
    metadata: dict[str, Any] = {
        "rows_loaded": dg.MetadataValue.int(result.rows_loaded),
        "duration_seconds": dg.MetadataValue.float(round(result.duration_seconds, 3)),
        **rejects_metadata(error),
    }
    if partial and error is not None:
        # the good rows are committed: a data engineer gets them, and sees the rejects
        # (metadata, this warning, a failed WARN check) instead of a failed step
        metadata.update(error_metadata(error))
        context.log.warning(f"{error.category} {error.code}: {error.message}")
    if result.details:
        metadata["run_details"] = dg.MetadataValue.json(result.details)
    metadata.update(landing_metadata)
    catalog = open_catalog(plugin_context)
    if catalog.table_exists(entry_config.destination_table):
        metadata.update(table_metadata(catalog.load_table(entry_config.destination_table)))
    else:
        # A first run that found nothing to load creates no table; say so plainly.
        context.log.warning(f"no rows yet: {entry_config.destination_table} was not created")
        metadata["dagster/row_count"] = dg.MetadataValue.int(0)
    rejected = (error.failed_records or 0) if partial and error is not None else 0
    check = dg.AssetCheckResult(
        check_name=REJECTS_CHECK,
        passed=rejected == 0 and not (error is not None and error.code == "FILES_REFUSED"),
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            key: value
            for key, value in rejects_metadata(error if partial else None).items()
            if key != "floe/rejects"
        },
    )
    return dg.MaterializeResult(metadata=metadata, check_results=[check])


def _is_cancelling(context: dg.AssetExecutionContext) -> bool:
    run = context.instance.get_run_by_id(context.run_id)
    return run is not None and run.status in (
        dg.DagsterRunStatus.CANCELING,
        dg.DagsterRunStatus.CANCELED,
    )


def build_ingestion_schedules(project: Project) -> list[dg.ScheduleDefinition]:
    """A schedule per entry with a `schedule:` cron, materializing that entry's asset."""
    schedules = []
    for pipeline in project.floe.ingestion:
        if not pipeline.schedule:
            continue
        job = dg.define_asset_job(f"ingest_{pipeline.name}", selection=[asset_key(pipeline)])
        schedules.append(
            dg.ScheduleDefinition(
                name=f"ingest_{pipeline.name}_schedule",
                job=job,
                cron_schedule=pipeline.schedule,
                description=f"Runs ingestion pipeline {pipeline.name} on '{pipeline.schedule}'.",
                # The data engineer declared the cron: it runs unattended once deployed.
                default_status=dg.DefaultScheduleStatus.RUNNING,
            )
        )
    return schedules


def ingestion_definitions(project: Project) -> dg.Definitions:
    return dg.Definitions(
        assets=[build_ingestion_asset(project, p) for p in project.floe.ingestion],
        schedules=build_ingestion_schedules(project),
    )
