"""ops.pipeline_runs stays true: the run-status sensors evaluated on real runs (success,
failure, cancel, a run the instance marked failed), on SQLite and PostgreSQL."""

from __future__ import annotations

import dagster as dg
import pytest

from platform_defs.ops import AlertSent, PipelineRun, RunStatus
from platform_defs.ops.resource import OpsStoreResource

from .conftest import Sensors, SmtpReceiver, WebhookReceiver
from .jobs import defs, run_job

pytestmark = pytest.mark.integration


def stored(ops_store: OpsStoreResource, run_id: str) -> PipelineRun | None:
    with ops_store.session() as session:
        return session.get(PipelineRun, run_id)


def start_event(instance: dg.DagsterInstance, run_id: str) -> dg.DagsterEvent:
    (entry,) = instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_START)
    assert entry.dagster_event is not None
    return entry.dagster_event


def test_a_run_is_running_once_started_then_success_with_its_rows(
    sensors: Sensors, instance: dg.DagsterInstance, ops_store: OpsStoreResource
) -> None:
    result = run_job(instance, "ingest_orders")
    assert result.success
    run = result.dagster_run

    sensors.on(run, start_event(instance, run.run_id))
    row = stored(ops_store, run.run_id)
    assert row is not None
    assert (row.status, row.job_name, row.pipeline) == (
        RunStatus.RUNNING,
        "ingest_orders",
        "orders",
    )
    assert row.finished_at is None

    sensors.on(run, result.get_run_success_event())
    row = stored(ops_store, run.run_id)
    assert row is not None
    assert row.status == RunStatus.SUCCESS
    assert row.rows_loaded == 5
    assert row.finished_at is not None and row.started_at <= row.finished_at
    assert (row.error_summary, row.category, row.code) == (None, None, None)


def test_a_failed_ingestion_run_carries_the_error_taxonomy(
    sensors: Sensors, instance: dg.DagsterInstance, ops_store: OpsStoreResource
) -> None:
    result = run_job(instance, "ingest_orders", "partial")
    assert not result.success

    sensors.on_all(result.run_id)

    row = stored(ops_store, result.run_id)
    assert row is not None
    assert row.status == RunStatus.FAILURE
    assert (row.pipeline, row.category, row.code, row.failed_records) == (
        "orders",
        "PARTIAL",
        "ROWS_REJECTED",
        7,
    )
    assert row.error_summary == (
        "bronze__orders: PARTIAL ROWS_REJECTED: 7 rows of orders.csv failed validation"
    )
    assert row.finished_at is not None


def test_a_run_of_several_pipelines_names_the_one_that_failed(
    sensors: Sensors, instance: dg.DagsterInstance, ops_store: OpsStoreResource
) -> None:
    ok = run_job(instance, "floe_main")
    failed = run_job(instance, "floe_main", "partial")
    sensors.on_all(ok.run_id)
    sensors.on_all(failed.run_id)

    ok_row, failed_row = stored(ops_store, ok.run_id), stored(ops_store, failed.run_id)
    assert ok_row is not None and failed_row is not None
    assert (ok_row.pipeline, ok_row.rows_loaded) == (None, 8)  # two pipelines: 5 + 3 rows
    assert (failed_row.pipeline, failed_row.code, failed_row.rows_loaded) == (
        "orders",
        "ROWS_REJECTED",
        3,
    )


def test_a_failure_without_the_taxonomy_keeps_its_message(
    sensors: Sensors, instance: dg.DagsterInstance, ops_store: OpsStoreResource
) -> None:
    result = run_job(instance, "floe_maintenance", "broken")
    sensors.on_all(result.run_id)

    row = stored(ops_store, result.run_id)
    assert row is not None
    assert (row.status, row.pipeline, row.category, row.code) == (
        RunStatus.FAILURE,
        None,
        None,
        None,
    )
    assert row.error_summary is not None
    assert row.error_summary.startswith("maintain_orders: ")
    assert "catalog unreachable: connection refused" in row.error_summary


