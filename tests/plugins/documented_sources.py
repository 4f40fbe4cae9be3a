"""Custom sources referenced as ``documented_sources:<function>`` from the YAML tests.

A module of its own because floe imports it by name, like a user's package.module:function.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dlt


def orders(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A plain function returning rows (the plugin names the resource after the table)."""
    return rows


@dlt.source(name="shop")
def shop() -> Any:
    @dlt.resource
    def orders() -> Iterator[dict[str, Any]]:
        yield {"order_id": 1, "amount": 10.0}

    @dlt.resource
    def customers() -> Iterator[dict[str, Any]]:
        yield {"customer_id": 7, "name": "ada"}

    return orders, customers


@dlt.source
def keyed(api_key: str = dlt.secrets.value) -> Any:
    """Needs a secret argument: floe passes it from `secret_refs`."""

    @dlt.resource(name="keyed")
    def items() -> Iterator[dict[str, Any]]:
        yield {"key_length": len(api_key)}

    return items


@dlt.source
def files_at(path: str = "landing/default") -> Any:
    """An argument named like an environment variable ($PATH): dlt would fill it from there."""

    @dlt.resource(name="files_at")
    def items() -> Iterator[dict[str, Any]]:
        yield {"path": path}

    return items


@dlt.source
def files_in(path: str, limit: int = 10) -> Any:
    """A required argument: floe.yaml must give it, the environment never does."""

    @dlt.resource(name="files_in")
    def items() -> Iterator[dict[str, Any]]:
        yield {"path": path, "limit": limit}

    return items


@dlt.resource(name="counted")
def counted(path: str = "default", count: int = 2) -> Iterator[dict[str, Any]]:
    """A @dlt.resource function: injected like a source's arguments."""
    yield from ({"i": i, "path": path} for i in range(count))


def through_dlt_requests(url: str) -> Any:
    """A custom source calling its API through dlt's shared HTTP client."""
    from dlt.sources.helpers import requests

    @dlt.resource(name="through_dlt_requests")
    def items() -> Iterator[dict[str, Any]]:
        yield from requests.get(url).json()

    return items


@dlt.source
def tagged(tag: str | None = dlt.config.value) -> Any:
    """An optional argument dlt would look up in its config ($TAG included)."""

    @dlt.resource(name="tagged")
    def items() -> Iterator[dict[str, Any]]:
        yield {"id": 1, "tag": tag or "untagged"}

    return items
