from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_response import ErrorResponse
from ...models.health import Health
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    x_request_id: None | str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(x_request_id, Unset):
        headers["X-Request-Id"] = x_request_id

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/healthz",
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorResponse | Health | None:
    if response.status_code == 200:
        response_200 = Health.from_dict(response.json())

        return response_200

    if response.status_code == 422:
        response_422 = ErrorResponse.from_dict(response.json())

        return response_422

    if response.status_code == 503:
        response_503 = ErrorResponse.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ErrorResponse | Health]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    x_request_id: None | str | Unset = UNSET,
) -> Response[ErrorResponse | Health]:
    """Liveness and ops-store check

     ``{"status": "ok"}`` when a query on the ops store succeeds, else 503.

    Args:
        x_request_id (None | str | Unset): Your id for this request (1-128 of A-Za-z0-9._:-),
            echoed in the response header and error bodies; one is made when absent or unusable.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | Health]
    """

    kwargs = _get_kwargs(
        x_request_id=x_request_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    x_request_id: None | str | Unset = UNSET,
) -> ErrorResponse | Health | None:
    """Liveness and ops-store check

     ``{"status": "ok"}`` when a query on the ops store succeeds, else 503.

    Args:
        x_request_id (None | str | Unset): Your id for this request (1-128 of A-Za-z0-9._:-),
            echoed in the response header and error bodies; one is made when absent or unusable.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | Health
    """

    return sync_detailed(
        client=client,
        x_request_id=x_request_id,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    x_request_id: None | str | Unset = UNSET,
) -> Response[ErrorResponse | Health]:
    """Liveness and ops-store check

     ``{"status": "ok"}`` when a query on the ops store succeeds, else 503.

    Args:
        x_request_id (None | str | Unset): Your id for this request (1-128 of A-Za-z0-9._:-),
            echoed in the response header and error bodies; one is made when absent or unusable.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | Health]
    """

    kwargs = _get_kwargs(
        x_request_id=x_request_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    x_request_id: None | str | Unset = UNSET,
) -> ErrorResponse | Health | None:
    """Liveness and ops-store check

     ``{"status": "ok"}`` when a query on the ops store succeeds, else 503.

    Args:
        x_request_id (None | str | Unset): Your id for this request (1-128 of A-Za-z0-9._:-),
            echoed in the response header and error bodies; one is made when absent or unusable.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | Health
    """

    return (
        await asyncio_detailed(
            client=client,
            x_request_id=x_request_id,
        )
    ).parsed
