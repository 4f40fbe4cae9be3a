"""JSON step lines on stdout, from the handler the shipped dagster.yaml installs on the instance;
the console logger's human lines stay on stderr (``make run``'s run config)."""

from __future__ import annotations

import json
from typing import Any

import dagster as dg
import pytest

from .jobs import run_job

pytestmark = [
    pytest.mark.integration,
    # Dagster calls yaml-defined handlers beta on each run; production silences it at import
    # (platform_defs/observability/__init__.py), pytest resets warning filters per test.
    pytest.mark.filterwarnings("ignore:Handling yaml-defined logging configuration"),
]

# What platform_defs/main.py (make run) passes.
MAKE_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


def json_lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_each_step_logs_started_and_success_with_its_duration(
    shipped_instance: dg.DagsterInstance, capfd: pytest.CaptureFixture[str]
) -> None:
    result = run_job(shipped_instance, "ingest_orders", run_config=MAKE_RUN_CONFIG)
    assert result.success
    out, err = capfd.readouterr()

    started, success = json_lines(out)
    assert started == {
        "ts": started["ts"],
        "run_id": result.run_id,
        "job": "ingest_orders",
        "step": "bronze__orders",
        "status": "started",
    }
    assert success["status"] == "success" and success["step"] == "bronze__orders"
    assert success["run_id"] == result.run_id
    assert isinstance(success["duration_ms"], int) and success["duration_ms"] >= 0
    assert started["ts"].endswith("+00:00") and started["ts"] <= success["ts"]
    # The console logger, as make run configures it: its lines on stderr, none on stdout.
    assert "orders: loading (ok)" in err
    assert "orders: loading" not in out


def test_a_failed_step_logs_its_category_and_code(
    shipped_instance: dg.DagsterInstance, capfd: pytest.CaptureFixture[str]
) -> None:
    result = run_job(shipped_instance, "ingest_orders", "partial")
    assert not result.success

    started, failure = json_lines(capfd.readouterr().out)

    assert started["status"] == "started"
    assert {key: failure[key] for key in ("run_id", "step", "status", "category", "code")} == {
        "run_id": result.run_id,
        "step": "bronze__orders",
        "status": "failure",
        "category": "PARTIAL",
        "code": "ROWS_REJECTED",
    }
    assert isinstance(failure["duration_ms"], int) and failure["duration_ms"] >= 0
    assert failure["failed_records"] == 7
    assert failure["message"] == "7 rows of orders.csv failed validation"


def test_a_retried_step_logs_retry_then_starts_again(
    shipped_instance: dg.DagsterInstance, capfd: pytest.CaptureFixture[str]
) -> None:
    result = run_job(shipped_instance, "ingest_orders", "flaky")
    assert result.success

    lines = json_lines(capfd.readouterr().out)

    assert [line["status"] for line in lines] == ["started", "retry", "started", "success"]
    retry = lines[1]
    assert (retry["category"], retry["code"], retry["message"]) == (
        "TRANSIENT",
        "RATE_LIMITED",
        "slow down",
    )
    assert not any(line["status"] == "failure" for line in lines)


def test_an_unexpected_error_still_logs_a_failure_line(
    shipped_instance: dg.DagsterInstance, capfd: pytest.CaptureFixture[str]
) -> None:
    run_job(shipped_instance, "floe_maintenance", "broken")

    _, failure = json_lines(capfd.readouterr().out)

    assert (failure["step"], failure["status"], failure["category"], failure["code"]) == (
        "maintain_orders",
        "failure",
        None,
        None,
    )
    assert "catalog unreachable" in failure["message"]


def test_an_instance_without_the_handler_writes_no_json(
    instance: dg.DagsterInstance, capfd: pytest.CaptureFixture[str]
) -> None:
    run_job(instance, "ingest_orders")
    assert json_lines(capfd.readouterr().out) == []
