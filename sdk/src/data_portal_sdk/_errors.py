"""The SDK's errors, as a tree callers branch on.

``DataPortalError`` is the root. Below it: ``ConfigurationError`` (no API key or URL),
``ValidationError`` (the push is wrong; found before sending, or by the server as a 422),
``APIConnectionError`` (no answer: network, DNS, timeout) and ``APIStatusError`` (an answer
with an error status, one class per status that calls for a different reaction).

Every error carries ``status_code``, ``request_id``, ``code`` and ``response``; they are
``None`` where they do not apply (a local validation error has no response).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "DataPortalError",
    "ErrorDetail",
    "InternalServerError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RateLimitError",
    "UnprocessableEntityError",
    "ValidationError",
]


@dataclass(frozen=True, slots=True)
class ErrorDetail:
    """One problem of a push: where (``loc``, e.g. ``("asset_stats", 3, "consumer_id")``),
    what (``msg``) and its kind (``type``), the shape of the API's error details."""

    loc: tuple[str | int, ...]
    msg: str
    type: str

    def path(self) -> str:
        """``loc`` as ``asset_stats[3].consumer_id``."""
        text = ""
        for part in self.loc:
            if isinstance(part, int):
                text += f"[{part}]"
            else:
                text += f".{part}" if text else part
        return text or "<push>"


class DataPortalError(Exception):
    """Root of every error the SDK raises."""

    status_code: int | None = None
    request_id: str | None = None
    code: str | None = None
    response: httpx.Response | None = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigurationError(DataPortalError, ValueError):
    """The client cannot be built: an API key or base URL is missing or malformed."""


class ValidationError(DataPortalError, ValueError):
    """The push breaks a rule of the API; ``details`` names each row and field.

    Raised before sending (nothing was sent) and, as its subclass
    ``UnprocessableEntityError``, when the server answers 422."""

    def __init__(self, message: str, details: Sequence[ErrorDetail] = ()) -> None:
        super().__init__(message)
        self.details: tuple[ErrorDetail, ...] = tuple(details)

    @classmethod
    def from_details(cls, details: Sequence[ErrorDetail], limit: int = 20) -> ValidationError:
        """A local validation error whose message lists the first ``limit`` problems."""
        lines = [f"{d.path()}: {d.msg}" for d in details[:limit]]
        if len(details) > limit:
            lines.append(f"... and {len(details) - limit} more")
        noun = "problem" if len(details) == 1 else "problems"
        return cls(f"invalid usage push ({len(details)} {noun}):\n  " + "\n  ".join(lines), details)


class APIConnectionError(DataPortalError):
    """No answer from the API (connection refused or reset, DNS, TLS); retried by default."""

    def __init__(self, message: str, *, request_id: str | None = None) -> None:
        super().__init__(message)
        self.request_id = request_id


class APITimeoutError(APIConnectionError):
    """The request timed out; retried by default."""


class APIStatusError(DataPortalError):
    """The API answered with an error status (4xx or 5xx).

    ``code`` is the API's error code (``VALIDATION_ERROR``, ``PUSH_IN_PROGRESS``, ...),
    ``request_id`` the ``X-Request-Id`` the server answered with: quote it when reporting."""

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response,
        code: str | None = None,
        request_id: str | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.response = response
        self.status_code = response.status_code
        self.code = code
        self.request_id = request_id
        self.body = body


class BadRequestError(APIStatusError):
    """400: the request is malformed."""


class AuthenticationError(APIStatusError):
    """401: the API key is missing, invalid or revoked."""


class PermissionDeniedError(APIStatusError):
    """403: the API key is not scoped to this output port."""


class NotFoundError(APIStatusError):
    """404: no such output port or path (check base_url)."""


class ConflictError(APIStatusError):
    """409: e.g. ``PUSH_IN_PROGRESS``: the same push is still being committed (retried)."""


class PayloadTooLargeError(APIStatusError):
    """413: the body is over the server's limit, ``max_bytes`` (a multi-day push is split
    into per-day requests automatically; this is raised when one day alone is too large)."""

    def __init__(self, message: str, *, max_bytes: int | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.max_bytes = max_bytes


class UnprocessableEntityError(APIStatusError, ValidationError):
    """422: the server rejected the push (``details`` names the fields), or reused an
    Idempotency-Key with a different body (``code == "IDEMPOTENCY_KEY_REUSED"``)."""

    def __init__(self, message: str, *, details: Sequence[ErrorDetail] = (), **kwargs: Any) -> None:
        APIStatusError.__init__(self, message, **kwargs)
        self.details = tuple(details)


class RateLimitError(APIStatusError):
    """429: too many requests (retried, honouring Retry-After)."""


class InternalServerError(APIStatusError):
    """5xx: the server failed or is unavailable (retried)."""


_BY_STATUS: Mapping[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def error_from_response(response: httpx.Response, *, sent_request_id: str | None) -> APIStatusError:
    """The typed error for an error response; reads the API's ``{"error": {...}}`` body when
    there is one and falls back to the status line when there is not (a proxy's 502)."""
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    code = error.get("code") if isinstance(error.get("code"), str) else None
    request_id = (
        response.headers.get("x-request-id")
        or (error.get("request_id") if isinstance(error.get("request_id"), str) else None)
        or sent_request_id
    )
    text = error.get("message") if isinstance(error.get("message"), str) else None
    if text is None:
        text = response.reason_phrase or "error"
    message = f"{response.status_code} {code or ''}: {text}".replace("  ", " ")
    if request_id:
        message += f" (request id {request_id})"

    status = response.status_code
    kwargs: dict[str, Any] = {
        "response": response,
        "code": code,
        "request_id": request_id,
        "body": body,
    }
    if status == 413:
        max_bytes = error.get("max_bytes")
        return PayloadTooLargeError(
            message, max_bytes=max_bytes if isinstance(max_bytes, int) else None, **kwargs
        )
    if status == 422:
        details = _details(error.get("details"))
        if details:
            message += "\n  " + "\n  ".join(f"{d.path()}: {d.msg}" for d in details[:20])
        return UnprocessableEntityError(message, details=details, **kwargs)
    cls = _BY_STATUS.get(status)
    if cls is None:
        cls = InternalServerError if status >= 500 else APIStatusError
    return cls(message, **kwargs)


def _details(raw: Any) -> tuple[ErrorDetail, ...]:
    if not isinstance(raw, list):
        return ()
    out = []
    for item in raw:
        if not isinstance(item, dict):
            continue
        loc = item.get("loc")
        parts = tuple(p for p in loc if isinstance(p, str | int)) if isinstance(loc, list) else ()
        # The server's paths start with "body"; the local validator's do not: drop it so
        # both name rows the same way (asset_stats[3].consumer_id).
        if parts[:1] == ("body",):
            parts = parts[1:]
        out.append(ErrorDetail(parts, str(item.get("msg", "")), str(item.get("type", ""))))
    return tuple(out)
