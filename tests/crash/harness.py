"""Running the plugin in child processes (``child.py``) and describing what they run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any

from tests.catalogs import local_catalog_properties
from tests.crash.child import CRASH_ENV, DELAY_ENV, DELAY_SECONDS_ENV, REPO_ROOT

CHILD = Path(__file__).resolve().parent / "child.py"
FRESH_ENV = "FLOE_CRASH_FRESH_INTERPRETER"
"""Set to 1 to run every child in a fresh interpreter instead of forking from the server."""
INJECTION_ENV = (CRASH_ENV, DELAY_ENV, DELAY_SECONDS_ENV)
"""Only a spec sets these, for its own run."""
RUN_TIMEOUT = 240.0
CATALOG_NAME = "floe"


@dataclass
class Run:
    """One finished child process."""

    spec: dict[str, Any]
    returncode: int | None
    """-9: killed by SIGKILL; None: still running at the timeout (then killed)."""

    @property
    def result(self) -> dict[str, Any] | None:
        path = Path(self.spec["result_file"])
        return json.loads(path.read_text()) if path.exists() else None

    @property
    def log(self) -> str:
        path = Path(self.spec["log_file"])
        return path.read_text(errors="replace") if path.exists() else ""

    @property
    def killed(self) -> bool:
        return self.returncode == -9

    @property
    def succeeded(self) -> bool:
        result = self.result
        return self.returncode == 0 and result is not None and result["success"]

    def describe(self) -> str:
        result = self.result
        error = result and result.get("error")
        tail = "\n".join(self.log.splitlines()[-40:])
        return (
            f"returncode={self.returncode} crash_at={self.spec['env'].get(CRASH_ENV)} "
            f"error={error}\n--- log tail ---\n{tail}"
        )


class Runner:
    """Starts child runs: forked from a pre-imported server (default) or fresh interpreters."""

    def __init__(self, *, fresh: bool = False) -> None:
        self.fresh = fresh
        self._server: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()

    def _env(self, extra: Mapping[str, str] = {}) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in INJECTION_ENV}
        env.update({"RUNTIME__DLTHUB_TELEMETRY": "false", "PYTHONUNBUFFERED": "1"})
        env.update(extra)
        return env

    def _start_server(self) -> subprocess.Popen[str]:
        if self._server is None or self._server.poll() is not None:
            self._server = subprocess.Popen(
                [sys.executable, str(CHILD), "--serve"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                env=self._env(),
                cwd=REPO_ROOT,
            )
            assert self._server.stdout is not None
            ready = self._server.stdout.readline()
            assert ready.startswith('{"ready"'), f"child server did not start: {ready!r}"
        return self._server

    def run_many(self, specs: Sequence[dict[str, Any]], timeout: float = RUN_TIMEOUT) -> list[Run]:
        """Start all `specs` at once, wait for all of them."""
        if self.fresh:
            return self._run_fresh(specs, timeout)
        with self._lock:
            server = self._start_server()
            assert server.stdin is not None and server.stdout is not None
            server.stdin.write(json.dumps({"runs": list(specs), "timeout": timeout}) + "\n")
            server.stdin.flush()
            answer = server.stdout.readline()
        if not answer:
            raise RuntimeError(f"child server died (returncode {server.poll()})")
        codes = json.loads(answer)["returncodes"]
        return [Run(spec, code) for spec, code in zip(specs, codes, strict=True)]

    def run(self, spec: dict[str, Any], timeout: float = RUN_TIMEOUT) -> Run:
        return self.run_many([spec], timeout)[0]

    def _run_fresh(self, specs: Sequence[dict[str, Any]], timeout: float) -> list[Run]:
        processes = []
        for spec in specs:
            spec_file = Path(spec["result_file"]).with_suffix(".spec.json")
            spec_file.write_text(json.dumps(spec))
            log = open(spec["log_file"], "ab")  # noqa: SIM115 - closed below
            processes.append(
                (
                    subprocess.Popen(
                        [sys.executable, str(CHILD), str(spec_file)],
                        stdin=subprocess.DEVNULL,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        env=self._env(spec["env"]),
                        cwd=spec["project_dir"],
                    ),
                    log,
                )
            )
        runs = []
        for (process, log), spec in zip(processes, specs, strict=True):
            try:
                code: int | None = process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                code = None
            log.close()
            runs.append(Run(spec, code))
        return runs

    def close(self) -> None:
        if self._server is not None and self._server.poll() is None:
            assert self._server.stdin is not None
            self._server.stdin.close()
            try:
                self._server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._server.kill()
                self._server.wait()


@dataclass
class Entry:
    """An ingestion entry as the platform hands it to the plugin (JSON-able)."""

    name: str
    write_disposition: str
    rows: list[dict[str, Any]]
    table: str | None = None
    namespace: str = "bronze"
    primary_key: tuple[str, ...] = ()
    incremental: dict[str, Any] | None = None

    @property
    def destination_table(self) -> str:
        return f"{self.namespace}.{self.table or self.name}"

    def with_rows(self, rows: list[dict[str, Any]]) -> Entry:
        return Entry(
            self.name,
            self.write_disposition,
            rows,
            self.table,
            self.namespace,
            self.primary_key,
            self.incremental,
        )

    def ingestion_config(self) -> Any:
        from plugins.base import IngestionConfig

        config = self.as_config()
        config["primary_key"] = tuple(config["primary_key"])
        return IngestionConfig(**config)

    def as_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "source": "crash_sources:rows",
            "destination_table": self.destination_table,
            "write_disposition": self.write_disposition,
            "primary_key": list(self.primary_key),
            "incremental": self.incremental,
            "options": {"config": {"rows": self.rows}},
        }


@dataclass
class Site:
    """One test's platform: a catalog, a warehouse, the plugin's work dir, a project dir."""

    root: Path
    catalog_properties: dict[str, str]
    catalog_name: str = CATALOG_NAME
    plugin_config: dict[str, Any] = field(default_factory=dict)
    _numbers: Any = field(default_factory=count)

    @classmethod
    def local(cls, root: Path) -> Site:
        """A SQLite catalog with a local warehouse under `root`."""
        return cls(root, local_catalog_properties(root))

    def __post_init__(self) -> None:
        for path in (self.work_dir, self.project_dir, self.runs_dir):
            path.mkdir(parents=True, exist_ok=True)

    @property
    def work_dir(self) -> Path:
        return self.root / "work"

    @property
    def project_dir(self) -> Path:
        return self.root / "project"

    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    def spec(
        self, entry: Entry, *, crash_at: str | None = None, env: Mapping[str, str] = {}
    ) -> dict[str, Any]:
        number = next(self._numbers)
        stem = self.runs_dir / f"{number:03d}-{entry.name}-{crash_at or 'normal'}"
        return {
            "catalog_name": self.catalog_name,
            "catalog_properties": self.catalog_properties,
            "work_dir": str(self.work_dir),
            "project_dir": str(self.project_dir),
            "plugin_config": self.plugin_config,
            "entry": entry.as_config(),
            "env": {**({CRASH_ENV: crash_at} if crash_at else {}), **env},
            "result_file": f"{stem}.result.json",
            "log_file": f"{stem}.log",
        }

    def context(self) -> Any:
        from plugins.base import PluginContext

        return PluginContext(
            catalog_name=self.catalog_name,
            catalog_properties=self.catalog_properties,
            work_dir=self.work_dir,
            plugin_config=self.plugin_config,
            project_dir=self.project_dir,
        )

    def catalog(self) -> Any:
        """A brand-new catalog client (nothing cached from an earlier check)."""
        from pyiceberg.catalog import load_catalog

        return load_catalog(self.catalog_name, **self.catalog_properties)
