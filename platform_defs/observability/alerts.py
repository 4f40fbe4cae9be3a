"""Failed-run alerts: one per run and channel, delivered through a channel that may be down.

A failed run alerts; so does, unless ``alerts.alert_on_rejected_rows`` is false, a run that
succeeded with rows rejected (a PARTIAL load whose good rows were committed). A cancelled run,
a clean success and a step retried within a run that then succeeds do not.

Exactly once per channel comes from the ops store: the sender that wins
:func:`~platform_defs.ops.claim_alert` (one ``INSERT ... ON CONFLICT DO NOTHING``) sends; every
other sensor tick or process sees the claim and does not. Each delivery attempt is recorded
(:func:`~platform_defs.ops.record_alert_attempt`). A channel that is down costs a few quick
tries in the tick (stamina), then the alert waits in ``ops.alerts_sent`` as ``failed`` and the
catch-up sensor tries again on later ticks, with a doubling delay, until ``max_attempts``. A
later attempt is taken with a compare-and-set on the row (status, attempts, claimed_at), so
two ticks never deliver the same retry; ``claimed_at`` then records when the last attempt
started, which is what the delay is counted from.

What the alert says comes from the run's ``ops.pipeline_runs`` row: the first send and every
retry render the same message. Secrets (the webhook URL, the SMTP password) are resolved at
each delivery and never reach a log, an error or the ops store: error texts are redacted
before they are recorded.
"""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any, Protocol, cast

import httpx
import stamina
from sqlalchemy import CursorResult, update
from sqlalchemy.orm import Session

from platform_defs.config.alerts import AlertsConfig, EmailChannel, WebhookChannel
from platform_defs.config.secrets import SecretResolver
from platform_defs.ops import (
    AlertSent,
    AlertStatus,
    PipelineRun,
    RunStatus,
    claim_alert,
    record_alert_attempt,
    unsent_alerts,
)

SessionFactory = Callable[[], AbstractContextManager[Session]]
"""``OpsStoreResource.session`` / ``OpsStore.session``: one transaction per call."""

STALE_CLAIM = timedelta(minutes=10)
"""A ``pending`` claim older than this lost its sender (killed between claim and record)."""
TICK_BUDGET_SECONDS = 40.0
"""Deliveries started per sensor evaluation stop after this (Dagster's sensor timeout is 60 s);
the rest wait for the next tick."""
_MESSAGE_CHARS = 2800  # Slack caps a section's text at 3000 characters
_RETRY_AFTER_CAP_SECONDS = 5.0
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE)
REJECTED_ROWS_CATEGORY = "PARTIAL"


class DeliveryError(Exception):
    """A delivery failed; the message is safe to log and store (secrets redacted)."""

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


def should_alert(run: PipelineRun, config: AlertsConfig) -> bool:
    """A failed run; a run that succeeded with rows rejected, unless the manifest says not."""
    if run.status == RunStatus.FAILURE:
        return True
    return (
        config.alert_on_rejected_rows
        and run.status == RunStatus.SUCCESS
        and run.category == REJECTED_ROWS_CATEGORY
        and bool(run.failed_records)
    )


@dataclass(frozen=True)
class Alert:
    """A failed run (or one that rejected rows), as a person should read it."""

    run_id: str
    job_name: str
    pipeline: str | None
    category: str | None
    code: str | None
    message: str
    failed_records: int | None
    run_url: str
    failed: bool = True
    """False: the run succeeded, but rejected ``failed_records`` rows."""

    @classmethod
    def from_run(cls, run: PipelineRun, config: AlertsConfig) -> Alert:
        return cls(
            run_id=run.run_id,
            job_name=run.job_name,
            pipeline=run.pipeline,
            category=run.category,
            code=run.code,
            message=run.error_summary or "the run failed (no error recorded)",
            failed_records=run.failed_records,
            run_url=config.run_url(run.run_id),
            failed=run.status != RunStatus.SUCCESS,
        )

    @property
    def subject(self) -> str:
        what = " ".join(part for part in (self.category, self.code) if part)
        name = self.pipeline or self.job_name
        outcome = "failed" if self.failed else f"loaded, {self.failed_records} rows rejected"
        return f"floe: {name} {outcome}" + (f": {what}" if what else "")

    def fields(self) -> list[tuple[str, str]]:
        return [
            ("Pipeline", self.pipeline or "-"),
            ("Job", self.job_name),
            ("Category", self.category or "-"),
            ("Code", self.code or "-"),
            ("Failed records", "-" if self.failed_records is None else str(self.failed_records)),
            ("Run", self.run_url),
        ]

    def text(self) -> str:
        lines = [self.subject, *(f"{name}: {value}" for name, value in self.fields())]
        return "\n".join([*lines, "Message:", _clip(self.message)])

    def slack_payload(self) -> dict[str, Any]:
        """Slack's incoming-webhook JSON: ``text`` (notifications, plain receivers) and blocks."""
        shown = [(name, value) for name, value in self.fields() if name != "Run"]
        return {
            "text": self.text(),
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": self.subject[:150]}},
                {
                    "type": "section",
                    "fields": [
                        {"type": "mrkdwn", "text": f"*{name}*\n{value}"} for name, value in shown
                    ],
                },
                {
                    "type": "section",
                    "text": {"type": "mrkdwn", "text": f"```{_clip(self.message)}```"},
                },
                {
                    "type": "section",
                    "text": {"type": "mrkdwn", "text": f"<{self.run_url}|Open run {self.run_id}>"},
                },
            ],
        }


