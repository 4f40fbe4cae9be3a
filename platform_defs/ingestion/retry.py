"""Turn an IngestionError into Dagster's retry-or-fail decision, using the manifest's retry block.

Dagster's RetryPolicy retries every exception alike; ADR-0020 says only the retryable
categories may be retried, so the asset raises ``RetryRequested`` (with our backoff) or a
non-retryable ``Failure`` carrying the error fields as metadata.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import dagster as dg

from platform_defs.config import RetryPolicy
from plugins.base import ErrorCategory, IngestionError


@dataclass(frozen=True)
class RetryDecision:
    retry: bool
    seconds_to_wait: float
    attempts_left: int


def backoff_seconds(policy: RetryPolicy, retry_number: int, *, jitter: float = 0.1) -> float:
    """The manifest's capped exponential delay before retry `retry_number + 1`, with jitter
    so that many pipelines failing together do not come back in lock-step."""
    delay = policy.delay_seconds(retry_number + 1)
    return delay * (1 + random.uniform(-jitter, jitter)) if delay > 0 else 0.0


def decide(policy: RetryPolicy, error: IngestionError, retry_number: int) -> RetryDecision:
    """Retry only when the error says it is retryable AND its category is one the manifest lists."""
    attempts_left = policy.max_attempts - 1 - retry_number
    retryable = error.retryable and policy.is_retryable(error.category)
    if not retryable or attempts_left <= 0:
        return RetryDecision(retry=False, seconds_to_wait=0.0, attempts_left=max(attempts_left, 0))
    wait = backoff_seconds(policy, retry_number)
    if error.retry_after_seconds is not None:
        # The source told us when to come back; honour it, within the manifest's cap.
        wait = min(max(wait, float(error.retry_after_seconds)), policy.max_delay_seconds)
    return RetryDecision(retry=True, seconds_to_wait=wait, attempts_left=attempts_left)


def accepts_partial(policy: RetryPolicy, error: IngestionError) -> bool:
    """A PARTIAL result (rows rejected, the rest committed) that the manifest does not ask to
    retry: the asset materializes what was committed and reports the rejects. When the
    manifest lists PARTIAL in `retryable_categories`, it is retried like any retryable
    failure and, once the attempts are spent, fails the step."""
    return error.category == ErrorCategory.PARTIAL and not (
        error.retryable and policy.is_retryable(error.category)
    )


def rejects_metadata(error: IngestionError | None) -> dict[str, dg.MetadataValue]:
    """How many rows were rejected and where they are (the plugin's rejects table, the first
    rejects): ``floe/rejected_rows`` is 0 for a run without rejects."""
    if error is None or error.category != ErrorCategory.PARTIAL:
        return {"floe/rejected_rows": dg.MetadataValue.int(0)}
    metadata: dict[str, dg.MetadataValue] = {
        "floe/rejected_rows": dg.MetadataValue.int(error.failed_records or 0)
    }
    table = error.details.get("rejects_table")
    if table:
        metadata["floe/rejects_table"] = dg.MetadataValue.text(str(table))
    sample = error.details.get("rejects_sample")
    if sample:
        columns = list(dict.fromkeys(key for record in sample for key in record))
        metadata["floe/rejects"] = dg.MetadataValue.table(
            records=[
                dg.TableRecord(
                    data={key: None if value is None else str(value) for key, value in r.items()}
                )
                for r in sample
            ],
            schema=dg.TableSchema(
                columns=[dg.TableColumn(name=name, type="string") for name in columns]
            ),
        )
    return metadata


def error_metadata(error: IngestionError) -> dict[str, dg.MetadataValue]:
    """The ADR-0020 fields, shown in the Dagster UI on the failed step."""
    fields = error.to_dict()
    metadata: dict[str, dg.MetadataValue] = {
        "error/category": dg.MetadataValue.text(fields["category"]),
        "error/code": dg.MetadataValue.text(fields["code"]),
        "error/message": dg.MetadataValue.text(fields["message"]),
        "error/source": dg.MetadataValue.text(fields["source"]),
        "error/retryable": dg.MetadataValue.bool(fields["retryable"]),
    }
    if error.failed_records is not None:
        metadata["error/failed_records"] = dg.MetadataValue.int(error.failed_records)
    if error.retry_after_seconds is not None:
        metadata["error/retry_after_seconds"] = dg.MetadataValue.int(error.retry_after_seconds)
    if error.details:
        metadata["error/details"] = dg.MetadataValue.json(error.details)
    if error.category == ErrorCategory.PARTIAL:
        metadata.update(rejects_metadata(error))
    return metadata


def raise_for_error(
    context: dg.AssetExecutionContext, policy: RetryPolicy, error: IngestionError
) -> None:
    """Raise RetryRequested for a retryable failure with attempts left, else a final Failure."""
    decision = decide(policy, error, context.retry_number)
    if decision.retry:
        context.log.warning(
            f"{error} — retrying in {decision.seconds_to_wait:.1f}s "
            f"({decision.attempts_left} attempt(s) left)"
        )
        raise dg.RetryRequested(
            max_retries=policy.max_attempts - 1, seconds_to_wait=decision.seconds_to_wait
        ) from error
    raise dg.Failure(
        description=f"{error.category} {error.code}: {error.message}",
        metadata=error_metadata(error),
        allow_retries=False,
    ) from error
