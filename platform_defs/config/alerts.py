"""The ``alerts:`` section of ``platform-manifest.yaml``: who hears about a failed run, and how.

A failed run (not a step retry, not a cancelled run), and by default a run that succeeded with
rows rejected, alerts once on every channel: a webhook
(Slack-compatible JSON) or an email (SMTP). Credentials are secret *references* only (the
webhook URL is one: a Slack incoming-webhook URL is a credential), resolved when an alert is
sent and never stored, shown or logged. Delivery is retried with bounded attempts: a few quick
ones within a sensor tick, then on later ticks with a growing delay (``delivery:``).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from platform_defs.config.models import SLUG_PATTERN, SecretRef

DEFAULT_UI_BASE_URL = "http://127.0.0.1:3000"
_ADDRESS = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _address(value: str) -> str:
    if not _ADDRESS.match(value):
        raise ValueError(f"{value!r} is not an email address (name@domain)")
    return value


class WebhookChannel(_Model):
    """An incoming webhook that takes Slack's message JSON (``text`` + ``blocks``): Slack,
    Mattermost, Rocket.Chat, or anything that accepts a JSON POST."""

    type: Literal["webhook"] = Field(description="webhook: POST a Slack-compatible JSON message.")
    url_ref: SecretRef = Field(
        description="Secret reference holding the webhook URL (a Slack webhook URL is a secret)."
    )


class EmailChannel(_Model):
    """An email through an SMTP server (STARTTLS and login optional)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    type: Literal["email"] = Field(description="email: send through an SMTP server.")
    host: str = Field(min_length=1, description="SMTP server host name.")
    port: int = Field(default=587, ge=1, le=65535, description="SMTP server port.")
    from_address: str = Field(alias="from", description="Sender address (From:).")
    to: list[str] = Field(min_length=1, description="Recipient addresses.")
    starttls: bool = Field(
        default=True, description="Upgrade the connection with STARTTLS before logging in."
    )
    username: str | None = Field(
        default=None, min_length=1, description="SMTP login name (with password_ref)."
    )
    password_ref: SecretRef | None = Field(
        default=None, description="Secret reference holding the SMTP password (with username)."
    )

    @field_validator("from_address")
    @classmethod
    def _valid_from(cls, value: str) -> str:
        return _address(value)

    @field_validator("to")
    @classmethod
    def _valid_to(cls, value: list[str]) -> list[str]:
        return [_address(item) for item in value]

    @model_validator(mode="after")
    def _login_is_complete(self) -> EmailChannel:
        if (self.username is None) != (self.password_ref is None):
            raise ValueError("username and password_ref go together: give both or neither")
        return self


AlertChannel = Annotated[WebhookChannel | EmailChannel, Field(discriminator="type")]
CHANNEL_TYPES = ("webhook", "email")


class DeliveryPolicy(_Model):
    """How hard an alert is pushed through a channel that is down."""

    attempts_per_tick: int = Field(
        default=3,
        ge=1,
        le=10,
        description="Quick tries within one sensor tick (exponential backoff, a few seconds).",
    )
    max_attempts: int = Field(
        default=12,
        ge=1,
        description=(
            "Delivery attempts in total (each of up to attempts_per_tick tries); after that "
            "the alert stays failed in ops.alerts_sent."
        ),
    )
    retry_delay_seconds: float = Field(
        default=60,
        ge=0,
        description="Wait before the first retry on a later tick; doubled after each attempt.",
    )
    max_retry_delay_seconds: float = Field(
        default=3600, ge=0, description="Cap on the wait between two attempts."
    )
    timeout_seconds: float = Field(
        default=10, gt=0, description="Network timeout of one try (connect, send, response)."
    )

    @model_validator(mode="after")
    def _cap_at_least_first_delay(self) -> DeliveryPolicy:
        if self.max_retry_delay_seconds < self.retry_delay_seconds:
            raise ValueError(
                f"max_retry_delay_seconds ({self.max_retry_delay_seconds:g}) must be >= "
                f"retry_delay_seconds ({self.retry_delay_seconds:g})"
            )
        return self

    def delay_before(self, attempt: int) -> float:
        """Seconds to wait after attempt ``attempt`` (1 = the first) before the next one."""
        return min(
            self.retry_delay_seconds * 2 ** max(attempt - 1, 0), self.max_retry_delay_seconds
        )


class AlertsConfig(_Model):
    """Failed-run alerts: the UI's address (for the run link) and the channels."""

    ui_base_url: str = Field(
        default=DEFAULT_UI_BASE_URL,
        description=("Base URL of the Dagster UI; an alert links to <ui_base_url>/runs/<run_id>."),
    )
    channels: dict[Annotated[str, Field(pattern=SLUG_PATTERN)], AlertChannel] = Field(
        default_factory=dict,
        description=(
            "Alert channels by name (the name is the key in ops.alerts_sent): each failed run "
            "alerts once on every channel."
        ),
    )
    alert_on_rejected_rows: bool = Field(
        default=True,
        description=(
            "Also alert a run that succeeded with rows rejected (a PARTIAL load: the good rows "
            "are committed, the bad ones wait in the rejects table for someone to fix)."
        ),
    )
    delivery: DeliveryPolicy = Field(
        default_factory=DeliveryPolicy, description="Retries of a channel that is down."
    )

    @field_validator("ui_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{value!r} is not an http(s) URL")
        if parts.password:
            raise ValueError("the URL holds a password: it would be sent in every alert")
        return value.rstrip("/")

    @field_validator("channels", mode="wrap")
    @classmethod
    def _errors_at_the_channel(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        # pydantic puts the discriminator's value in an error's location
        # (channels.slack.webhook.url_ref); the file has no such key, so drop it.
        try:
            return handler(value)
        except ValidationError as exc:
            errors: list[InitErrorDetails] = []
            for error in exc.errors():
                loc = error["loc"]
                if len(loc) >= 2 and loc[1] in CHANNEL_TYPES:
                    loc = (loc[0], *loc[2:])
                if error["type"] == "union_tag_invalid":
                    tag = error.get("ctx", {}).get("tag")
                    unknown = PydanticCustomError(
                        "channel_type",
                        "'{tag}' is not a channel type: use one of {types}",
                        {"tag": tag, "types": ", ".join(CHANNEL_TYPES)},
                    )
                    errors.append(InitErrorDetails(type=unknown, loc=(*loc, "type"), input=tag))
                    continue
                details = InitErrorDetails(type=error["type"], loc=loc, input=error["input"])
                if "ctx" in error:
                    details["ctx"] = error["ctx"]
                errors.append(details)
            raise ValidationError.from_exception_data(exc.title, errors) from None

    def run_url(self, run_id: str) -> str:
        return f"{self.ui_base_url}/runs/{run_id}"
