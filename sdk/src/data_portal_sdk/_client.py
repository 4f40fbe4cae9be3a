"""``DataPortalClient``: the usage layer over the generated low-level client.

The generated package (``data_portal_sdk._generated``, from platform_defs/api/openapi.json)
knows the paths, parameters and models. This layer adds what a producer should not have to
write: configuration from the environment, local validation, one idempotency key per push,
bounded retries, typed errors and splitting a push that is over the server's size limit.
"""

from __future__ import annotations

import json
import logging
import os
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import replace
from importlib.metadata import PackageNotFoundError, version
from types import TracebackType
from typing import Any, Self
from uuid import UUID

import httpx

from data_portal_sdk._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    ConfigurationError,
    DataPortalError,
    ErrorDetail,
    PayloadTooLargeError,
    ValidationError,
    error_from_response,
)
from data_portal_sdk._generated.api.usage_stats import push_usage_stats as _push_endpoint
from data_portal_sdk._generated.client import AuthenticatedClient as _GeneratedClient
from data_portal_sdk._generated.models import AssetStat as _AssetStatModel
from data_portal_sdk._generated.models import PushAccepted as _PushAcceptedModel
from data_portal_sdk._generated.models import QueryStat as _QueryStatModel
from data_portal_sdk._generated.models import UsageStatsPush as _UsageStatsPushModel
from data_portal_sdk._retry import RetryPolicy, is_retryable_status, retry_after_seconds
from data_portal_sdk._types import AssetStat, PushResult, QueryStat
from data_portal_sdk._validation import CleanPush, parse_uuid, utc_today, validate_push

__all__ = ["DataPortalClient"]

logger = logging.getLogger("data_portal_sdk")

API_KEY_ENV = "DATA_PORTAL_API_KEY"
BASE_URL_ENV = "DATA_PORTAL_BASE_URL"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
# Room for the per-day suffix ("/2026-11-30") under the server's 255-character limit.
_MAX_KEY_LENGTH = 200
_KEY_CHARS = re.compile(r"^[\x21-\x7e]+$")  # visible ASCII: safe in a header


def _sdk_version() -> str:
    try:
        return version("data-portal-sdk")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0"


