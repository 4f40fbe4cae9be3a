"""Request ids: every response carries ``X-Request-Id``; logs and error bodies quote it.

A valid incoming ``X-Request-Id`` (1-128 of ``A-Za-z0-9._:-``) is echoed, so a client's id
follows its request through our logs; otherwise a new UUID is made. The id lives in a
context variable for the duration of the request: the error handlers and the log filter read
it from there.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from contextvars import ContextVar

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "X-Request-Id"
_VALID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_request_id: ContextVar[str] = ContextVar("floe_api_request_id", default="-")
access_logger = logging.getLogger("platform_defs.api.access")


def current_request_id() -> str:
    """The id of the request being handled (``-`` outside of one)."""
    return _request_id.get()


def accepted_request_id(value: str | None) -> str:
    """``value`` when it is a usable id, else a new UUID."""
    if value is not None and _VALID.match(value):
        return value
    return str(uuid.uuid4())


class RequestIdFilter(logging.Filter):
    """Adds ``record.request_id`` to every record (``-`` outside of a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        return True


class RequestIdMiddleware:
    """Outermost middleware: sets the id, adds the header, logs one access line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        request_id = accepted_request_id(incoming)
        token = _request_id.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            access_logger.info(
                "%s %s %s",
                scope.get("method"),
                scope.get("path"),
                status,
                extra={
                    "request_id": request_id,
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
            _request_id.reset(token)
