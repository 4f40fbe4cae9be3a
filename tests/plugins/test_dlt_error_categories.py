"""Failures a retry cannot fix are not TRANSIENT: a database that does not exist, credentials
the server refuses, a primary key column the data does not have."""

from __future__ import annotations

import pytest
from dlt.common.schema.exceptions import UnboundColumnException
from dlt.extract.exceptions import ResourceExtractionError

from plugins.base import ErrorCategory
from plugins.dlt.errors import to_ingestion_error

pytestmark = pytest.mark.unit


class OperationalError(Exception):
    """Stands in for sqlalchemy's / psycopg's (classified by class name)."""


def _wrapped(exc: BaseException) -> BaseException:
    outer = ResourceExtractionError("events", None, "extract failed", "generator")
    outer.__cause__ = exc
    return outer


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            'connection to server at "db", port 5432 failed: FATAL:  database "shop" does not '
            "exist",
            (ErrorCategory.CONFIGURATION, "DATABASE_NOT_FOUND"),
        ),
        (
            "(1049, \"Unknown database 'shop'\")",
            (ErrorCategory.CONFIGURATION, "DATABASE_NOT_FOUND"),
        ),
        (
            'FATAL:  password authentication failed for user "u"',
            (ErrorCategory.PERMANENT, "AUTH_FAILED"),
        ),
        ('FATAL:  role "nobody" does not exist', (ErrorCategory.PERMANENT, "AUTH_FAILED")),
        (
            'connection to server at "db" failed: Connection refused',
            (ErrorCategory.TRANSIENT, "NETWORK_ERROR"),
        ),
    ],
    ids=["postgres-no-database", "mysql-no-database", "bad-password", "no-role", "refused"],
)
def test_database_connection_failures_by_cause(
    message: str, expected: tuple[ErrorCategory, str]
) -> None:
    error = to_ingestion_error(_wrapped(OperationalError(message)), source="events")
    assert (error.category, error.code) == expected
    assert error.retryable is (expected[0] == ErrorCategory.TRANSIENT)


def test_a_primary_key_column_without_values_is_primary_key_missing() -> None:
    columns = [{"name": "order_id_qty", "primary_key": True, "nullable": False}]
    exc = UnboundColumnException("floe_orders", "orders", columns)  # type: ignore[arg-type]

    error = to_ingestion_error(exc, source="orders")

    assert (error.category, error.code) == (ErrorCategory.PERMANENT, "PRIMARY_KEY_MISSING")
    assert "order_id_qty" in error.message and "primary_key" in error.message
