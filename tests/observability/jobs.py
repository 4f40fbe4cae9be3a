"""Jobs shaped like the platform's: an ingestion asset that fails the way the real one does
(through :func:`platform_defs.ingestion.retry.raise_for_error`, so with the same ADR-0020
failure metadata and the same ``RetryRequested`` for a retryable error), and an op job like
maintenance.

The run tag ``test/mode`` picks what the ingestion asset does: ``ok`` (loads 5 rows),
``partial`` (7 records fail: PARTIAL, the step fails), ``rejects`` (PARTIAL accepted: 5 rows
committed, 2 rejected, reported on the materialization as the ingestion asset does when the
manifest does not retry PARTIAL), ``flaky`` (TRANSIENT on the first attempt, then ok).

No ``from __future__ import annotations``: Dagster reads the context annotations.
"""

import dagster as dg

from platform_defs.config import RetryPolicy
from platform_defs.ingestion.retry import error_metadata, raise_for_error
from platform_defs.observability.runs import PipelineIndex
from plugins.base import PartialIngestionError, TransientIngestionError

ORDERS = dg.AssetKey(["bronze", "orders"])
CUSTOMERS = dg.AssetKey(["bronze", "customers"])
PIPELINES = PipelineIndex({ORDERS: "orders", CUSTOMERS: "customers"})
MODE_TAG = "test/mode"
RETRY = RetryPolicy(max_attempts=2, initial_delay_seconds=0, max_delay_seconds=0)


@dg.asset(key=ORDERS, group_name="ingestion")
def orders(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """Bronze table bronze.orders."""
    mode = context.run.tags.get(MODE_TAG, "ok")
    context.log.info(f"orders: loading ({mode})")
    if mode == "partial":
        raise_for_error(
            context,
            RETRY,
            PartialIngestionError(
                "ROWS_REJECTED",
                "7 rows of orders.csv failed validation",
                source="orders",
                failed_records=7,
            ),
        )
    if mode == "flaky" and context.retry_number == 0:
        raise_for_error(
            context, RETRY, TransientIngestionError("RATE_LIMITED", "slow down", source="orders")
        )
    metadata: dict[str, dg.MetadataValue] = {"rows_loaded": dg.MetadataValue.int(5)}
    if mode == "rejects":
        rejected = PartialIngestionError(
            "ROWS_REJECTED", "2 rows of orders.csv rejected", source="orders", failed_records=2
        )
        metadata.update(error_metadata(rejected))
    return dg.MaterializeResult(metadata=metadata)


@dg.asset(key=CUSTOMERS, group_name="ingestion")
def customers() -> dg.MaterializeResult:
    """Bronze table bronze.customers."""
    return dg.MaterializeResult(metadata={"rows_loaded": dg.MetadataValue.int(3)})


@dg.op
def maintain_orders(context: dg.OpExecutionContext) -> None:
    if context.run.tags.get(MODE_TAG) == "broken":
        raise RuntimeError("catalog unreachable: connection refused")


@dg.job
def floe_maintenance() -> None:
    maintain_orders()


defs = dg.Definitions(
    assets=[orders, customers],
    jobs=[
        dg.define_asset_job("ingest_orders", selection=[ORDERS]),
        dg.define_asset_job("floe_main", selection=dg.AssetSelection.all()),
        floe_maintenance,
    ],
)


def run_job(
    instance: dg.DagsterInstance, job_name: str, mode: str = "ok", **kwargs: object
) -> dg.ExecuteInProcessResult:
    return defs.resolve_job_def(job_name).execute_in_process(
        instance=instance, tags={MODE_TAG: mode}, raise_on_error=False, **kwargs
    )
