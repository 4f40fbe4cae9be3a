"""Sources referenced as ``dlt_test_sources:<function>`` by the dlt plugin tests.

Kept in a module of their own (not the test files) because the plugin imports them by name,
the way it imports a user's ``package.module:function`` source.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dlt
import requests


def rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A plain function returning rows: the plugin wraps it in a resource named after the table."""
    return rows


@dlt.resource(name="people")
def people(count: int = 3, offset: int = 0) -> Iterator[list[dict[str, Any]]]:
    yield [
        {"PersonId": i, "FullName": f"person {i}", "Score": i * 1.5}
        for i in range(offset, offset + count)
    ]


@dlt.source(name="shop")
def shop() -> Any:
    @dlt.resource
    def orders() -> Iterator[dict[str, Any]]:
        yield {"order_id": 1, "amount": 10.0}

    @dlt.resource
    def customers() -> Iterator[dict[str, Any]]:
        yield {"customer_id": 1, "name": "ada"}

    return orders, customers


@dlt.resource(name="flaky")
def unreachable_api() -> Iterator[dict[str, Any]]:
    raise ConnectionError("connection refused by api.example.com:443")
    yield {}  # pragma: no cover - makes this a generator


@dlt.resource(name="limited")
def rate_limited_api() -> Iterator[dict[str, Any]]:
    response = requests.Response()
    response.status_code = 429
    response.headers["Retry-After"] = "30"
    response.url = "https://api.example.com/v1/items"
    raise requests.HTTPError("429 Too Many Requests", response=response)
    yield {}  # pragma: no cover


def leaky(token: str) -> Any:
    """Fails with the secret in its message: the plugin must mask it."""

    @dlt.resource(name="leaky")
    def items() -> Iterator[dict[str, Any]]:
        raise RuntimeError(f"server rejected token {token}")
        yield {}  # pragma: no cover

    return items


@dlt.source
def needs_api_key(api_key: str = dlt.secrets.value) -> Any:
    @dlt.resource
    def things() -> Iterator[dict[str, Any]]:
        yield {"key_length": len(api_key)}

    return things