class Sender(Protocol):
    def send(self, alert: Alert) -> None:
        """Deliver ``alert`` or raise :class:`DeliveryError` (after the quick retries)."""


@dataclass(frozen=True)
class WebhookSender:
    channel: WebhookChannel
    resolver: SecretResolver
    attempts: int = 3
    timeout_seconds: float = 10.0
    transport: httpx.BaseTransport | None = None

    def send(self, alert: Alert) -> None:
        url = self.resolver.resolve(self.channel.url_ref).get_secret_value()
        payload = alert.slack_payload()
        with httpx.Client(timeout=self.timeout_seconds, transport=self.transport) as client:
            for attempt in _quick_retries(self.attempts, self.timeout_seconds):
                with attempt:
                    self._post(client, url, payload)

    def _post(self, client: httpx.Client, url: str, payload: dict[str, Any]) -> None:
        try:
            response = client.post(url, json=payload)
        except httpx.HTTPError as exc:
            # httpx names the URL in some messages; the URL is the secret.
            message = _redact(f"{type(exc).__name__}: {exc}", [url])
            raise DeliveryError(message, retryable=isinstance(exc, httpx.TransportError)) from None
        if response.is_success:
            return
        status = response.status_code
        raise DeliveryError(
            f"webhook answered HTTP {status}: {_redact(response.text[:200], [url])}",
            retryable=status in (408, 409, 429) or status >= 500,
            retry_after=_retry_after(response),
        )


@dataclass(frozen=True)
class EmailSender:
    channel: EmailChannel
    resolver: SecretResolver
    attempts: int = 3
    timeout_seconds: float = 10.0

    def send(self, alert: Alert) -> None:
        channel = self.channel
        password = (
            self.resolver.resolve(channel.password_ref).get_secret_value()
            if channel.password_ref
            else None
        )
        message = EmailMessage()
        message["Subject"] = alert.subject
        message["From"] = channel.from_address
        message["To"] = ", ".join(channel.to)
        message.set_content(alert.text())
        for attempt in _quick_retries(self.attempts, self.timeout_seconds):
            with attempt:
                self._send(message, password)

    def _send(self, message: EmailMessage, password: str | None) -> None:
        channel = self.channel
        secrets = [password] if password else []
        try:
            with smtplib.SMTP(channel.host, channel.port, timeout=self.timeout_seconds) as smtp:
                if channel.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if channel.username and password is not None:
                    smtp.login(channel.username, password)
                smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            text = _redact(f"{type(exc).__name__}: {exc}", secrets)
            raise DeliveryError(
                f"SMTP {channel.host}:{channel.port}: {text}", retryable=_smtp_retryable(exc)
            ) from None


def _smtp_retryable(exc: BaseException) -> bool:
    if isinstance(exc, smtplib.SMTPAuthenticationError | smtplib.SMTPNotSupportedError):
        return False
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500  # 4xx: try again later; 5xx: permanent
    return True  # connection refused / reset / timed out, server disconnected


def _quick_retries(attempts: int, timeout_seconds: float) -> Iterator[Any]:
    def retry_on(exc: Exception) -> bool | float:
        if not isinstance(exc, DeliveryError) or not exc.retryable:
            return False
        if exc.retry_after is not None:  # the receiver said when; within a tick, capped
            return min(exc.retry_after, _RETRY_AFTER_CAP_SECONDS)
        return True

    return iter(
        stamina.retry_context(
            on=retry_on,
            attempts=attempts,
            timeout=attempts * (timeout_seconds + 2),
            wait_initial=0.5,
            wait_max=3.0,
            wait_jitter=0.5,
        )
    )


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return max(float(value), 0.0) if value is not None else None
    except ValueError:
        return None


