"""A real ``floe api serve`` in a subprocess on a free 127.0.0.1 port, for tests.

::

    with ApiServer(ops_url, ops_schema) as server:
        httpx.get(f"{server.url}/healthz")

It starts in its own process group, waits for ``/healthz`` (and fails with the server's
output if it dies first), and at exit stops it with SIGTERM (SIGKILL after a grace period).
:meth:`ApiServer.kill` SIGKILLs it on purpose; :meth:`ApiServer.start` starts it again on
the same port. Extra ``FLOE_API_*`` settings go in ``env``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

import httpx

from tests.conftest import REPO_ROOT

START_TIMEOUT_SECONDS = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ApiServer:
    def __init__(
        self,
        ops_url: str,
        ops_schema: str = "ops",
        *,
        port: int | None = None,
        workers: int = 1,
        env: dict[str, str] | None = None,
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.env = {
            **os.environ,
            "FLOE_API_OPS_URL": ops_url,
            "FLOE_API_OPS_SCHEMA": ops_schema,
            **(env or {}),
        }
        self.process: subprocess.Popen[bytes] | None = None
        self._log = tempfile.NamedTemporaryFile(prefix="floe-api-", suffix=".log", delete=False)
        self.log_path = Path(self._log.name)

    def start(self) -> ApiServer:
        command = [str(Path(sys.executable).with_name("floe")), "api", "serve"]
        command += ["--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers)]
        self.process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the workers stop with it
        )
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"floe api serve exited {self.process.returncode}:\n{self.log()}"
                )
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"floe api serve did not answer /healthz:\n{self.log()}")
            time.sleep(0.1)

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the server and its workers at once (a crash, not a shutdown)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()

    def __enter__(self) -> ApiServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
        self._log.close()
        self.log_path.unlink(missing_ok=True)
