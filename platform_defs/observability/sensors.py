"""Sensors keeping ``ops.pipeline_runs`` true and failed runs alerted.

One run-status sensor per status Dagster reports (started, success, failure, canceled) upserts
the run's row; a failure (or a success that rejected rows) is then alerted on every channel
(once: see :mod:`platform_defs.observability.alerts`). They monitor every run of the instance
(``monitor_all_code_locations``): floe is the instance's one code location, and a run executed
in process (``make run``) belongs to no code location, so a location-scoped sensor would never
see it. A run whose process died is marked failed by Dagster's run monitoring (``dagster.yaml``),
which is a failure event like any other.

A run-status sensor consumes each event once: if evaluating it raised (the ops store down),
Dagster moves on. So ``floe_runs_catch_up`` runs every minute: it closes the rows still
``running`` whose run has finished, claims the alerts of the last hour's failures that no one
claimed (the failure sensor died between recording the run and claiming), and retries the
alerts not delivered yet.

No ``from __future__ import annotations``: Dagster reads the sensors' resource annotations.
"""

import logging
from datetime import UTC, datetime, timedelta

import dagster as dg
from sqlalchemy import and_, or_, select

from platform_defs.observability.alerts import Alerter, Delivery
from platform_defs.observability.runs import PipelineIndex, record_run, run_facts
from platform_defs.ops import PipelineRun, RunStatus
from platform_defs.ops.resource import OpsStoreResource

RUN_STARTED_SENSOR = "floe_run_started"
RUN_SUCCESS_SENSOR = "floe_run_succeeded"
RUN_FAILURE_SENSOR = "floe_run_failed"
RUN_CANCELED_SENSOR = "floe_run_canceled"
CATCH_UP_SENSOR = "floe_runs_catch_up"
CATCH_UP_INTERVAL_SECONDS = 60
CATCH_UP_BATCH = 100
"""Rows still ``running`` (and recent failures) looked at per catch-up tick."""
UNCLAIMED_FAILURES_WINDOW = timedelta(hours=1)
"""How far back the catch-up sensor looks for failures whose alert nobody claimed. Bounded, so
that a channel added to the manifest is not sent every failure on record."""

_FINISHED = (
    dg.DagsterRunStatus.SUCCESS,
    dg.DagsterRunStatus.FAILURE,
    dg.DagsterRunStatus.CANCELED,
)


def track_run(
    instance: dg.DagsterInstance,
    run: dg.DagsterRun,
    status: dg.DagsterRunStatus,
    ops_store: OpsStoreResource,
    pipelines: PipelineIndex,
    alerter: Alerter,
    log: logging.Logger,
) -> list[Delivery]:
    """Record ``run`` as having reached ``status``; alert it when it failed."""
    facts = run_facts(instance, run, status, pipelines)
    with ops_store.session() as session:
        row = record_run(session, facts)
    log.info(f"run {run.run_id} ({run.job_name}) recorded as {row.status.value}")
    return alerter.alert_run(ops_store.session, row, log)


def _run_status_sensor(
    name: str,
    status: dg.DagsterRunStatus,
    description: str,
    pipelines: PipelineIndex,
    alerter: Alerter,
) -> dg.RunStatusSensorDefinition:
    @dg.run_status_sensor(
        name=name,
        run_status=status,
        monitor_all_code_locations=True,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=description,
    )
    def _sensor(context: dg.RunStatusSensorContext, ops_store: OpsStoreResource) -> None:
        run, log = context.dagster_run, context.log
        track_run(context.instance, run, status, ops_store, pipelines, alerter, log)

    return _sensor


def build_run_status_sensors(
    pipelines: PipelineIndex, alerter: Alerter
) -> list[dg.RunStatusSensorDefinition]:
    return [
        _run_status_sensor(
            RUN_STARTED_SENSOR,
            dg.DagsterRunStatus.STARTED,
            "Records each run that starts in ops.pipeline_runs (status running).",
            pipelines,
            alerter,
        ),
        _run_status_sensor(
            RUN_SUCCESS_SENSOR,
            dg.DagsterRunStatus.SUCCESS,
            "Records each run that succeeds in ops.pipeline_runs, with the rows it loaded "
            "(and those it rejected, which are alerted).",
            pipelines,
            alerter,
        ),
        _run_status_sensor(
            RUN_FAILURE_SENSOR,
            dg.DagsterRunStatus.FAILURE,
            "Records each failed run in ops.pipeline_runs with its error, and alerts it once "
            "on every channel of the manifest's alerts block.",
            pipelines,
            alerter,
        ),
        _run_status_sensor(
            RUN_CANCELED_SENSOR,
            dg.DagsterRunStatus.CANCELED,
            "Records each cancelled run in ops.pipeline_runs (no alert).",
            pipelines,
            alerter,
        ),
    ]


def close_finished_runs(
    instance: dg.DagsterInstance,
    ops_store: OpsStoreResource,
    pipelines: PipelineIndex,
    alerter: Alerter,
    log: logging.Logger,
) -> int:
    """Record the end of runs still ``running`` in the store that have finished; how many."""
    with ops_store.session() as session:
        running = list(
            session.scalars(
                select(PipelineRun.run_id)
                .where(PipelineRun.status == RunStatus.RUNNING)
                .order_by(PipelineRun.started_at)
                .limit(CATCH_UP_BATCH)
            )
        )
    if not running:
        return 0
    closed = 0
    for record in instance.get_run_records(filters=dg.RunsFilter(run_ids=running)):
        run = record.dagster_run
        if run.status in _FINISHED:
            track_run(instance, run, run.status, ops_store, pipelines, alerter, log)
            closed += 1
    return closed


def alert_unclaimed_failures(
    ops_store: OpsStoreResource, alerter: Alerter, log: logging.Logger
) -> list[Delivery]:
    """Send the alerts of recent runs that call for one (failures, rejected rows) on the
    channels no one has claimed them on."""
    if not alerter.senders:
        return []
    since = datetime.now(UTC) - UNCLAIMED_FAILURES_WINDOW
    alerting = or_(
        PipelineRun.status == RunStatus.FAILURE,
        and_(PipelineRun.status == RunStatus.SUCCESS, PipelineRun.failed_records > 0),
    )
    with ops_store.session() as session:
        runs = list(
            session.scalars(
                select(PipelineRun)
                .where(alerting, PipelineRun.finished_at >= since)
                .order_by(PipelineRun.finished_at)
                .limit(CATCH_UP_BATCH)
            )
        )
    deliveries = []
    for run in runs:  # a claimed channel is skipped: nothing goes out twice
        deliveries += alerter.alert_run(ops_store.session, run, log)
    return deliveries


def build_catch_up_sensor(pipelines: PipelineIndex, alerter: Alerter) -> dg.SensorDefinition:
    @dg.sensor(
        name=CATCH_UP_SENSOR,
        minimum_interval_seconds=CATCH_UP_INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            "Every minute: records the end of runs the run-status sensors missed and retries "
            "the alerts not delivered yet."
        ),
    )
    def _catch_up(
        context: dg.SensorEvaluationContext, ops_store: OpsStoreResource
    ) -> dg.SkipReason:
        log = context.log
        closed = close_finished_runs(context.instance, ops_store, pipelines, alerter, log)
        missed = alert_unclaimed_failures(ops_store, alerter, log)
        retried = alerter.retry_unsent(ops_store.session, log)
        sent = sum(delivery.sent for delivery in [*missed, *retried])
        return dg.SkipReason(
            f"{closed} finished run(s) recorded; {sent} of {len(missed) + len(retried)} alert "
            "deliveries succeeded"
        )

    return _catch_up
