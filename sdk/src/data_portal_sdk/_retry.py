"""When and how long to wait before retrying a push.

A small bounded loop in the manner of openai-python's client: few attempts, exponential
backoff with full jitter and a cap, ``Retry-After`` honoured up to a cap. Retrying a push is
safe because every attempt carries the same Idempotency-Key: the server answers a retry of a
committed push with the first answer instead of committing it twice.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

__all__ = ["RetryPolicy"]

# 408 request timeout, 429 rate limited, 5xx server trouble. 409 only with this code: the
# same push (same key) is still being committed by an earlier attempt.
_RETRYABLE_STATUS = frozenset({408, 429})
_RETRYABLE_CONFLICT_CODE = "PUSH_IN_PROGRESS"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How a push is retried after a connection error, a timeout, 408, 409 PUSH_IN_PROGRESS,
    429 or a 5xx. Other errors are raised at once.

    The n-th retry (n = 0, 1, ...) waits a uniformly random time in
    ``[0, min(max_delay, initial_delay * 2**n)]`` ("full jitter", so that many producers
    failing together do not retry together), or what the server's ``Retry-After`` says,
    capped at ``max_retry_after``."""

    max_retries: int = 2
    """Retries after the first attempt (so 3 attempts by default); 0 disables retrying."""
    initial_delay: float = 0.5
    """Seconds: the backoff ceiling of the first retry."""
    max_delay: float = 8.0
    """Seconds: the backoff ceiling never grows past this."""
    max_retry_after: float = 60.0
    """Seconds: a longer ``Retry-After`` is cut to this."""
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    """How to wait; tests pass a recorder instead of sleeping."""
    random: Callable[[], float] = field(default=random.random, repr=False)
    """A number in [0, 1): the jitter's source."""

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {self.max_retries}")
        if self.initial_delay < 0 or self.max_delay < 0 or self.max_retry_after < 0:
            raise ValueError("delays must be >= 0")

    def delay(self, retry: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``retry`` (0-based)."""
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        ceiling = min(self.max_delay, self.initial_delay * 2.0**retry)
        return self.random() * ceiling


def is_retryable_status(status_code: int, code: str | None) -> bool:
    """Whether an answer with this status (and API error code) is worth another attempt."""
    if status_code in _RETRYABLE_STATUS or status_code >= 500:
        return True
    return status_code == 409 and code == _RETRYABLE_CONFLICT_CODE


def retry_after_seconds(response: httpx.Response, now: dt.datetime | None = None) -> float | None:
    """The server's ``Retry-After`` in seconds (delta-seconds or an HTTP date), if valid."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        seconds = (when - (now or dt.datetime.now(dt.UTC))).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return max(seconds, 0.0)
