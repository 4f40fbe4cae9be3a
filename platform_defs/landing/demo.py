"""``make run``'s landing-zone demo: drop a file, let the sensor find it once, show the manifest.

Without a Dagster daemon (``make run`` starts none) the sensor is evaluated here, tick by
tick, and the run it requests is executed in process — the same sensor, asset and run config
the daemon would use. The dropped file is the same every time (three days of a demo user), so
a second ``make run`` finds it already in the manifest and requests nothing.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import dagster as dg

from platform_defs.config import IngestionPipeline, Project
from platform_defs.landing.runner import LandingFolder
from platform_defs.landing.sensors import sensor_name
from platform_defs.ops.resource import OpsStoreResource

DEMO_PIPELINE = "wearable_daily_activity"
DEMO_FILE = "daily_activity_landing_demo.csv"
DEMO_USER = "1000000001"
TICKS = 3
"""First tick: the file is new (settling); second: stable, hashed, requested; third: nothing."""
log = logging.getLogger(__name__)

RunExecutor = Callable[[dg.RunRequest], dg.ExecuteInProcessResult]


def demo_entry(project: Project) -> IngestionPipeline | None:
    for entry in project.floe.ingestion:
        if entry.name == DEMO_PIPELINE and entry.landing_zone:
            return entry
    return None


def drop_demo_file(landing: LandingFolder) -> Path:
    """Write the demo file (three days of a demo user, in the sample file's format) unless it
    is there already; returns its path."""
    path = landing.folder / DEMO_FILE
    if path.exists():
        return path
    sample = next(iter(sorted(landing.folder.glob("daily_activity*.csv"))), None)
    if sample is None:
        raise FileNotFoundError(f"no daily_activity*.csv in {landing.folder} to model the demo on")
    with sample.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header = list(reader.fieldnames or [])
        days = []
        for row in reader:
            if row["ActivityDate"] not in days:
                days.append(row["ActivityDate"])
            if len(days) == 3:
                break
    rows = []
    for number, day in enumerate(days):
        row = dict.fromkeys(header, "0")
        row.update({"Id": DEMO_USER, "ActivityDate": day, "TotalSteps": str(7000 + number * 500)})
        rows.append(row)
    partial = path.with_suffix(".partial")  # not matched by the glob while it is written
    with partial.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    partial.rename(path)
    return path


def run_landing_demo(
    defs: dg.Definitions,
    project: Project,
    instance: dg.DagsterInstance,
    ops_store: OpsStoreResource,
    execute: RunExecutor,
    say: Callable[[str], None] = log.info,
) -> int:
    """Drop the demo file and tick the sensor :data:`TICKS` times, executing what it requests;
    returns the number of runs it requested."""
    entry = demo_entry(project)
    if entry is None:
        say(f"landing demo skipped: no landing_zone pipeline named {DEMO_PIPELINE}")
        return 0
    landing = LandingFolder.of(project, entry)
    path = drop_demo_file(landing)
    dropped = path.relative_to(Path(project.manifest.landing_zone.root))
    say(f"dropped {dropped} into the landing zone")
    sensor = defs.resolve_sensor_def(sensor_name(entry))
    requested = 0
    for tick in range(1, TICKS + 1):
        with dg.build_sensor_context(
            instance=instance, resources={"ops_store": ops_store}
        ) as context:
            result = sensor(context)
        if not isinstance(result, dg.SensorResult):  # the landing sensors return one
            raise TypeError(f"sensor {sensor.name} returned {type(result).__name__}")
        requests = list(result.run_requests or [])
        if not requests:
            reason = result.skip_reason.skip_message if result.skip_reason else "nothing to do"
            say(f"sensor {sensor.name}, tick {tick}: no run ({reason})")
            continue
        for request in requests:
            files = request.run_config["ops"][next(iter(request.run_config["ops"]))]["config"]
            names = ", ".join(f["source_filename"] for f in files["files"])
            say(f"sensor {sensor.name}, tick {tick}: run requested for {names}")
            run = execute(request)
            say(f"  run {run.run_id}: {'success' if run.success else 'failure'}")
            requested += 1
    return requested


def execute_request(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    request: dg.RunRequest,
    run_config: Mapping[str, Any] | None = None,
) -> dg.ExecuteInProcessResult:
    """Execute a sensor's run request in process, as the daemon would launch it: its assets,
    its checks, its run config, tags and partition (``run_config`` adds e.g. logger settings)."""
    job = defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection=set(request.asset_selection or []),
        asset_check_selection=(
            None if request.asset_check_keys is None else set(request.asset_check_keys)
        ),
    )
    return job.execute_in_process(
        instance=instance,
        run_config={**(run_config or {}), **request.run_config},
        tags=request.tags,
        partition_key=request.partition_key,  # the usage sensor's requests are daily partitions
        raise_on_error=False,
    )
