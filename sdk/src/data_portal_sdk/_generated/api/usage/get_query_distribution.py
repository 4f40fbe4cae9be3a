import datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_response import ErrorResponse
from ...models.query_distribution import QueryDistribution
from ...types import UNSET, Response, Unset


def _get_kwargs(
    output_port_id: UUID,
    *,
    start: datetime.date | None | Unset = UNSET,
    end: datetime.date | None | Unset = UNSET,
    top: int | Unset = 10,
    x_request_id: None | str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(x_request_id, Unset):
        headers["X-Request-Id"] = x_request_id

    params: dict[str, Any] = {}

    json_start: None | str | Unset
    if isinstance(start, Unset):
        json_start = UNSET
    elif isinstance(start, datetime.date):
        json_start = start.isoformat()
    else:
        json_start = start
    params["start"] = json_start

    json_end: None | str | Unset
    if isinstance(end, Unset):
        json_end = UNSET
    elif isinstance(end, datetime.date):
        json_end = end.isoformat()
    else:
        json_end = end
    params["end"] = json_end

    params["top"] = top

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/output-ports/{output_port_id}/usage/query-distribution".format(
            output_port_id=quote(str(output_port_id), safe=""),
        ),
        "params": params,
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorResponse | QueryDistribution | None:
    if response.status_code == 200:
        response_200 = QueryDistribution.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = ErrorResponse.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = ErrorResponse.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = ErrorResponse.from_dict(response.json())

        return response_404

    if response.status_code == 422:
        response_422 = ErrorResponse.from_dict(response.json())

        return response_422

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ErrorResponse | QueryDistribution]:
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
    start: datetime.date | None | Unset = UNSET,
    end: datetime.date | None | Unset = UNSET,
    top: int | Unset = 10,
    x_request_id: None | str | Unset = UNSET,
) -> Response[ErrorResponse | QueryDistribution]:
    """Queries per consumer: the top N and the rest

     Consumers with queries in the window, ranked; consumers with none are absent.

    Args:
        output_port_id (UUID): The output port.
        start (datetime.date | None | Unset): First day of the window (default: 29 days before
            `end`).
        end (datetime.date | None | Unset): Last day of the window (default: the port's latest
            reported day).
        top (int | Unset): How many consumers to list. Default: 10.
        x_request_id (None | str | Unset): Your id for this request (1-128 of A-Za-z0-9._:-),
            echoed in the response header and error bodies; one is made when absent or unusable.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | QueryDistribution]
    """

    kwargs = _get_kwargs(
        output_port_id=output_port_id,
        start=start,
        end=end,
        top=top,
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
    start: datetime.date | None | Unset = UNSET,
    end: datetime.date | None | Unset = UNSET,
    top: int | Unset = 10,
    x_request_id: None | str | Unset = UNSET,
) -> ErrorResponse | QueryDistribution | None:
    """Queries per consumer: the top N and the rest

     Consumers with queries in the window, ranked; consumers with none are absent.

    Args:
        output_port_id (UUID): The output port.
        start (datetime.date | None | Unset): First day of the window (default: 29 days before
            `end`).
        end (datetime.date | None | Unset): Last day of the window (default: the port's latest
            reported day).
        top (int | Unset): How many consumers to list. Default: 10.
        x_request_id (None | str | Unset): Your id for this request (1-128 of A-Za-z0-9._:-),
            echoed in the response header and error bodies; one is made when absent or unusable.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | QueryDistribution
    """

    return sync_detailed(
        output_port_id=output_port_id,
        client=client,
        start=start,
        end=end,
        top=top,
        x_request_id=x_request_id,
    ).parsed


async def asyncio_detailed(
    output_port_id: UUID,
    *,
    client: AuthenticatedClient,
    start: datetime.date | None | Unset = UNSET,
    end: datetime.date | None | Unset = UNSET,
    top: int | Unset = 10,
    x_request_id: None | str | Unset = UNSET,
) -> Response[ErrorResponse | QueryDistribution]:
    """Queries per consumer: the top N and the rest

     Consumers with queries in the window, ranked; consumers with none are absent.

    Args:
        output_port_id (UUID): The output port.
        start (datetime.date | None | Unset): First day of the window (default: 29 days before
            `end`).
        end (datetime.date | None | Unset): Last day of the window (default: the port's latest
            reported day).
        top (int | Unset): How many consumers to list. Default: 10.
        x_request_id (None | str | Unset): Your id for this request (1-128 of A-Za-z0-9._:-),
            echoed in the response header and error bodies; one is made when absent or unusable.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | QueryDistribution]
    """

    kwargs = _get_kwargs(
        output_port_id=output_port_id,
        start=start,
        end=end,
        top=top,
        x_request_id=x_request_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    output_port_id: UUID,
    *,
    client: AuthenticatedClient,
    start: datetime.date | None | Unset = UNSET,
    end: datetime.date | None | Unset = UNSET,
    top: int | Unset = 10,
    x_request_id: None | str | Unset = UNSET,
) -> ErrorResponse | QueryDistribution | None:
    """Queries per consumer: the top N and the rest

     Consumers with queries in the window, ranked; consumers with none are absent.

    Args:
        output_port_id (UUID): The output port.
        start (datetime.date | None | Unset): First day of the window (default: 29 days before
            `end`).
        end (datetime.date | None | Unset): Last day of the window (default: the port's latest
            reported day).
        top (int | Unset): How many consumers to list. Default: 10.
        x_request_id (None | str | Unset): Your id for this request (1-128 of A-Za-z0-9._:-),
            echoed in the response header and error bodies; one is made when absent or unusable.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | QueryDistribution
    """

    return (
        await asyncio_detailed(
            output_port_id=output_port_id,
            client=client,
            start=start,
            end=end,
            top=top,
            x_request_id=x_request_id,
        )
    ).parsed
