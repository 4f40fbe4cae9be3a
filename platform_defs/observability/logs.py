"""Structured step logs: one JSON line on stdout per step start, success and failure.

::

    {"ts": "2026-05-01T05:00:02.114+00:00", "run_id": "…", "job": "ingest_wearable_sleep",
     "step": "bronze__sleep", "status": "failure", "duration_ms": 1840,
     "category": "PERMANENT", "code": "AUTH_FAILED", "message": "bad token"}

``status`` is ``started``, ``success`` or ``failure``, and ``retry`` for a failed attempt that
Dagster will run again (a retryable ingestion error): a log search for failures then finds only
the steps that really failed. ``duration_ms`` is on every line but ``started`` (null for a
failure whose start another process logged); ``category`` and ``code`` on every ``failure``
and ``retry`` line (null when the step gave none: an unexpected exception, a dbt error).

:class:`StepJsonHandler` is a :class:`logging.Handler` for Dagster's instance-level handlers
(``python_logs.dagster_handler_config`` in ``dagster.yaml``): Dagster hands it every record of
every run on the instance, each carrying the run's metadata and, for events, the
:class:`dagster.DagsterEvent`. That makes the lines the default for every run (a schedule's,
a sensor's, the UI's, ``make run``'s) whatever loggers its run config names: Dagster uses a
job's ``@logger`` definitions only when the run config lists them, and ``make run`` lists only
the console logger, which keeps writing its human lines to stderr.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from datetime import UTC, datetime
from typing import Any, TextIO

import dagster as dg

from platform_defs.observability.runs import step_error

_STATUS = {
    dg.DagsterEventType.STEP_START: "started",
    dg.DagsterEventType.STEP_RESTARTED: "started",
    dg.DagsterEventType.STEP_SUCCESS: "success",
    dg.DagsterEventType.STEP_FAILURE: "failure",
    dg.DagsterEventType.STEP_UP_FOR_RETRY: "retry",
}
_MESSAGE_CHARS = 500
_MAX_OPEN_STEPS = 10_000  # started steps whose end this process has not seen (a dead run)


class StepJsonHandler(logging.Handler):
    """Writes a JSON line per step event of a Dagster run to ``stream`` (default: stdout)."""

    def __init__(self, level: int | str = logging.NOTSET, stream: TextIO | None = None) -> None:
        super().__init__(level)
        self._stream = stream

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.line(record)
            if line is None:
                return
            stream = self._stream or sys.stdout  # looked up now: pytest and daemons swap it
            stream.write(json.dumps(line, separators=(",", ":")) + "\n")
            stream.flush()
        except Exception:
            self.handleError(record)

    def line(self, record: logging.LogRecord) -> dict[str, Any] | None:
        """The JSON object for ``record``, or None when it is not a step event."""
        meta = getattr(record, "dagster_meta", None)
        if not isinstance(meta, dict):
            return None
        event, run_id = meta.get("dagster_event"), meta.get("run_id")
        if not isinstance(event, dg.DagsterEvent) or not run_id:
            return None
        status = _STATUS.get(event.event_type)
        if status is None or event.step_key is None:
            return None
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "run_id": run_id,
            "job": event.job_name,
            "step": event.step_key,
            "status": status,
        }
        key = (run_id, event.step_key)
        if status == "started":
            _remember_start(key, record.created)
            return line
        started = _forget_start(key)
        duration_ms = getattr(event.event_specific_data, "duration_ms", None)  # successes only
        if duration_ms is not None:
            line["duration_ms"] = round(duration_ms)
        else:
            line["duration_ms"] = (
                round((record.created - started) * 1000) if started is not None else None
            )
            error = step_error(event)
            line["category"] = error.category
            line["code"] = error.code
            line["message"] = error.message[:_MESSAGE_CHARS]
            if error.failed_records is not None:
                line["failed_records"] = error.failed_records
        return line


# Start times by (run, step), for the duration of a failure (Dagster reports it for a success
# only). Module-level: Dagster builds the handler anew for each run and step process, and a
# step's start and end are logged in the same process.
_open_steps: dict[tuple[str, str], float] = {}
_open_lock = threading.Lock()


def _remember_start(key: tuple[str, str], created: float) -> None:
    with _open_lock:
        if len(_open_steps) >= _MAX_OPEN_STEPS:
            _open_steps.clear()
        _open_steps[key] = created


def _forget_start(key: tuple[str, str]) -> float | None:
    with _open_lock:
        return _open_steps.pop(key, None)
