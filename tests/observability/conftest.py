"""Real receivers on 127.0.0.1 (an HTTP webhook, an SMTP server), an ops store on each backend,
and a small ingestion-shaped job whose runs the sensors are evaluated on."""

from __future__ import annotations

import json
import shutil
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import stamina
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from platform_defs.config.alerts import AlertsConfig
from platform_defs.config.secrets import SecretResolver
from platform_defs.observability.alerts import Alerter
from platform_defs.observability.sensors import (
    RUN_CANCELED_SENSOR,
    RUN_FAILURE_SENSOR,
    RUN_STARTED_SENSOR,
    RUN_SUCCESS_SENSOR,
    build_catch_up_sensor,
    build_run_status_sensors,
)
from platform_defs.ops.resource import OpsStoreResource
from tests.ops.conftest import ops_target, postgres_target  # noqa: F401  (fixtures)

from ..conftest import REPO_ROOT
from .jobs import PIPELINES

WEBHOOK_REF = "alerts-webhook-url"
SMTP_PASSWORD_REF = "alerts-smtp-password"
SMTP_USER = "floe"
SMTP_PASSWORD = "Sm7p-pa55word"
UI_BASE_URL = "http://dagster.example:3000"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class WebhookReceiver:
    """A Slack-like incoming webhook: records each JSON POST; ``stop()`` closes the port."""

    port: int = field(default_factory=free_port)
    posts: list[dict[str, Any]] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        # A path like Slack's: the URL itself is the credential.
        return f"http://127.0.0.1:{self.port}/services/T000/B000/xoxb-s3cr3t-token"

    def start(self) -> None:
        posts = self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802  (http.server's name)
                length = int(self.headers.get("Content-Length", 0))
                posts.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@dataclass
class SmtpReceiver:
    """aiosmtpd on 127.0.0.1 checking the login; ``messages`` are the parsed emails."""

    port: int = field(default_factory=free_port)
    messages: list[Message] = field(default_factory=list)
    envelopes: list[Any] = field(default_factory=list)
    logins: list[bool] = field(default_factory=list)
    _controller: Controller | None = None

    def start(self) -> None:
        receiver = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
                receiver.envelopes.append(envelope)
                receiver.messages.append(message_from_bytes(envelope.content))
                return "250 Message accepted for delivery"

        def authenticate(
            server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
        ) -> AuthResult:
            ok = isinstance(auth_data, LoginPassword) and auth_data == (
                SMTP_USER.encode(),
                SMTP_PASSWORD.encode(),
            )
            receiver.logins.append(ok)
            return AuthResult(success=ok)

        self._controller = Controller(
            Handler(),
            hostname="127.0.0.1",
            port=self.port,
            authenticator=authenticate,
            # A login over plain TCP (no certificate on loopback; STARTTLS is off in the
            # tests); the tests check ``logins``. Requiring AUTH without TLS warns per session.
            auth_require_tls=False,
        )
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    receiver.start()
    yield receiver
    receiver.stop()


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    receiver = SmtpReceiver()
    receiver.start()
    yield receiver
    receiver.stop()


@pytest.fixture(autouse=True)
def quick_retries() -> Iterator[None]:
    """stamina without waiting: three tries per delivery, back to back."""
    with stamina.set_testing(True, attempts=3):
        yield


@pytest.fixture
def ops_store(ops_target) -> Iterator[OpsStoreResource]:  # noqa: F811
    yield OpsStoreResource(url=ops_target.url, schema_name=ops_target.schema)


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.DagsterInstance.ephemeral() as instance:
        yield instance


@pytest.fixture
def shipped_instance(tmp_path: Path) -> Iterator[dg.DagsterInstance]:
    """An instance configured by the repository's own dagster.yaml."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        yield instance


def alerts_config(webhook_port: int, smtp_port: int, **delivery: Any) -> AlertsConfig:
    return AlertsConfig.model_validate(
        {
            "ui_base_url": UI_BASE_URL + "/",
            "channels": {
                "slack": {"type": "webhook", "url_ref": WEBHOOK_REF},
                "oncall": {
                    "type": "email",
                    "host": "127.0.0.1",
                    "port": smtp_port,
                    "from": "floe@example.com",
                    "to": ["data-oncall@example.com", "lead@example.com"],
                    "starttls": False,
                    "username": SMTP_USER,
                    "password_ref": SMTP_PASSWORD_REF,
                },
            },
            "delivery": {"retry_delay_seconds": 0, "timeout_seconds": 2, **delivery},
        }
    )


@dataclass
class Sensors:
    """The platform's run-tracking sensors, evaluated the way the daemon would call them."""

    instance: dg.DagsterInstance
    ops_store: OpsStoreResource
    alerter: Alerter

    def __post_init__(self) -> None:
        by_name = {
            sensor.name: sensor for sensor in build_run_status_sensors(PIPELINES, self.alerter)
        }
        self.by_status = {status: by_name[name] for status, name in SENSOR_OF_STATUS.items()}
        self.catch_up_sensor = build_catch_up_sensor(PIPELINES, self.alerter)

    def on(self, run: dg.DagsterRun, event: dg.DagsterEvent) -> None:
        """Evaluate the run-status sensor of ``event``'s status for it."""
        status = {
            dg.DagsterEventType.RUN_START: dg.DagsterRunStatus.STARTED,
            dg.DagsterEventType.RUN_SUCCESS: dg.DagsterRunStatus.SUCCESS,
            dg.DagsterEventType.RUN_FAILURE: dg.DagsterRunStatus.FAILURE,
            dg.DagsterEventType.RUN_CANCELED: dg.DagsterRunStatus.CANCELED,
        }[event.event_type]
        sensor = self.by_status[status]
        with dg.build_run_status_sensor_context(
            sensor_name=sensor.name,
            dagster_event=event,
            dagster_instance=self.instance,
            dagster_run=run,
            resources={"ops_store": self.ops_store},
        ) as context:
            sensor(context)

    def on_all(self, run_id: str) -> None:
        """Evaluate every run-status event the run has had so far, in order."""
        run = self.instance.get_run_by_id(run_id)
        assert run is not None
        for entry in self.instance.all_logs(run_id):
            event = entry.dagster_event
            if event is not None and event.event_type in RUN_STATUS_EVENTS:
                self.on(run, event)

    def catch_up(self) -> str | None:
        with dg.build_sensor_context(
            instance=self.instance, resources={"ops_store": self.ops_store}
        ) as context:
            result = self.catch_up_sensor(context)
        return getattr(result, "skip_message", None)


SENSOR_OF_STATUS = {
    dg.DagsterRunStatus.STARTED: RUN_STARTED_SENSOR,
    dg.DagsterRunStatus.SUCCESS: RUN_SUCCESS_SENSOR,
    dg.DagsterRunStatus.FAILURE: RUN_FAILURE_SENSOR,
    dg.DagsterRunStatus.CANCELED: RUN_CANCELED_SENSOR,
}
RUN_STATUS_EVENTS = {
    dg.DagsterEventType.RUN_START,
    dg.DagsterEventType.RUN_SUCCESS,
    dg.DagsterEventType.RUN_FAILURE,
    dg.DagsterEventType.RUN_CANCELED,
}


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch, webhook: WebhookReceiver) -> SecretResolver:
    monkeypatch.setenv("FLOE_SECRET_ALERTS_WEBHOOK_URL", webhook.url)
    monkeypatch.setenv("FLOE_SECRET_ALERTS_SMTP_PASSWORD", SMTP_PASSWORD)
    return SecretResolver()


@pytest.fixture
def alerter(webhook: WebhookReceiver, smtp: SmtpReceiver, secrets: SecretResolver) -> Alerter:
    return Alerter(alerts_config(webhook.port, smtp.port), secrets)


@pytest.fixture
def sensors(instance: dg.DagsterInstance, ops_store: OpsStoreResource, alerter: Alerter) -> Sensors:
    return Sensors(instance, ops_store, alerter)
