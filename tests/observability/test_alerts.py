"""A failed run alerts once per channel, through a real webhook receiver and a real SMTP server
on 127.0.0.1; a channel that is down neither fails the sensor nor loses the alert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg
import httpx
import pytest

from platform_defs.config.alerts import WebhookChannel
from platform_defs.config.secrets import SecretResolver
from platform_defs.observability.alerts import Alert, Alerter, DeliveryError, WebhookSender
from platform_defs.ops import AlertSent, AlertStatus, PipelineRun, RunStatus
from platform_defs.ops.resource import OpsStoreResource

from .conftest import (
    SMTP_PASSWORD,
    UI_BASE_URL,
    Sensors,
    SmtpReceiver,
    WebhookReceiver,
    alerts_config,
)
from .jobs import run_job

pytestmark = pytest.mark.integration


def alert_rows(ops_store: OpsStoreResource, run_id: str) -> dict[str, AlertSent]:
    with ops_store.session() as session:
        rows = session.query(AlertSent).filter(AlertSent.run_id == run_id).all()
    return {row.channel: row for row in rows}


def test_a_failed_run_alerts_once_on_each_channel_with_what_to_fix(
    sensors: Sensors,
    instance: dg.DagsterInstance,
    ops_store: OpsStoreResource,
    webhook: WebhookReceiver,
    smtp: SmtpReceiver,
) -> None:
    result = run_job(instance, "ingest_orders", "partial")
    link = f"{UI_BASE_URL}/runs/{result.run_id}"

    sensors.on_all(result.run_id)

    (post,) = webhook.posts
    text = post["text"]
    for expected in (
        "Pipeline: orders",
        "Category: PARTIAL",
        "Code: ROWS_REJECTED",
        "Failed records: 7",
        "7 rows of orders.csv failed validation",
        f"Run: {link}",
    ):
        assert expected in text
    assert post["blocks"][0]["type"] == "header"
    assert any(link in str(block) for block in post["blocks"])

    (email,) = smtp.messages
    assert email["Subject"] == "floe: orders failed: PARTIAL ROWS_REJECTED"
    assert email["From"] == "floe@example.com"
    assert email["To"] == "data-oncall@example.com, lead@example.com"
    body = email.get_payload(decode=True).decode()
    for expected in ("Pipeline: orders", "Failed records: 7", "failed validation", link):
        assert expected in body
    (envelope,) = smtp.envelopes
    assert envelope.rcpt_tos == ["data-oncall@example.com", "lead@example.com"]
    assert smtp.logins == [True]

    rows = alert_rows(ops_store, result.run_id)
    assert {name: (row.status, row.attempts) for name, row in rows.items()} == {
        "slack": (AlertStatus.SENT, 1),
        "oncall": (AlertStatus.SENT, 1),
    }

    # The same event evaluated again (a tick that crashed before saving its cursor), another
    # process, the catch-up sensor: nothing goes out twice.
    sensors.on_all(result.run_id)
    Sensors(sensors.instance, sensors.ops_store, sensors.alerter).on_all(result.run_id)
    sensors.catch_up()
    assert (len(webhook.posts), len(smtp.messages)) == (1, 1)


def test_a_channel_that_is_down_is_retried_on_a_later_tick_and_delivers_once(
    sensors: Sensors,
    instance: dg.DagsterInstance,
    ops_store: OpsStoreResource,
    webhook: WebhookReceiver,
    smtp: SmtpReceiver,
) -> None:
    webhook.stop()
    smtp.stop()
    result = run_job(instance, "ingest_orders", "partial")

    sensors.on_all(result.run_id)  # does not raise

    rows = alert_rows(ops_store, result.run_id)
    assert {name: (row.status, row.attempts) for name, row in rows.items()} == {
        "slack": (AlertStatus.FAILED, 1),
        "oncall": (AlertStatus.FAILED, 1),
    }
    for row in rows.values():
        assert row.last_error and row.sent_at is None
        # never the secrets: not the webhook URL (the credential), not the SMTP password
        assert "xoxb" not in row.last_error and "/services/" not in row.last_error
        assert SMTP_PASSWORD not in row.last_error
    assert "Connect" in rows["slack"].last_error
    assert "SMTP 127.0.0.1" in rows["oncall"].last_error

    sensors.catch_up()  # still down: one more attempt each, no error
    assert {row.attempts for row in alert_rows(ops_store, result.run_id).values()} == {2}

    webhook.start()
    smtp.start()
    message = sensors.catch_up()
    assert message is not None and message.endswith("2 of 2 alert deliveries succeeded")
    assert (len(webhook.posts), len(smtp.messages)) == (1, 1)
    assert "ROWS_REJECTED" in webhook.posts[0]["text"]

    sensors.catch_up()
    sensors.on_all(result.run_id)
    assert (len(webhook.posts), len(smtp.messages)) == (1, 1)
    rows = alert_rows(ops_store, result.run_id)
    assert {(row.status, row.attempts) for row in rows.values()} == {(AlertStatus.SENT, 3)}


def test_attempts_are_bounded_and_spaced_out(
    instance: dg.DagsterInstance,
    ops_store: OpsStoreResource,
    webhook: WebhookReceiver,
    smtp: SmtpReceiver,
    secrets: SecretResolver,
) -> None:
    config = alerts_config(
        webhook.port, smtp.port, max_attempts=2, retry_delay_seconds=60, max_retry_delay_seconds=60
    )
    sensors = Sensors(instance, ops_store, Alerter(config, secrets))
    webhook.stop()
    smtp.stop()
    result = run_job(instance, "ingest_orders", "partial")
    sensors.on_all(result.run_id)
    log = dg.get_dagster_logger()

    assert sensors.alerter.retry_unsent(ops_store.session, log) == []  # not due for 60 s
    later = datetime.now(UTC) + timedelta(seconds=61)
    assert len(sensors.alerter.retry_unsent(ops_store.session, log, now=later)) == 2
    webhook.start()
    smtp.start()
    much_later = later + timedelta(hours=1)
    assert sensors.alerter.retry_unsent(ops_store.session, log, now=much_later) == []  # given up
    assert {row.attempts for row in alert_rows(ops_store, result.run_id).values()} == {2}
    assert (webhook.posts, smtp.messages) == ([], [])


def test_a_failure_recorded_but_never_claimed_is_alerted_by_the_catch_up_sensor(
    instance: dg.DagsterInstance,
    ops_store: OpsStoreResource,
    alerter: Alerter,
    webhook: WebhookReceiver,
    smtp: SmtpReceiver,
) -> None:
    """The failure sensor recorded the run, then died before claiming its alerts."""
    result = run_job(instance, "ingest_orders", "partial")
    no_channels = Alerter(alerts_config(webhook.port, smtp.port), SecretResolver(), senders={})
    Sensors(instance, ops_store, no_channels).on_all(result.run_id)
    assert alert_rows(ops_store, result.run_id) == {}

    sensors = Sensors(instance, ops_store, alerter)
    sensors.catch_up()
    sensors.catch_up()
    assert (len(webhook.posts), len(smtp.messages)) == (1, 1)


def test_a_claim_whose_sender_died_is_sent_once_it_is_stale(
    instance: dg.DagsterInstance,
    ops_store: OpsStoreResource,
    alerter: Alerter,
    webhook: WebhookReceiver,
    smtp: SmtpReceiver,
) -> None:
    """Claimed (committed), then the process was killed before sending: ``pending``."""
    result = run_job(instance, "ingest_orders", "partial")
    Sensors(instance, ops_store, alerter).on_all(result.run_id)
    with ops_store.session() as session:  # as the claim of a sender that never came back
        for row in session.query(AlertSent).filter(AlertSent.run_id == result.run_id):
            row.status, row.attempts, row.sent_at = AlertStatus.PENDING, 0, None
    webhook.posts.clear()
    smtp.messages.clear()
    log = dg.get_dagster_logger()

    soon = datetime.now(UTC) + timedelta(minutes=1)
    assert alerter.retry_unsent(ops_store.session, log, now=soon) == []  # maybe still sending
    stale = datetime.now(UTC) + timedelta(minutes=11)
    assert len(alerter.retry_unsent(ops_store.session, log, now=stale)) == 2
    assert alerter.retry_unsent(ops_store.session, log, now=stale) == []
    assert (len(webhook.posts), len(smtp.messages)) == (1, 1)


def test_a_run_that_loaded_but_rejected_rows_is_recorded_and_alerted_once(
    sensors: Sensors,
    instance: dg.DagsterInstance,
    ops_store: OpsStoreResource,
    webhook: WebhookReceiver,
    smtp: SmtpReceiver,
) -> None:
    result = run_job(instance, "ingest_orders", "rejects")
    assert result.success

    sensors.on_all(result.run_id)
    sensors.catch_up()

    with ops_store.session() as session:
        row = session.get(PipelineRun, result.run_id)
    assert row is not None
    assert (row.status, row.category, row.code, row.failed_records, row.rows_loaded) == (
        RunStatus.SUCCESS,
        "PARTIAL",
        "ROWS_REJECTED",
        2,
        5,
    )
    assert (
        row.error_summary == "bronze__orders: PARTIAL ROWS_REJECTED: 2 rows of orders.csv rejected"
    )
    (post,) = webhook.posts
    assert post["text"].startswith("floe: orders loaded, 2 rows rejected: PARTIAL ROWS_REJECTED")
    assert "Failed records: 2" in post["text"]
    (email,) = smtp.messages
    assert email["Subject"] == "floe: orders loaded, 2 rows rejected: PARTIAL ROWS_REJECTED"


def test_rejected_rows_need_not_alert(
    instance: dg.DagsterInstance,
    ops_store: OpsStoreResource,
    webhook: WebhookReceiver,
    smtp: SmtpReceiver,
    secrets: SecretResolver,
) -> None:
    config = alerts_config(webhook.port, smtp.port).model_copy(
        update={"alert_on_rejected_rows": False}
    )
    sensors = Sensors(instance, ops_store, Alerter(config, secrets))
    result = run_job(instance, "ingest_orders", "rejects")
    sensors.on_all(result.run_id)
    sensors.catch_up()
    assert (webhook.posts, smtp.messages) == ([], [])


@pytest.mark.parametrize("mode", ["ok", "flaky"])
def test_a_run_that_succeeds_does_not_alert_even_after_a_retry(
    mode: str,
    sensors: Sensors,
    instance: dg.DagsterInstance,
    ops_store: OpsStoreResource,
    webhook: WebhookReceiver,
    smtp: SmtpReceiver,
) -> None:
    result = run_job(instance, "ingest_orders", mode)
    assert result.success
    retried = [
        e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY
    ]
    assert len(retried) == (1 if mode == "flaky" else 0)

    sensors.on_all(result.run_id)
    sensors.catch_up()

    assert (webhook.posts, smtp.messages) == ([], [])
    assert alert_rows(ops_store, result.run_id) == {}


# -- the webhook client, without a network (httpx.MockTransport) -----------------------------

ALERT = Alert(
    run_id="r1",
    job_name="ingest_orders",
    pipeline="orders",
    category="TRANSIENT",
    code="RATE_LIMITED",
    message="slow down",
    failed_records=None,
    run_url="http://ui/runs/r1",
)
SECRET_URL = "https://hooks.example.com/services/T1/B2/very-secret"


def sender(handler: httpx.MockTransport) -> WebhookSender:
    resolver = SecretResolver(environ={"FLOE_SECRET_HOOK": SECRET_URL})
    return WebhookSender(
        WebhookChannel(type="webhook", url_ref="hook"), resolver, attempts=3, transport=handler
    )


def test_the_webhook_retries_5xx_and_429_within_the_tick() -> None:
    answers = iter([httpx.Response(503), httpx.Response(429, headers={"Retry-After": "0"})])
    requests: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return next(answers, httpx.Response(200, text="ok"))

    sender(httpx.MockTransport(handle)).send(ALERT)
    assert len(requests) == 3
    assert str(requests[-1].url) == SECRET_URL
    assert "RATE_LIMITED" in requests[-1].read().decode()


def test_a_client_error_is_not_retried_and_never_shows_the_url() -> None:
    requests: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(404, text=f"no such hook: {request.url}")

    with pytest.raises(DeliveryError) as excinfo:
        sender(httpx.MockTransport(handle)).send(ALERT)
    assert len(requests) == 1
    assert not excinfo.value.retryable
    assert "HTTP 404" in str(excinfo.value)
    assert "very-secret" not in str(excinfo.value) and "hooks.example.com" not in str(excinfo.value)
