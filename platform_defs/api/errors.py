"""Error answers: one shape for every 4xx and 5xx, with the request id.

``{"error": {"code": "...", "message": "...", "request_id": "...", "details": [...]}}``;
a 413 adds ``max_bytes``. FastAPI's own validation errors are re-shaped into ``details``
entries with the same ``loc`` paths (``["body", "asset_stats", 3, "consumer_id"]``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from platform_defs.api.requestid import current_request_id
from platform_defs.api.schemas import ErrorBody, ErrorDetail, ErrorResponse

logger = logging.getLogger("platform_defs.api")

VALIDATION_ERROR = "VALIDATION_ERROR"
IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
PUSH_IN_PROGRESS = "PUSH_IN_PROGRESS"
UNAUTHORIZED = "UNAUTHORIZED"
FORBIDDEN = "FORBIDDEN"
NOT_FOUND = "NOT_FOUND"
METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
INTERNAL_ERROR = "INTERNAL_ERROR"

_HTTP_CODES = {
    401: UNAUTHORIZED,
    403: FORBIDDEN,
    404: NOT_FOUND,
    405: METHOD_NOT_ALLOWED,
    409: PUSH_IN_PROGRESS,
    413: PAYLOAD_TOO_LARGE,
    422: VALIDATION_ERROR,
    503: SERVICE_UNAVAILABLE,
}


class ApiError(Exception):
    """An answer other than success, raised anywhere below a route."""

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        details: Iterable[ErrorDetail] = (),
        *,
        max_bytes: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.details = list(details)
        self.max_bytes = max_bytes
        self.headers = dict(headers or {})


def validation_error(details: Sequence[ErrorDetail], message: str | None = None) -> ApiError:
    """A 422 VALIDATION_ERROR listing every problem."""
    if message is None:
        first = details[0]
        where = ".".join(str(part) for part in first.loc)
        more = f" (and {len(details) - 1} more)" if len(details) > 1 else ""
        message = f"{where}: {first.msg}{more}"
    return ApiError(422, VALIDATION_ERROR, message, details)


def error_response(
    status_code: int,
    code: str,
    message: str,
    details: Iterable[ErrorDetail] = (),
    *,
    max_bytes: int | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = ErrorResponse(
        error=ErrorBody(
            code=code,
            message=message,
            request_id=current_request_id(),
            details=list(details),
            max_bytes=max_bytes,
        )
    )
    level = logging.ERROR if status_code >= 500 else logging.INFO
    extra = {"request_id": body.error.request_id, "status": status_code}
    logger.log(level, "%s %s: %s", status_code, code, message, extra=extra)
    return JSONResponse(
        body.model_dump(mode="json", exclude_none=True),
        status_code=status_code,
        headers=dict(headers or {}),
    )


def _detail(error: Mapping[str, Any]) -> ErrorDetail:
    loc = [part if isinstance(part, int) else str(part) for part in error.get("loc", ())]
    return ErrorDetail(loc=loc, msg=str(error.get("msg", "")), type=str(error.get("type", "")))


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(
        exc.status_code,
        exc.code,
        exc.message,
        exc.details,
        max_bytes=exc.max_bytes,
        headers=exc.headers,
    )


async def _request_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [_detail(error) for error in exc.errors()]
    if not details:  # pragma: no cover - FastAPI always lists at least one
        details = [ErrorDetail(loc=[], msg="invalid request", type="value_error")]
    error = validation_error(details)
    return error_response(422, error.code, error.message, error.details)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:  # FastAPI's "error parsing the body" (not UTF-8, say)
        detail = ErrorDetail(loc=["body"], msg=str(exc.detail), type="body_parsing")
        return error_response(422, VALIDATION_ERROR, f"body: {exc.detail}", [detail])
    code = _HTTP_CODES.get(exc.status_code, "HTTP_ERROR")
    return error_response(
        exc.status_code, code, str(exc.detail), headers=getattr(exc, "headers", None)
    )


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    logger.exception(
        "unexpected error on %s %s",
        request.method,
        request.url.path,
        extra={"request_id": current_request_id()},
    )
    return error_response(500, INTERNAL_ERROR, "internal error: quote the request id")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _request_validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
