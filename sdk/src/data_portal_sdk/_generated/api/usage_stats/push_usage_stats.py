from http import HTTPStatus
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_response import ErrorResponse
from ...models.push_accepted import PushAccepted
from ...models.usage_stats_push import UsageStatsPush
from ...types import UNSET, Response, Unset


def _get_kwargs(
    output_port_id: UUID,
    *,
    body: UsageStatsPush,
    idempotency_key: None | str | Unset = UNSET,
    x_request_id: None | str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    if not isinstance(x_request_id, Unset):
        headers["X-Request-Id"] = x_request_id

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v1/output-ports/{output_port_id}/usage-stats".format(
            output_port_id=quote(str(output_port_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorResponse | PushAccepted | None:
    if response.status_code == 202:
        response_202 = PushAccepted.from_dict(response.json())

        return response_202

    if response.status_code == 401:
        response_401 = ErrorResponse.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = ErrorResponse.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = ErrorResponse.from_dict(response.json())

        return response_404

    if response.status_code == 409:
        response_409 = ErrorResponse.from_dict(response.json())

        return response_409

    if response.status_code == 413:
        response_413 = ErrorResponse.from_dict(response.json())

        return response_413

    if response.status_code == 422:
        response_422 = ErrorResponse.from_dict(response.json())

        return response_422

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ErrorResponse | PushAccepted]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    output_port_id: UUID,
    *,
    client: AuthenticatedClient,
    body: UsageStatsPush,
    idempotency_key: None | str | Unset = UNSET,
    x_request_id: None | str | Unset = UNSET,
) -> Response[ErrorResponse | PushAccepted]:
    """Push daily usage stats of an output port

     Replace the port's rows of every date in the push, in both tables, in one transaction.

    The push covers the dates in either list; for each, the stored rows of both tables are
    replaced by the pushed ones. Nothing is written unless everything is.

    Args:
        output_port_id (UUID): The output port the stats are about.
        idempotency_key (None | str | Unset): Makes retries safe: the same key and body get the
            first answer again; the same key with another body gets 422.
        x_request_id (None | str | Unset): Your id for this request (1-128 of A-Za-z0-9._:-),
            echoed in the response header and error bodies; one is made when absent or unusable.
        body (UsageStatsPush): One push: both payloads for one or more days, committed together or
            not at all.

            The push covers every date in either list; for each, the port's rows of that date in
            both tables are replaced by these.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | PushAccepted]
    """

    kwargs = _get_kwargs(
        output_port_id=output_port_id,
        body=body,
        idempotency_key=idempotency_key,
        x_request_id=x_request_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    output_port_id: UUID,
    *,
    client: AuthenticatedClient,
    body: UsageStatsPush,
    idempotency_key: None | str | Unset = UNSET,
    x_request_id: None | str | Unset = UNSET,
) -> ErrorResponse | PushAccepted | None:
    """Push daily usage stats of an output port

     Replace the port's rows of every date in the push, in both tables, in one transaction.

    The push covers the dates in either list; for each, the stored rows of both tables are
    replaced by the pushed ones. Nothing is written unless everything is.

    Args:
        output_port_id (UUID): The output port the stats are about.
        idempotency_key (None | str | Unset): Makes retries safe: the same key and body get the
            first answer again; the same key with another body gets 422.
        x_request_id (None | str | Unset): Your id for this request (1-128 of A-Za-z0-9._:-),
            echoed in the response header and error bodies; one is made when absent or unusable.
        body (UsageStatsPush): One push: both payloads for one or more days, committed together or
            not at all.

            The push covers every date in either list; for each, the port's rows of that date in
            both tables are replaced by these.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | PushAccepted
    """

    return sync_detailed(
        output_port_id=output_port_id,
        client=client,
        body=body,
        idempotency_key=idempotency_key,
        x_request_id=x_request_id,
    ).parsed


async def asyncio_detailed(
    output_port_id: UUID,
    *,
    client: AuthenticatedClient,
    body: UsageStatsPush,
    idempotency_key: None | str | Unset = UNSET,
    x_request_id: None | str | Unset = UNSET,
) -> Response[ErrorResponse | PushAccepted]:
    """Push daily usage stats of an output port

     Replace the port's rows of every date in the push, in both tables, in one transaction.

    The push covers the dates in either list; for each, the stored rows of both tables are
    replaced by the pushed ones. Nothing is written unless everything is.

    Args:
        output_port_id (UUID): The output port the stats are about.
        idempotency_key (None | str | Unset): Makes retries safe: the same key and body get the
            first answer again; the same key with another body gets 422.
        x_request_id (None | str | Unset): Your id for this request (1-128 of A-Za-z0-9._:-),
            echoed in the response header and error bodies; one is made when absent or unusable.
        body (UsageStatsPush): One push: both payloads for one or more days, committed together or
            not at all.

            The push covers every date in either list; for each, the port's rows of that date in
            both tables are replaced by these.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | PushAccepted]
    """

    kwargs = _get_kwargs(
        output_port_id=output_port_id,
        body=body,
        idempotency_key=idempotency_key,
        x_request_id=x_request_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    output_port_id: UUID,
    *,
    client: AuthenticatedClient,
    body: UsageStatsPush,
    idempotency_key: None | str | Unset = UNSET,
    x_request_id: None | str | Unset = UNSET,
) -> ErrorResponse | PushAccepted | None:
    """Push daily usage stats of an output port

     Replace the port's rows of every date in the push, in both tables, in one transaction.

    The push covers the dates in either list; for each, the stored rows of both tables are
    replaced by the pushed ones. Nothing is written unless everything is.

    Args:
        output_port_id (UUID): The output port the stats are about.
        idempotency_key (None | str | Unset): Makes retries safe: the same key and body get the
            first answer again; the same key with another body gets 422.
        x_request_id (None | str | Unset): Your id for this request (1-128 of A-Za-z0-9._:-),
            echoed in the response header and error bodies; one is made when absent or unusable.
        body (UsageStatsPush): One push: both payloads for one or more days, committed together or
            not at all.

            The push covers every date in either list; for each, the port's rows of that date in
            both tables are replaced by these.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | PushAccepted
    """

    return (
        await asyncio_detailed(
            output_port_id=output_port_id,
            client=client,
            body=body,
            idempotency_key=idempotency_key,
            x_request_id=x_request_id,
        )
    ).parsed