class DataPortalClient:
    """Pushes an output port's daily usage stats to the data portal.

    ``api_key`` and ``base_url`` default to the environment variables
    ``DATA_PORTAL_API_KEY`` and ``DATA_PORTAL_BASE_URL``; a ``ConfigurationError`` says
    which one is missing. ``base_url`` is the portal's root (``https://portal.example.com``),
    without ``/api/v1``.

    ``max_retries`` (or a whole ``retry`` policy) bounds the retries of a push;
    ``max_body_bytes`` is the server's body limit when known in advance (it is also learnt
    from the first 413); ``transport`` replaces httpx's network transport (tests, proxies).

    Use it as a context manager, or call ``close()``, to release its connections.
    """

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int | None = None,
        retry: RetryPolicy | None = None,
        max_body_bytes: int | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        api_key = api_key if api_key is not None else os.environ.get(API_KEY_ENV)
        base_url = base_url if base_url is not None else os.environ.get(BASE_URL_ENV)
        if not api_key or not api_key.strip():
            raise ConfigurationError(
                f"no API key: pass api_key=... or set {API_KEY_ENV} "
                "(keys are made with `floe api create-key`)"
            )
        if any(c.isspace() for c in api_key) or not api_key.isprintable():
            raise ConfigurationError("the API key contains whitespace or control characters")
        if not base_url:
            raise ConfigurationError(
                f"no base URL: pass base_url=... or set {BASE_URL_ENV} "
                "(e.g. https://portal.example.com)"
            )
        try:
            url = httpx.URL(base_url)
        except httpx.InvalidURL as exc:
            raise ConfigurationError(f"base_url {base_url!r} is not a URL: {exc}") from exc
        if url.scheme not in ("http", "https") or not url.host:
            raise ConfigurationError(
                f"base_url {base_url!r} must be an http(s) URL such as https://portal.example.com"
            )
        if max_body_bytes is not None and max_body_bytes <= 0:
            raise ConfigurationError(f"max_body_bytes must be > 0, got {max_body_bytes}")

        policy = retry or RetryPolicy()
        self.retry = replace(policy, max_retries=max_retries) if max_retries is not None else policy
        self.base_url = str(url).rstrip("/")
        self.max_body_bytes = max_body_bytes
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={
                "Authorization": f"Bearer {api_key}",
                "User-Agent": f"data-portal-sdk/{_sdk_version()} httpx/{httpx.__version__}",
                "Accept": "application/json",
            },
            timeout=timeout,
            transport=transport,
            # Raising the typed error here, before the generated code parses the body, keeps
            # a proxy's HTML 413 or 502 from becoming a JSON decoding error.
            event_hooks={"response": [_raise_for_status]},
        )
        # Ours carries the Authorization header already: the generated client only builds
        # requests and parses answers.
        self._api = _GeneratedClient(base_url=self.base_url, token=api_key).set_httpx_client(
            self._http
        )

    # -- lifecycle -----------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:  # never show the key
        return f"DataPortalClient(base_url={self.base_url!r})"

    # -- the one method ------------------------------------------------------------------

    def push_usage_stats(
        self,
        id: str | UUID,
        query_stats: Iterable[QueryStat | Mapping[str, Any]],
        asset_stats: Iterable[AssetStat | Mapping[str, Any]] = (),
        *,
        idempotency_key: str | None = None,
    ) -> PushResult:
        """Push one or more days of usage stats of output port ``id``, committed atomically.

        ``query_stats`` and ``asset_stats`` are lists of ``QueryStat``/``AssetStat`` or of
        dicts with the same keys. For every date in them, the port's rows of that date in
        both tables are replaced by these. The push is validated first (``ValidationError``
        naming each bad row and field; nothing is sent), then sent with one Idempotency-Key
        that every retry reuses, so a retried push is committed once.

        Pass ``idempotency_key`` to make re-runs of the same job idempotent across processes
        (e.g. ``f"{dag_run_id}:{port_id}"``); by default a new UUID is made per call. A push
        over the server's body limit is sent as one request per day, each atomic, with the
        key ``f"{idempotency_key}/{day}"``.
        """
        port_id = parse_uuid(id)
        if port_id is None:
            raise ValidationError.from_details(
                [ErrorDetail(("id",), f"must be an output port UUID, got {id!r}", "uuid_type")]
            )
        push = validate_push(query_stats, asset_stats, today=utc_today())
        key = _idempotency_key(idempotency_key)

        dates = push.dates
        if len(dates) > 1 and self.max_body_bytes is not None:
            if len(_encode(push)) > self.max_body_bytes:
                return self._push_per_day(port_id, push, key)
        try:
            accepted, replayed = self._send(port_id, push, key)
        except PayloadTooLargeError as exc:
            if exc.max_bytes is not None:
                self.max_body_bytes = exc.max_bytes
            if len(dates) < 2:
                raise
            logger.info(
                "push of %d days is over the server's limit (%s bytes): one request per day",
                len(dates),
                exc.max_bytes,
            )
            return self._push_per_day(port_id, push, key)
        return PushResult(
            push_ids=(accepted.push_id,),
            output_port_id=accepted.output_port_id,
            dates=tuple(accepted.dates),
            query_stats_rows=accepted.query_stats_rows,
            asset_stats_rows=accepted.asset_stats_rows,
            idempotency_key=key,
            replayed=replayed,
        )

    # -- internals -----------------------------------------------------------------------

    def _push_per_day(self, port_id: UUID, push: CleanPush, key: str) -> PushResult:
        # Each day's key is derived from the push's key, so a retry of the whole push (same
        # key) replays the days already committed instead of committing them again.
        answers = []
        for day in push.dates:
            try:
                answers.append(self._send(port_id, push.day(day), f"{key}/{day.isoformat()}"))
            except PayloadTooLargeError as exc:
                exc.message = f"{exc.message} (the rows of {day} alone are over the limit)"
                exc.args = (exc.message,)
                raise
        return PushResult(
            push_ids=tuple(a.push_id for a, _ in answers),
            output_port_id=port_id,
            dates=tuple(d for a, _ in answers for d in a.dates),
            query_stats_rows=sum(a.query_stats_rows for a, _ in answers),
            asset_stats_rows=sum(a.asset_stats_rows for a, _ in answers),
            idempotency_key=key,
            replayed=all(r for _, r in answers),
        )

    def _send(self, port_id: UUID, push: CleanPush, key: str) -> tuple[_PushAcceptedModel, bool]:
        """One request, retried per the policy; the committed answer and whether it was a
        replay of an earlier attempt's."""
        body = _model(push)
        retries = 0
        while True:
            # A new X-Request-Id per attempt: each attempt is its own line in the server's
            # logs; the Idempotency-Key is what ties the attempts of one push together.
            request_id = str(uuid.uuid4())
            try:
                response = _push_endpoint.sync_detailed(
                    port_id,
                    client=self._api,
                    body=body,
                    idempotency_key=key,
                    x_request_id=request_id,
                )
            except APIStatusError as exc:
                error: DataPortalError = exc
                retryable = is_retryable_status(exc.status_code or 0, exc.code)
                wait_hint = retry_after_seconds(exc.response) if exc.response is not None else None
            except httpx.TimeoutException as exc:
                error = APITimeoutError(
                    f"request timed out ({type(exc).__name__}: {exc}) (request id {request_id})",
                    request_id=request_id,
                )
                error.__cause__ = exc
                retryable, wait_hint = True, None
            except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                # Connection refused or reset, or the server died mid-answer: whether it
                # committed is unknown, which the idempotency key makes safe to retry.
                error = APIConnectionError(
                    f"connection error ({type(exc).__name__}: {exc}) (request id {request_id})",
                    request_id=request_id,
                )
                error.__cause__ = exc
                retryable, wait_hint = True, None
            except httpx.TransportError as exc:  # bad proxy, unsupported protocol: permanent
                raise APIConnectionError(
                    f"cannot reach {self.base_url} ({type(exc).__name__}: {exc})",
                    request_id=request_id,
                ) from exc
            except (ValueError, KeyError, TypeError) as exc:
                # A 2xx the generated model cannot read (not the API, or another version).
                raise DataPortalError(
                    f"unreadable answer to a push ({type(exc).__name__}: {exc}) "
                    f"(request id {request_id})"
                ) from exc
            else:
                parsed = response.parsed
                if not isinstance(parsed, _PushAcceptedModel):
                    raise DataPortalError(
                        f"unexpected answer {response.status_code} to a push "
                        f"(request id {response.headers.get('x-request-id', request_id)})"
                    )
                replayed = response.headers.get("idempotent-replayed", "").lower() == "true"
                return parsed, replayed

            if not retryable or retries >= self.retry.max_retries:
                raise error
            delay = self.retry.delay(retries, wait_hint)
            retries += 1
            logger.warning(
                "push to output port %s failed (%s); retry %d of %d in %.2fs",
                port_id,
                error.message.splitlines()[0],
                retries,
                self.retry.max_retries,
                delay,
            )
            self.retry.sleep(delay)


