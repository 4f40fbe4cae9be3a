"""The error answers each operation declares in the OpenAPI document."""

from __future__ import annotations

from typing import Any

from platform_defs.api.requestid import REQUEST_ID_HEADER
from platform_defs.api.schemas import ErrorResponse

REQUEST_ID_RESPONSE_HEADER = {
    REQUEST_ID_HEADER: {
        "description": "The request's id (the one sent, when usable).",
        "schema": {"type": "string"},
    }
}

_DESCRIPTIONS = {
    401: "Missing, invalid or revoked API key (UNAUTHORIZED).",
    403: "The API key is not scoped to this output port (FORBIDDEN).",
    404: "No such resource (NOT_FOUND).",
    409: "A request with the same Idempotency-Key is being committed (PUSH_IN_PROGRESS): "
    "retry later.",
    413: "The body is larger than the limit (PAYLOAD_TOO_LARGE); `max_bytes` says it.",
    422: "Invalid request (VALIDATION_ERROR, with the field paths in `details`), or the "
    "Idempotency-Key was used for another body (IDEMPOTENCY_KEY_REUSED).",
    503: "The ops store cannot be reached (SERVICE_UNAVAILABLE).",
}


_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "string"},
    }
}


def error_responses(*status_codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: each status with the error model and the id header."""
    return {
        code: {
            "model": ErrorResponse,
            "description": _DESCRIPTIONS[code],
            "headers": {
                **REQUEST_ID_RESPONSE_HEADER,
                **(_RETRY_AFTER if code in (409, 503) else {}),
            },
        }
        for code in status_codes
    }
