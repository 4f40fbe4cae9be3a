"""A run whose process died ends as a failure on record: the shipped dagster.yaml turns run
monitoring on, and the daemon's own check marks a run whose worker was SIGKILLed failed."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import dagster as dg
import pytest

from platform_defs.observability.logs import StepJsonHandler
from platform_defs.ops import PipelineRun, RunStatus
from platform_defs.ops.resource import OpsStoreResource

from .conftest import Sensors, SmtpReceiver, WebhookReceiver

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:Handling yaml-defined logging configuration"),
]

HANGING_RUN = """\
import sys, time
import dagster as dg

@dg.op
def hang():
    open(sys.argv[1], "w").write("started")
    time.sleep(120)

@dg.job
def ingest_orders():
    hang()

with dg.DagsterInstance.get() as instance:
    ingest_orders.execute_in_process(
        instance=instance, tags={"floe/pipeline": "orders", "dagster/max_runtime": "1"}
    )
"""


def test_the_shipped_instance_monitors_runs_and_logs_steps_as_json(
    shipped_instance: dg.DagsterInstance,
) -> None:
    assert shipped_instance.run_monitoring_enabled
    assert shipped_instance.run_monitoring_start_timeout_seconds == 180
    assert shipped_instance.run_monitoring_cancel_timeout_seconds == 180
    assert shipped_instance.run_monitoring_max_runtime_seconds == 6 * 3600
    handlers = shipped_instance.get_handlers()
    assert [type(h) for h in handlers if isinstance(h, StepJsonHandler)] == [StepJsonHandler]
    # the blocks others rely on are still there
    assert shipped_instance.nux_enabled is False
    assert shipped_instance.get_concurrency_config().pool_config.default_pool_limit == 1


def test_a_killed_run_worker_is_marked_failed_and_recorded(
    tmp_path: Path,
    shipped_instance: dg.DagsterInstance,
    ops_store: OpsStoreResource,
    alerter: object,
    webhook: WebhookReceiver,
    smtp: SmtpReceiver,
) -> None:
    from dagster._daemon.monitoring.run_monitoring import monitor_started_run  # the daemon's

    script, marker = tmp_path / "hanging_run.py", tmp_path / "started"
    script.write_text(textwrap.dedent(HANGING_RUN))
    env = {**os.environ, "DAGSTER_HOME": str(shipped_instance.root_directory)}
    worker = subprocess.Popen(
        [sys.executable, str(script), str(marker)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert worker.poll() is None, "the run worker exited before its step started"
            assert time.monotonic() < deadline, "the run never started"
            time.sleep(0.05)
        os.kill(worker.pid, signal.SIGKILL)
    finally:
        worker.wait(timeout=30)

    (record,) = shipped_instance.get_run_records()
    assert record.dagster_run.status == dg.DagsterRunStatus.STARTED  # forever, on its own
    sensors = Sensors(shipped_instance, ops_store, alerter)  # type: ignore[arg-type]
    sensors.on_all(record.dagster_run.run_id)

    time.sleep(1.2)  # past the run's dagster/max_runtime of 1 s
    monitor_started_run(shipped_instance, None, record, logging.getLogger("run_monitoring"))  # type: ignore[arg-type]

    run = shipped_instance.get_run_by_id(record.dagster_run.run_id)
    assert run is not None and run.status == dg.DagsterRunStatus.FAILURE
    sensors.on_all(run.run_id)
    with ops_store.session() as session:
        row = session.get(PipelineRun, run.run_id)
    assert row is not None
    assert (row.status, row.pipeline, row.job_name) == (
        RunStatus.FAILURE,
        "orders",
        "ingest_orders",
    )
    assert row.finished_at is not None
    assert row.error_summary is not None and "maximum runtime of 1 seconds" in row.error_summary
    assert (len(webhook.posts), len(smtp.messages)) == (1, 1)
