"""``make run``'s usage demo: the sample usage days pushed through the SDK, ingested, read back.

:func:`push_sample_usage` starts the API (``floe api serve`` on a free 127.0.0.1 port, on
the manifest's ops store), makes an API key for the sample ports, pushes each port's days
from ``sample_data/usage/*.csv`` with ``data_portal_sdk.DataPortalClient`` (one call per
port; the SDK splits a push over the body limit into per-day requests), then lets the
platform ingest them: without a daemon (``make run`` starts none) the ``usage_pushes``
sensor is evaluated here and the runs it requests are executed in process. It returns the
popular-assets answer of each port, read back through the API, and stops the server.

The Idempotency-Key of a port's push is derived from its rows, so a second ``make run``
replays the pushes (the API answers the first push again) and nothing is ingested twice.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
import httpx
from sqlalchemy import func, select

from platform_defs.config import Project
from platform_defs.ops.resource import OpsStoreResource
from platform_defs.ops.usage import UsagePush, create_api_key
from platform_defs.usage.sensors import SENSOR_NAME

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "sample_data" / "usage"
PRODUCER = "floe-demo"
START_TIMEOUT_SECONDS = 60.0
MAX_TICKS = 100
"""Bounds the in-process sensor loop (each tick reads up to 500 pushes)."""
TOP_ASSETS = 3
log = logging.getLogger(__name__)

RunExecutor = Callable[[dg.RunRequest], dg.ExecuteInProcessResult]


def read_sample_usage(
    sample_dir: Path = SAMPLE_DIR,
) -> dict[uuid.UUID, tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    """Per output port: its query_stats and asset_stats rows, as the SDK takes them."""
    ports: dict[uuid.UUID, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = defaultdict(
        lambda: ([], [])
    )
    with (sample_dir / "output_port_query_stats_daily.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            ports[uuid.UUID(row["output_port_id"])][0].append(
                {
                    "date": row["date"],
                    "consumer_id": row["consumer_id"],
                    "query_count": int(row["query_count"]),
                }
            )
    with (sample_dir / "tech_asset_stats_daily.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            ports[uuid.UUID(row["output_port_id"])][1].append(
                {
                    "date": row["date"],
                    "tech_asset_id": row["tech_asset_id"],
                    "consumer_id": row["consumer_id"],
                    "query_count": int(row["query_count"]),
                }
            )
    return dict(sorted(ports.items()))


def _idempotency_key(port: uuid.UUID, rows: tuple[list[dict[str, Any]], ...]) -> str:
    digest = hashlib.sha256(repr(rows).encode()).hexdigest()[:32]
    return f"{PRODUCER}:{port}:{digest}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _floe_command() -> list[str]:
    script = Path(sys.executable).with_name("floe")
    if script.exists():
        return [str(script)]
    found = shutil.which("floe")
    return (
        [found]
        if found
        else [
            sys.executable,
            "-c",
            "import sys; from platform_defs.cli import main; sys.exit(main())",
        ]
    )


@contextmanager
def api_server(project: Project) -> Iterator[str]:
    """``floe api serve`` on a free loopback port and the manifest's ops store; yields its
    base URL and stops it (SIGTERM to its process group, SIGKILL after a grace period)."""
    port = _free_port()
    # The manifest's ops store, whatever FLOE_API_OPS_* this shell has: the platform
    # ingests from that store.
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOE_API_OPS_")}
    env["FLOE_API_PROJECT_DIR"] = str(project.root)
    command = [*_floe_command(), "api", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(
            command,
            cwd=project.root,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped with its workers
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(process, url, output)
            yield url
        finally:
            _stop(process)


def _wait_healthy(process: subprocess.Popen[bytes], url: str, output: Any) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while True:
        if process.poll() is not None:
            output.seek(0)
            text = output.read().decode(errors="replace")
            raise RuntimeError(f"floe api serve exited {process.returncode}:\n{text}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"floe api serve did not answer {url}/healthz in time")
        time.sleep(0.1)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)


def ingest_pushes(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    ops_store: OpsStoreResource,
    execute: RunExecutor,
    cursor: int,
    say: Callable[[str], None] = log.info,
) -> int:
    """Tick the ``usage_pushes`` sensor from ``cursor`` until it requests nothing, executing
    every run it requests; returns the number of runs."""
    sensor = defs.resolve_sensor_def(SENSOR_NAME)
    state: str | None = str(cursor)
    runs = 0
    for _ in range(MAX_TICKS):
        with dg.build_sensor_context(
            instance=instance, cursor=state, resources={"ops_store": ops_store}
        ) as context:
            result = sensor(context)
        assert isinstance(result, dg.SensorResult)
        requests = list(result.run_requests or [])
        if not requests:
            break
        say(
            f"sensor {SENSOR_NAME}: {len(requests)} day(s) to ingest (pushes up to {result.cursor})"
        )
        for request in requests:
            run = execute(request)
            runs += 1
            if not run.success:
                say(f"  {request.partition_key}: run {run.run_id} failed")
        state = result.cursor
    return runs


def push_sample_usage(
    defs: dg.Definitions,
    project: Project,
    instance: dg.DagsterInstance,
    ops_store: OpsStoreResource,
    execute: RunExecutor,
    *,
    say: Callable[[str], None] = log.info,
    after_ingest: Callable[[], None] | None = None,
    sample_dir: Path = SAMPLE_DIR,
) -> list[str]:
    """Push the sample usage days through the API, ingest them, and return each port's
    popular assets (the API's answer) as printable lines.

    ``execute`` runs a sensor's request (e.g. ``platform_defs.landing.demo.execute_request``
    plus run tracking); ``after_ingest`` runs while the API is still up, after the ingestion
    (e.g. the usage marts)."""
    from data_portal_sdk import DataPortalClient

    ports = read_sample_usage(sample_dir)
    with ops_store.session() as session:
        cursor = int(session.scalar(select(func.max(UsagePush.sequence))) or 0)
        token = create_api_key(session, PRODUCER, ports).token
    lines: list[str] = []
    with api_server(project) as url:
        say(f"usage API on {url}; pushing {len(ports)} output port(s) with the SDK")
        with DataPortalClient(api_key=token, base_url=url) as client:
            for port, (query_stats, asset_stats) in ports.items():
                result = client.push_usage_stats(
                    port,
                    query_stats,
                    asset_stats,
                    idempotency_key=_idempotency_key(port, (query_stats, asset_stats)),
                )
                say(
                    f"  port {port}: {len(result.dates)} day(s), {result.query_stats_rows} + "
                    f"{result.asset_stats_rows} rows in {len(result.push_ids)} request(s)"
                    + (" (replayed: pushed before)" if result.replayed else "")
                )
        runs = ingest_pushes(defs, instance, ops_store, execute, cursor, say)
        say(f"{runs} ingestion run(s)" if runs else "nothing new to ingest")
        if after_ingest is not None:
            after_ingest()
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as http:
            for port in ports:
                response = http.get(f"/api/v1/output-ports/{port}/usage/popular-assets")
                response.raise_for_status()
                lines += popular_assets_lines(response.json())
    return lines


def popular_assets_lines(answer: dict[str, Any], top: int = TOP_ASSETS) -> list[str]:
    """One port's popular-assets answer (GET .../usage/popular-assets) as printable lines."""
    lines = [
        f"  port {answer['output_port_id']}  {answer['start']}..{answer['end']}  "
        f"{answer['total_queries']} queries"
    ]
    for asset in answer["assets"][:top]:
        share = asset["share_of_port_queries"]
        lines.append(
            f"    #{asset['rank']} asset {asset['tech_asset_id']}  {asset['query_count']} touches  "
            f"{asset['consumers']} consumers  "
            + ("-" if share is None else f"{share:.0%} of the port's queries")
        )
    return lines
