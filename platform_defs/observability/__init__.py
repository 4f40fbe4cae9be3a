"""Observability: every run on record in ``ops.pipeline_runs``, JSON step logs, failed-run alerts.

* :mod:`~platform_defs.observability.runs`: a Dagster run's facts (pipeline, times, status,
  the ADR-0020 error of a failure, rows loaded) and their upsert into the ops store;
* :mod:`~platform_defs.observability.sensors`: the run-status sensors and the catch-up sensor;
* :mod:`~platform_defs.observability.alerts`: webhook and email alerts, once per run and channel;
* :mod:`~platform_defs.observability.logs`: the JSON step-log handler ``dagster.yaml`` installs.
"""

import warnings

import dagster as dg

from platform_defs.config import Project
from platform_defs.observability.alerts import Alert, Alerter, DeliveryError
from platform_defs.observability.logs import StepJsonHandler
from platform_defs.observability.runs import PipelineIndex, RunFacts, record_run, run_facts
from platform_defs.observability.sensors import build_catch_up_sensor, build_run_status_sensors

# dagster.yaml's python_logs handlers (the JSON step logs) are a "beta" Dagster feature that
# says so on every run process's stderr (Dagster 1.13); it is chosen on purpose (see logs.py).
warnings.filterwarnings(
    "ignore", message="Handling yaml-defined logging configuration", category=dg.BetaWarning
)


def observability_definitions(project: Project) -> dg.Definitions:
    """The run-tracking and alert sensors (they use the ``ops_store`` resource)."""
    pipelines = PipelineIndex.from_project(project)
    alerter = Alerter(project.manifest.alerts, project.manifest.secrets.resolver())
    return dg.Definitions(
        sensors=[
            *build_run_status_sensors(pipelines, alerter),
            build_catch_up_sensor(pipelines, alerter),
        ]
    )


__all__ = [
    "Alert",
    "Alerter",
    "DeliveryError",
    "PipelineIndex",
    "RunFacts",
    "StepJsonHandler",
    "observability_definitions",
    "record_run",
    "run_facts",
]
