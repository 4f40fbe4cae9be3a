"""The request body limit: a body over ``max_body_bytes`` gets 413 before any route runs.

Checked twice: a ``Content-Length`` over the limit is refused unread, and a body sent without
one (chunked) is counted while it arrives and refused as soon as it passes the limit, so a
client cannot make the server buffer more than the limit either way.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from platform_defs.api.errors import PAYLOAD_TOO_LARGE, error_response


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = None
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = None
                break
        if declared is not None and declared > self.max_body_bytes:
            await self._refuse(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:  # buffered here, so the limit holds whatever the route does with it
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                await self.app(scope, _replay([message], receive), send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        await self.app(scope, _replay([{"type": "http.request", "body": body}], receive), send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(
            413,
            PAYLOAD_TOO_LARGE,
            f"the request body is larger than the limit of {self.max_body_bytes} bytes: "
            "split the push (one day per request)",
            max_bytes=self.max_body_bytes,
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)


def _replay(messages: list[Message], then: Receive) -> Receive:
    """The buffered messages, then the real channel (which reports a disconnect)."""
    pending = list(messages)

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        return await then()

    return receive
