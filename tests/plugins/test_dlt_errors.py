"""The dlt exception -> ADR-0020 mapping, link by link (no pipeline run needed)."""

from __future__ import annotations

import pytest
import requests
from dlt.common.schema.exceptions import SchemaCorruptedException
from dlt.extract.exceptions import ResourceExtractionError
from pyiceberg.exceptions import CommitFailedException

from plugins.base import ErrorCategory, PermanentIngestionError
from plugins.dlt.errors import SourceFileError, to_ingestion_error

pytestmark = pytest.mark.unit


def _http_error(status: int, **headers: str) -> requests.HTTPError:
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers)
    return requests.HTTPError(f"{status} error", response=response)


def _wrapped(inner: BaseException) -> BaseException:
    """How dlt hands a source failure back: ResourceExtractionError from the real one."""
    try:
        try:
            raise inner
        except BaseException as exc:
            raise ResourceExtractionError("items", None, str(exc), "generator") from exc
    except ResourceExtractionError as outer:
        return outer


@pytest.mark.parametrize(
    ("exc", "category", "code"),
    [
        (_http_error(503), ErrorCategory.TRANSIENT, "NETWORK_ERROR"),
        (_http_error(401), ErrorCategory.PERMANENT, "AUTH_FAILED"),
        (_http_error(404), ErrorCategory.PERMANENT, "SOURCE_NOT_FOUND"),
        (_http_error(400), ErrorCategory.PERMANENT, "HTTP_ERROR"),
        (TimeoutError("read timed out"), ErrorCategory.TRANSIENT, "NETWORK_ERROR"),
        (requests.ConnectionError("dns"), ErrorCategory.TRANSIENT, "NETWORK_ERROR"),
        (CommitFailedException("conflict"), ErrorCategory.TRANSIENT, "COMMIT_CONFLICT"),
        (SchemaCorruptedException("items", "bad"), ErrorCategory.PERMANENT, "SCHEMA_CORRUPTION"),
        (ModuleNotFoundError("no module x"), ErrorCategory.CONFIGURATION, "SOURCE_IMPORT_FAILED"),
        (KeyError("weird"), ErrorCategory.PERMANENT, "UNEXPECTED_ERROR"),
    ],
)
def test_wrapped_exceptions_map_to_adr_0020(
    exc: BaseException, category: ErrorCategory, code: str
) -> None:
    error = to_ingestion_error(_wrapped(exc), source="items")
    assert (error.category, error.code) == (category, code)
    assert error.retryable is (category == ErrorCategory.TRANSIENT)


def test_retry_after_as_http_date() -> None:
    error = to_ingestion_error(
        _http_error(429, **{"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"}), source="x"
    )
    assert error.code == "RATE_LIMITED" and error.retry_after_seconds > 0


def test_unknown_errors_keep_type_and_message() -> None:
    error = to_ingestion_error(_wrapped(ZeroDivisionError("division by zero")), source="x")
    assert error.details["exception_type"] == "ZeroDivisionError"
    assert error.details["exception_message"] == "division by zero"
    assert "ZeroDivisionError" in error.message


def test_file_errors_name_the_file_and_network_errors_pass_through() -> None:
    missing = SourceFileError("s3://bucket/a.csv", FileNotFoundError("a.csv"))
    assert to_ingestion_error(missing, source="x").code == "SOURCE_NOT_FOUND"
    network = SourceFileError("s3://bucket/a.csv", ConnectionResetError("reset"))
    assert to_ingestion_error(network, source="x").category == ErrorCategory.TRANSIENT


def test_our_own_errors_pass_through_and_secrets_are_masked() -> None:
    own = PermanentIngestionError("SCHEMA_MISMATCH", "column x: token abc123", source="x")
    error = to_ingestion_error(_wrapped(own), source="x", secrets={"token": "abc123"})
    assert error.code == "SCHEMA_MISMATCH"
    assert "abc123" not in error.message and "abc123" not in str(error)


def test_invalid_options_are_configuration_errors() -> None:
    from pydantic import ValidationError

    from plugins.dlt.options import FilesystemConfig

    with pytest.raises(ValidationError) as caught:
        FilesystemConfig.model_validate({"bucket_url": ".", "format": "xlsx"})
    error = to_ingestion_error(caught.value, source="x")
    assert (error.category, error.code) == (ErrorCategory.CONFIGURATION, "INVALID_CONFIG")
    assert "format" in error.message
