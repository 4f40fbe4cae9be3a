"""Sources referenced as ``dlt_test_sources:<function>`` by the dlt plugin tests.

Kept in a module of their own (not the test files) because the plugin imports them by name,
the way it imports a user's ``package.module:function`` source.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import dlt
import pyarrow as pa
import requests


def rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A plain function returning rows: the plugin wraps it in a resource named after the table."""
    return rows


_TAGS = pa.struct([pa.field("kind", pa.string()), pa.field("level", pa.int32())])


def typed(ids: list[int], version: int = 1, with_note: bool = False) -> pa.Table:
    """Arrow rows of many types, as a source that hands dlt Arrow would: ints, a float,
    strings, a UTC timestamp, a date, a nested struct, a list, and nulls in each of them.

    A row's values follow from its id and `version` (a later version changes every non-key
    value, for merges); `with_note` adds a column (for schema evolution)."""
    start = datetime(2024, 1, 1, tzinfo=UTC)

    def nullable(i: int, value: Any) -> Any:
        return None if i % 3 == 0 else value

    columns: dict[str, pa.Array] = {
        "Id": pa.array(ids, pa.int64()),
        "Steps": pa.array([nullable(i, i * 100 + version) for i in ids], pa.int32()),
        "Score": pa.array([nullable(i, i * 1.5 + version) for i in ids], pa.float64()),
        "Name": pa.array([nullable(i, f"name {i} v{version}") for i in ids], pa.string()),
        "HappenedAt": pa.array(
            [nullable(i, start + timedelta(days=i, minutes=version)) for i in ids],
            pa.timestamp("us", tz="UTC"),
        ),
        "Day": pa.array([nullable(i, date(2024, 1, 1) + timedelta(days=i)) for i in ids]),
        "Tags": pa.array(
            [nullable(i, {"kind": f"k{version}", "level": None if i % 2 else i}) for i in ids],
            _TAGS,
        ),
        "Samples": pa.array([nullable(i, [i, version, None]) for i in ids], pa.list_(pa.int64())),
    }
    if with_note:
        columns["Note"] = pa.array([nullable(i, f"note {i}") for i in ids], pa.string())
    return pa.table(columns)


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


def typed_wide_steps(ids: list[int]) -> pa.Table:
    """`typed`, with `Steps` widened from int32 to int64 (a source whose column grew)."""
    table = typed(ids, version=2)
    index = table.schema.get_field_index("Steps")
    return table.set_column(index, "Steps", table.column("Steps").cast(pa.int64()))


def nested_unsigned() -> pa.Table:
    """Unsigned ints inside a struct: Iceberg has no unsigned types."""
    stats = pa.StructArray.from_arrays(
        [pa.array([4_000_000_000], pa.uint32()), pa.array([7], pa.uint8())], names=["big", "small"]
    )
    return pa.table({"id": pa.array([1], pa.int64()), "stats": stats})


def nested_orders() -> list[dict[str, Any]]:
    """Rows with a nested list: with max_table_nesting > 0 dlt splits it into a child table."""
    return [{"order_id": 1, "items": [{"sku": "a", "qty": 2}, {"sku": "b", "qty": 1}]}]