def _raise_for_status(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    response.read()
    sent = response.request.headers.get("x-request-id")
    raise error_from_response(response, sent_request_id=sent)


def _idempotency_key(given: str | None) -> str:
    if given is None:
        return str(uuid.uuid4())
    if not 1 <= len(given) <= _MAX_KEY_LENGTH or not _KEY_CHARS.match(given):
        raise ValidationError.from_details(
            [
                ErrorDetail(
                    ("idempotency_key",),
                    f"must be 1 to {_MAX_KEY_LENGTH} visible ASCII characters, got {given!r}",
                    "string_type",
                )
            ]
        )
    return given


def _model(push: CleanPush) -> _UsageStatsPushModel:
    return _UsageStatsPushModel(
        query_stats=[
            _QueryStatModel(date=r.date, consumer_id=r.consumer_id, query_count=r.query_count)
            for r in push.query_stats
        ],
        asset_stats=[
            _AssetStatModel(
                date=r.date,
                tech_asset_id=r.tech_asset_id,
                consumer_id=r.consumer_id,
                query_count=r.query_count,
            )
            for r in push.asset_stats
        ],
    )


def _encode(push: CleanPush) -> bytes:
    """The body as httpx sends it (``json=``: compact, UTF-8), to compare with a limit."""
    return json.dumps(
        _model(push).to_dict(), ensure_ascii=False, separators=(",", ":"), allow_nan=False
    ).encode("utf-8")
