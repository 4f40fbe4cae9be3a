"""What ``ops.pipeline_runs`` says about a Dagster run, read from the instance's run record and
event log.

The facts of a run are: its job, the ``floe.yaml`` pipeline it belongs to (its ``floe/pipeline``
tag, else the one ingestion asset it materializes, else the ingestion step that failed or
rejected rows), when it started and finished, how it ended, the rows its ingestion steps
loaded, and, for a failure, what went wrong. An ingestion step fails with the ADR-0020 fields
as its failure metadata (``error/category``, ``error/code``, ``error/message``,
``error/failed_records``, see :mod:`platform_defs.ingestion.retry`); other failures keep their
message only. A run that failed with no step failing (the run worker died, run monitoring
marked it failed) is summarised by its run failure event. A run that succeeded may still
report a PARTIAL load (rows rejected, the good ones committed) with the same fields on its
materialization: its row is ``success`` with that category, code and ``failed_records``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import dagster as dg
from sqlalchemy.orm import Session

from platform_defs.config import Project
from platform_defs.ingestion.assets import asset_key
from platform_defs.ops import PipelineRun, RunStatus, upsert_run

PIPELINE_TAG = "floe/pipeline"
"""A run tagged with it belongs to that pipeline (a landing-zone run, for instance)."""
MAX_SUMMARY_CHARS = 4000

_STATUS = {
    dg.DagsterRunStatus.STARTED: RunStatus.RUNNING,
    dg.DagsterRunStatus.SUCCESS: RunStatus.SUCCESS,
    dg.DagsterRunStatus.FAILURE: RunStatus.FAILURE,
    dg.DagsterRunStatus.CANCELED: RunStatus.CANCELED,
}
_FINISHED = {RunStatus.SUCCESS, RunStatus.FAILURE, RunStatus.CANCELED}
# An IngestionError's str() is "[CATEGORY/CODE] message" (plugins/base.py), which Dagster's
# error info prefixes with the class: what an attempt that raised RetryRequested from it
# (no metadata) still says about its category and code.
_TAXONOMY_PREFIX = re.compile(
    r"^(?:[\w.]+: )?\[(TRANSIENT|PERMANENT|PARTIAL|CONFIGURATION)/([^\]\s]+)\]\s*"
)


@dataclass(frozen=True)
class PipelineIndex:
    """Which ``floe.yaml`` pipeline an ingestion asset (or its step) is."""

    by_asset: Mapping[dg.AssetKey, str] = field(default_factory=dict)

    @classmethod
    def from_project(cls, project: Project) -> PipelineIndex:
        return cls({asset_key(pipeline): pipeline.name for pipeline in project.floe.ingestion})

    def for_step(self, step_key: str | None) -> str | None:
        # An asset's op, hence its step, is named after its key: bronze/sleep -> bronze__sleep.
        for key, pipeline in self.by_asset.items():
            if key.to_python_identifier() == step_key:
                return pipeline
        return None

    def only_pipeline(self, keys: Iterable[dg.AssetKey], steps: Iterable[str]) -> str | None:
        """The pipeline when exactly one ingestion asset is among ``keys`` or ``steps``."""
        found = {self.by_asset[key] for key in keys if key in self.by_asset}
        if not found:
            found = {p for p in (self.for_step(step) for step in steps) if p is not None}
        return found.pop() if len(found) == 1 else None


@dataclass(frozen=True)
class StepError:
    """One failed step: the ADR-0020 fields when the step attached them."""

    step_key: str | None
    message: str
    category: str | None = None
    code: str | None = None
    failed_records: int | None = None

    def summary(self) -> str:
        kind = " ".join(part for part in (self.category, self.code) if part)
        text = f"{kind}: {self.message}" if kind else self.message
        return f"{self.step_key}: {text}" if self.step_key else text


@dataclass(frozen=True)
class RunFacts:
    """One ``ops.pipeline_runs`` row, as the instance knows it."""

    run_id: str
    job_name: str
    status: RunStatus
    pipeline: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    errors: tuple[StepError, ...] = ()
    rows_loaded: int | None = None

    @property
    def first_error(self) -> StepError | None:
        """The error the columns describe: the first one with a category, else the first."""
        return next((e for e in self.errors if e.category), self.errors[0] if self.errors else None)

    @property
    def error_summary(self) -> str | None:
        if not self.errors:
            return None
        summary = "\n".join(error.summary() for error in self.errors)
        if len(summary) > MAX_SUMMARY_CHARS:
            summary = summary[: MAX_SUMMARY_CHARS - 1] + "…"
        return summary


def run_facts(
    instance: dg.DagsterInstance,
    run: dg.DagsterRun,
    status: dg.DagsterRunStatus,
    pipelines: PipelineIndex,
) -> RunFacts:
    """The facts of ``run`` once it reached ``status`` (STARTED, SUCCESS, FAILURE, CANCELED)."""
    recorded = _STATUS[status]
    record = instance.get_run_record_by_id(run.run_id)
    started_at = finished_at = None
    if record is not None:
        started_at = _utc(record.start_time) or record.create_timestamp.astimezone(UTC)
        if recorded in _FINISHED:
            finished_at = _utc(record.end_time)
    if recorded in _FINISHED and finished_at is None:
        finished_at = datetime.now(UTC)  # marked finished without an end time (never started)

    pipeline = run.tags.get(PIPELINE_TAG) or pipelines.only_pipeline(
        run.asset_selection or (), _planned_steps(instance, run)
    )
    errors: tuple[StepError, ...] = ()
    rows_loaded = None
    if recorded in _FINISHED:
        events = instance.all_logs(
            run.run_id,
            of_type={
                dg.DagsterEventType.STEP_FAILURE,
                dg.DagsterEventType.RUN_FAILURE,
                dg.DagsterEventType.RUN_CANCELING,
                dg.DagsterEventType.ASSET_MATERIALIZATION,
            },
        )
        rows_loaded = _rows_loaded(events)
        if recorded is RunStatus.FAILURE:
            errors = _errors(events)
        elif recorded is RunStatus.SUCCESS:
            errors = _rejects(events)
        if pipeline is None:
            failed = [pipelines.for_step(error.step_key) for error in errors]
            pipeline = next((name for name in failed if name), None)
    return RunFacts(
        run_id=run.run_id,
        job_name=run.job_name,
        status=recorded,
        pipeline=pipeline,
        started_at=started_at,
        finished_at=finished_at,
        errors=errors,
        rows_loaded=rows_loaded,
    )


def record_run(session: Session, facts: RunFacts) -> PipelineRun:
    """Upsert the facts into ``ops.pipeline_runs``; returns the row as stored."""
    error = facts.first_error
    upsert_run(
        session,
        run_id=facts.run_id,
        job_name=facts.job_name,
        status=facts.status,
        pipeline=facts.pipeline,
        started_at=facts.started_at,
        finished_at=facts.finished_at,
        error_summary=facts.error_summary,
        category=error.category if error else None,
        code=error.code if error else None,
        failed_records=error.failed_records if error else None,
        rows_loaded=facts.rows_loaded,
    )
    session.flush()
    row = session.get(PipelineRun, facts.run_id, populate_existing=True)
    assert row is not None  # just upserted, in this transaction
    return row


def _planned_steps(instance: dg.DagsterInstance, run: dg.DagsterRun) -> list[str]:
    if run.step_keys_to_execute:
        return list(run.step_keys_to_execute)
    if run.execution_plan_snapshot_id is None:
        return []
    plan = instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id)
    return list(plan.step_keys_to_execute or [step.key for step in plan.steps])


def _rows_loaded(events: Iterable[dg.EventLogEntry]) -> int | None:
    total, seen = 0, False
    for entry in events:
        event = entry.dagster_event
        if event is None or event.event_type != dg.DagsterEventType.ASSET_MATERIALIZATION:
            continue
        value = event.step_materialization_data.materialization.metadata.get("rows_loaded")
        if isinstance(value, dg.IntMetadataValue) and value.value is not None:
            total, seen = total + value.value, True
    return total if seen else None


def _rejects(events: Iterable[dg.EventLogEntry]) -> tuple[StepError, ...]:
    """The errors a successful run reported on its materializations: a PARTIAL load whose
    good rows were committed (rows rejected) carries the ADR-0020 fields there."""
    found = []
    for entry in events:
        event = entry.dagster_event
        if event is None or event.event_type != dg.DagsterEventType.ASSET_MATERIALIZATION:
            continue
        metadata = event.step_materialization_data.materialization.metadata
        category = _text(metadata.get("error/category"))
        if category is None:
            continue
        failed = metadata.get("error/failed_records")
        found.append(
            StepError(
                step_key=event.step_key,
                message=_text(metadata.get("error/message")) or "rows rejected",
                category=category,
                code=_text(metadata.get("error/code")),
                failed_records=failed.value if isinstance(failed, dg.IntMetadataValue) else None,
            )
        )
    return tuple(found)


def _errors(events: Iterable[dg.EventLogEntry]) -> tuple[StepError, ...]:
    step_errors, run_messages = [], []
    for entry in events:
        event = entry.dagster_event
        if event is None:
            continue
        if event.event_type == dg.DagsterEventType.STEP_FAILURE:
            step_errors.append(step_error(event))
        elif event.event_type == dg.DagsterEventType.RUN_FAILURE:
            run_messages.append(_run_failure_message(event))
        elif event.event_type == dg.DagsterEventType.RUN_CANCELING and event.message:
            # run monitoring stops a run over its max runtime before marking it failed:
            # the reason is said here, not in the failure
            run_messages.append(event.message)
    if step_errors:  # the run failure only repeats them ("Steps failed: [...]")
        return tuple(step_errors)
    # No step failed (a dead run worker, a run marked failed): the run's own messages.
    return (StepError(step_key=None, message=" ".join(run_messages)),) if run_messages else ()


def step_error(event: dg.DagsterEvent) -> StepError:
    """The error of a STEP_FAILURE (or STEP_UP_FOR_RETRY) event."""
    data = event.event_specific_data
    user = getattr(data, "user_failure_data", None)
    metadata = dict(user.metadata) if user is not None and user.metadata else {}
    error = getattr(data, "error", None)
    message = _text(metadata.get("error/message"))
    category = _text(metadata.get("error/category"))
    code = _text(metadata.get("error/code"))
    if category is None and error is not None:
        category, code, message = _from_error_chain(error, message)
    if message is None:
        message = (user.description if user is not None else None) or (
            _first_line(_user_error(error).message) if error is not None else "failed"
        )
    failed = metadata.get("error/failed_records")
    return StepError(
        step_key=event.step_key,
        message=message,
        category=category,
        code=code,
        failed_records=failed.value if isinstance(failed, dg.IntMetadataValue) else None,
    )


def _from_error_chain(
    error: object, message: str | None
) -> tuple[str | None, str | None, str | None]:
    current = error
    while current is not None:
        match = _TAXONOMY_PREFIX.match(getattr(current, "message", "") or "")
        if match:
            rest = _first_line(current.message[match.end() :])  # type: ignore[attr-defined]
            return match.group(1), match.group(2), message or rest
        current = getattr(current, "cause", None) or getattr(current, "context", None)
    return None, None, message


def _user_error(error: Any) -> Any:
    """The user's exception under Dagster's wrappers (DagsterExecutionStepExecutionError...)."""
    while (error.cls_name or "").startswith("Dagster") and error.cause is not None:
        error = error.cause
    return error


def _run_failure_message(event: dg.DagsterEvent) -> str:
    data = event.event_specific_data
    error = getattr(data, "error", None)
    reason = getattr(data, "failure_reason", None)
    text = event.message or (error.message.strip() if error is not None else "run failed")
    if reason is not None and str(reason.value) not in text:
        text = f"{text} ({reason.value})"
    return text


def _text(value: object) -> str | None:
    if isinstance(value, dg.TextMetadataValue):
        return value.value or None
    return None


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


def _utc(timestamp: float | None) -> datetime | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, UTC)