def _redact(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return _URL.sub("<url>", text)


def _clip(text: str) -> str:
    return text if len(text) <= _MESSAGE_CHARS else text[: _MESSAGE_CHARS - 1] + "…"


@dataclass(frozen=True)
class Delivery:
    """The outcome of one delivery attempt."""

    run_id: str
    channel: str
    error: str | None

    @property
    def sent(self) -> bool:
        return self.error is None


class Alerter:
    """Sends the alerts of failed runs on every configured channel, once each."""

    def __init__(
        self,
        config: AlertsConfig,
        resolver: SecretResolver,
        *,
        senders: dict[str, Sender] | None = None,
    ) -> None:
        self.config = config
        delivery = config.delivery
        self.senders: dict[str, Sender] = (
            senders
            if senders is not None
            else {
                name: _sender(
                    channel, resolver, delivery.attempts_per_tick, delivery.timeout_seconds
                )
                for name, channel in config.channels.items()
            }
        )

    def alert_run(
        self, sessions: SessionFactory, run: PipelineRun, log: logging.Logger
    ) -> list[Delivery]:
        """If the run calls for an alert (:func:`should_alert`), claim and send it on each
        channel no one has claimed it on yet."""
        if not should_alert(run, self.config):
            return []
        alert = Alert.from_run(run, self.config)
        deliveries = []
        for channel in self.senders:
            with sessions() as session:
                claimed = claim_alert(session, run.run_id, channel)
            if claimed:  # committed: whoever evaluates this run again will not send
                deliveries.append(self._deliver(sessions, channel, alert, log))
        return deliveries

    def retry_unsent(
        self,
        sessions: SessionFactory,
        log: logging.Logger,
        *,
        now: datetime | None = None,
        budget_seconds: float = TICK_BUDGET_SECONDS,
    ) -> list[Delivery]:
        """Deliver the alerts whose last attempt failed (or whose sender died), when due."""
        delivery = self.config.delivery
        now = now or datetime.now(UTC)
        deadline = time.monotonic() + budget_seconds
        with sessions() as session:
            waiting = unsent_alerts(session, max_attempts=delivery.max_attempts)
        deliveries = []
        for row in waiting:
            if row.channel not in self.senders or not _due(row, now, self.config):
                continue
            if time.monotonic() > deadline:
                log.info("alert retries: tick budget spent; the rest wait for the next tick")
                break
            with sessions() as session:
                run = session.get(PipelineRun, row.run_id)
                taken = run is not None and _take(session, row, now)
            if run is None:
                log.warning(f"alert of run {row.run_id} on {row.channel}: run not on record")
                continue
            if taken:
                alert = Alert.from_run(run, self.config)
                deliveries.append(self._deliver(sessions, row.channel, alert, log))
        return deliveries

    def _deliver(
        self, sessions: SessionFactory, channel: str, alert: Alert, log: logging.Logger
    ) -> Delivery:
        try:
            self.senders[channel].send(alert)
            error = None
        except DeliveryError as exc:
            error = str(exc)
        except Exception as exc:  # a channel that is down never fails the sensor
            error = _redact(f"{type(exc).__name__}: {exc}", [])
        with sessions() as session:
            record_alert_attempt(session, alert.run_id, channel, error=error)
            attempts = session.get(AlertSent, (alert.run_id, channel), populate_existing=True)
        count = attempts.attempts if attempts is not None else "?"
        if error is None:
            log.info(f"alert of run {alert.run_id} sent on {channel} (attempt {count})")
        elif isinstance(count, int) and count >= self.config.delivery.max_attempts:
            log.error(
                f"alert of run {alert.run_id} on {channel} failed (attempt {count}, the last): "
                f"{error}"
            )
        else:
            log.warning(
                f"alert of run {alert.run_id} on {channel} failed (attempt {count}), "
                f"retried on a later tick: {error}"
            )
        return Delivery(alert.run_id, channel, error)


def _sender(
    channel: WebhookChannel | EmailChannel,
    resolver: SecretResolver,
    attempts: int,
    timeout_seconds: float,
) -> Sender:
    if isinstance(channel, WebhookChannel):
        return WebhookSender(channel, resolver, attempts, timeout_seconds)
    return EmailSender(channel, resolver, attempts, timeout_seconds)


def _due(row: AlertSent, now: datetime, config: AlertsConfig) -> bool:
    if row.status == AlertStatus.PENDING:
        return now - row.claimed_at >= STALE_CLAIM
    wait = config.delivery.delay_before(row.attempts)
    return now - row.claimed_at >= timedelta(seconds=wait)


def _take(session: Session, row: AlertSent, now: datetime) -> bool:
    """Take the next attempt of ``row``: True for the one caller whose update matched."""
    result = session.execute(
        update(AlertSent)
        .where(
            AlertSent.run_id == row.run_id,
            AlertSent.channel == row.channel,
            AlertSent.status == row.status,
            AlertSent.attempts == row.attempts,
            AlertSent.claimed_at == row.claimed_at,
        )
        .values(status=AlertStatus.PENDING, claimed_at=now)
    )
    return cast(CursorResult[Any], result).rowcount == 1