def test_a_cancelled_run_is_recorded_as_canceled_and_not_alerted(
    sensors: Sensors,
    instance: dg.DagsterInstance,
    ops_store: OpsStoreResource,
    webhook: WebhookReceiver,
    smtp: SmtpReceiver,
) -> None:
    run = started_run(instance)
    sensors.on_all(run.run_id)
    instance.report_run_canceling(run, message="stopped from the UI")
    instance.report_run_canceled(run, message="stopped from the UI")
    sensors.on_all(run.run_id)

    row = stored(ops_store, run.run_id)
    assert row is not None
    assert row.status == RunStatus.CANCELED
    assert row.finished_at is not None
    assert (webhook.posts, smtp.messages) == ([], [])
    with ops_store.session() as session:
        assert session.get(AlertSent, (run.run_id, "slack")) is None


def started_run(instance: dg.DagsterInstance, job_name: str = "ingest_orders") -> dg.DagsterRun:
    """A run whose worker started it (RUN_START is in the event log) and then went quiet."""
    job = defs.resolve_job_def(job_name)
    run = instance.create_run_for_job(job_def=job, tags={"floe/pipeline": "orders"})
    instance.report_dagster_event(
        dg.DagsterEvent(dg.DagsterEventType.RUN_START.value, job_name=job_name), run.run_id
    )
    reloaded = instance.get_run_by_id(run.run_id)
    assert reloaded is not None and reloaded.status == dg.DagsterRunStatus.STARTED
    return reloaded


def test_a_run_the_instance_marks_failed_is_recorded_as_a_failure(
    sensors: Sensors,
    instance: dg.DagsterInstance,
    ops_store: OpsStoreResource,
    webhook: WebhookReceiver,
) -> None:
    """What run monitoring does to a run whose worker died: ``report_run_failed``."""
    run = started_run(instance)
    sensors.on_all(run.run_id)
    row = stored(ops_store, run.run_id)
    assert row is not None and row.status == RunStatus.RUNNING

    instance.report_run_failed(run, message="Run worker process exited unexpectedly")
    sensors.on_all(run.run_id)

    row = stored(ops_store, run.run_id)
    assert row is not None
    assert (row.status, row.pipeline) == (RunStatus.FAILURE, "orders")
    assert row.error_summary is not None
    assert "Run worker process exited unexpectedly" in row.error_summary
    assert len(webhook.posts) == 1  # and it alerts like any failure


def test_the_catch_up_sensor_closes_a_run_whose_end_the_sensors_missed(
    sensors: Sensors,
    instance: dg.DagsterInstance,
    ops_store: OpsStoreResource,
    webhook: WebhookReceiver,
    smtp: SmtpReceiver,
) -> None:
    """The failure sensor never saw the event (the ops store was down at that tick)."""
    run = started_run(instance)
    sensors.on_all(run.run_id)
    instance.report_run_failed(run, message="Exceeded maximum runtime of 21600 seconds.")

    message = sensors.catch_up()

    row = stored(ops_store, run.run_id)
    assert row is not None and row.status == RunStatus.FAILURE
    assert row.error_summary is not None and "maximum runtime" in row.error_summary
    assert message is not None and message.startswith("1 finished run(s) recorded")
    assert (len(webhook.posts), len(smtp.messages)) == (1, 1)
    assert sensors.catch_up() is not None
    assert (len(webhook.posts), len(smtp.messages)) == (1, 1)


def test_a_late_start_event_never_reopens_a_finished_run(
    sensors: Sensors, instance: dg.DagsterInstance, ops_store: OpsStoreResource
) -> None:
    result = run_job(instance, "ingest_orders")
    sensors.on(result.dagster_run, result.get_run_success_event())
    sensors.on(result.dagster_run, start_event(instance, result.run_id))

    row = stored(ops_store, result.run_id)
    assert row is not None and row.status == RunStatus.SUCCESS
