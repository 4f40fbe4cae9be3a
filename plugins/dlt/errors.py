"""Map whatever a dlt run raises onto ADR-0020's error taxonomy.

dlt wraps a source's failure twice (``PipelineStepFailed`` -> ``ResourceExtractionError`` ->
the real exception), so we walk the whole chain (``.exception``, ``__cause__``,
``__context__``) and classify the first link we recognise, outermost first. Optional
libraries (requests, httpx, pandas, sqlalchemy, tenacity) are recognised by class name along
the MRO so this module imports none of them. See the table in ``plugins/dlt/README.md``.
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Iterator, Mapping
from typing import Any

from dlt.common.configuration.exceptions import ConfigFieldMissingException
from dlt.common.destination.exceptions import (
    DestinationTerminalException,
    DestinationTransientException,
)
from dlt.common.schema.exceptions import (
    DataValidationError,
    SchemaCorruptedException,
    UnboundColumnException,
)
from dlt.extract.exceptions import ResourceNotFoundError, ResourcesNotFoundError
from dlt.pipeline.exceptions import PipelineStepFailed
from pydantic import ValidationError
from pyiceberg.exceptions import CommitFailedException

from plugins.base import (
    ConfigurationIngestionError,
    IngestionError,
    PermanentIngestionError,
    TransientIngestionError,
)

_CREDENTIAL_WORDS = ("credential", "password", "token", "secret", "api_key", "apikey", "auth")


def is_credential_name(name: str) -> bool:
    """Whether a missing argument or config field is a credential (its absence: AUTH_FAILED)."""
    return any(word in name.lower() for word in _CREDENTIAL_WORDS)


_NETWORK_NAMES = {
    "ConnectionError",
    "ConnectTimeout",
    "ReadTimeout",
    "Timeout",
    "TimeoutError",
    "TimeoutException",
    "TransportError",
    "MaxRetryError",
    "NewConnectionError",
    "ProtocolError",
    "RetryError",
    "OperationalError",
    "InterfaceError",
}
_DATABASE_ERROR_NAMES = {"OperationalError", "InterfaceError", "DatabaseError"}
# What a database server says when the DSN names something that is not there or is refused:
# retrying cannot fix either (the drivers give no SQLSTATE for connection failures).
_DATABASE_NOT_FOUND = re.compile(r'database "[^"]*" does not exist|unknown database', re.I)
_DATABASE_AUTH_FAILED = re.compile(
    r"password authentication failed|role \"[^\"]*\" does not exist|no pg_hba\.conf entry"
    r"|access denied for user",
    re.I,
)
_UNREADABLE_NAMES = {
    "ParserError",
    "EmptyDataError",
    "UnicodeDecodeError",
    "JSONDecodeError",
    "DecodeError",
    "ArrowInvalid",
}


class SourceFileError(Exception):
    """A file of a filesystem source could not be read; carries the file's name."""

    def __init__(self, file_name: str, cause: BaseException) -> None:
        super().__init__(f"{file_name}: {type(cause).__name__}: {cause}")
        self.file_name = file_name
        self.cause = cause


def exception_chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything it wraps, outermost first, each once."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        wrapped = (
            getattr(current, "exception", None) if isinstance(current, PipelineStepFailed) else None
        )
        if isinstance(current, SourceFileError):
            wrapped = current.cause
        current = wrapped or current.__cause__ or current.__context__


def _mro_names(exc: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exc).__mro__}


def _status_code(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    code = getattr(response, "status_code", None)
    return code if isinstance(code, int) else None


def _retry_after(exc: BaseException) -> int | None:
    headers = getattr(getattr(exc, "response", None), "headers", None) or {}
    value = headers.get("Retry-After") if hasattr(headers, "get") else None
    if not value:
        return None
    if str(value).strip().isdigit():
        return int(str(value).strip())
    parsed = email.utils.parsedate_to_datetime(str(value))
    return max(0, int(parsed.timestamp() - time.time())) if parsed else None


def _classify(exc: BaseException, source: str) -> IngestionError | None:
    """The ingestion error for one link of the chain, or None when it is not specific."""
    name = type(exc).__name__
    detail: dict[str, Any] = {"exception_type": name}
    if isinstance(exc, IngestionError):
        return exc
    if isinstance(exc, SourceFileError):
        inner = exc.cause
        if isinstance(inner, FileNotFoundError):
            return PermanentIngestionError(
                "SOURCE_NOT_FOUND",
                f"file not found: {exc.file_name}",
                source=source,
                details={**detail, "file": exc.file_name},
            )
        if _mro_names(inner) & _UNREADABLE_NAMES:
            return PermanentIngestionError(
                "SOURCE_UNREADABLE",
                f"cannot parse {exc.file_name}: {type(inner).__name__}: {inner}",
                source=source,
                details={"exception_type": type(inner).__name__, "file": exc.file_name},
            )
        return None  # let the inner link (e.g. a network error) decide
    if isinstance(exc, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in exc.errors()
        )
        return ConfigurationIngestionError(
            "INVALID_CONFIG", f"invalid {exc.title} ({problems})", source=source, details=detail
        )
    if isinstance(exc, ResourcesNotFoundError | ResourceNotFoundError):
        return PermanentIngestionError("SOURCE_NOT_FOUND", str(exc), source=source, details=detail)
    if isinstance(exc, ConfigFieldMissingException):
        fields = list(exc.fields)
        message = f"missing configuration {', '.join(fields)} for {exc.spec_name}"
        if any(is_credential_name(field) for field in fields):
            return PermanentIngestionError(
                "AUTH_FAILED", message, source=source, details={**detail, "fields": fields}
            )
        return ConfigurationIngestionError(
            "CONFIG_MISSING", message, source=source, details={**detail, "fields": fields}
        )
    if isinstance(exc, UnboundColumnException):
        keys = [
            str(c.get("name")) for c in exc.columns if c.get("primary_key") or c.get("merge_key")
        ]
        if keys:
            return PermanentIngestionError(
                "PRIMARY_KEY_MISSING",
                f"primary_key column(s) {', '.join(keys)} of {exc.table_name} received no "
                "values: the rows have no such column (check primary_key's spelling)",
                source=source,
                details={**detail, "columns": keys},
            )
    if isinstance(exc, DataValidationError):  # the entry's `schema_contract` refused the load
        what = f"column {exc.column_name!r}" if exc.column_name else f"table {exc.table_name!r}"
        return PermanentIngestionError(
            "SCHEMA_CONTRACT_VIOLATION",
            f"the schema contract ({exc.schema_entity}: {exc.contract_mode}) refuses {what} "
            f"of {exc.table_name}: nothing of this load was committed",
            source=source,
            details={
                **detail,
                "entity": exc.schema_entity,
                "mode": exc.contract_mode,
                "table": exc.table_name,
                "column": exc.column_name,
            },
        )
    if isinstance(exc, SchemaCorruptedException):
        return PermanentIngestionError("SCHEMA_CORRUPTION", str(exc), source=source, details=detail)
    if isinstance(exc, CommitFailedException):
        return TransientIngestionError(
            "COMMIT_CONFLICT",
            f"Iceberg commit kept conflicting with concurrent writers: {exc}",
            source=source,
            details=detail,
        )
    if isinstance(exc, DestinationTransientException):
        return TransientIngestionError("DESTINATION_ERROR", str(exc), source=source, details=detail)
    if isinstance(exc, DestinationTerminalException):
        return ConfigurationIngestionError(
            "DESTINATION_CONFIG_ERROR", str(exc), source=source, details=detail
        )
    status = _status_code(exc)
    if status is not None:
        return _classify_http(exc, status, source, detail)
    names = _mro_names(exc)
    if names & _DATABASE_ERROR_NAMES:
        if _DATABASE_NOT_FOUND.search(str(exc)):
            return ConfigurationIngestionError(
                "DATABASE_NOT_FOUND", f"{name}: {exc}", source=source, details=detail
            )
        if _DATABASE_AUTH_FAILED.search(str(exc)):
            return PermanentIngestionError(
                "AUTH_FAILED", f"{name}: {exc}", source=source, details=detail
            )
    if names & _NETWORK_NAMES or isinstance(exc, ConnectionError | TimeoutError):
        return TransientIngestionError(
            "NETWORK_ERROR", f"{name}: {exc}", source=source, details=detail
        )
    if isinstance(exc, FileNotFoundError):
        target = exc.filename or str(exc)
        return PermanentIngestionError(
            "SOURCE_NOT_FOUND", f"file not found: {target}", source=source, details=detail
        )
    if names & _UNREADABLE_NAMES:
        return PermanentIngestionError(
            "SOURCE_UNREADABLE", f"{name}: {exc}", source=source, details=detail
        )
    if isinstance(exc, ImportError):
        return ConfigurationIngestionError(
            "SOURCE_IMPORT_FAILED", f"{name}: {exc}", source=source, details=detail
        )
    return None


def _classify_http(
    exc: BaseException, status: int, source: str, detail: dict[str, Any]
) -> IngestionError:
    detail = {**detail, "status_code": status}
    message = f"HTTP {status}: {exc}"
    if status == 429:
        return TransientIngestionError(
            "RATE_LIMITED",
            message,
            source=source,
            retry_after_seconds=_retry_after(exc),
            details=detail,
        )
    if status >= 500 or status == 408:
        return TransientIngestionError(
            "NETWORK_ERROR",
            message,
            source=source,
            retry_after_seconds=_retry_after(exc),
            details=detail,
        )
    if status in (401, 403):
        return PermanentIngestionError("AUTH_FAILED", message, source=source, details=detail)
    if status == 404:
        return PermanentIngestionError("SOURCE_NOT_FOUND", message, source=source, details=detail)
    return PermanentIngestionError("HTTP_ERROR", message, source=source, details=detail)


def to_ingestion_error(
    exc: BaseException, *, source: str, secrets: Mapping[str, str] | None = None
) -> IngestionError:
    """Classify ``exc`` (any depth of dlt wrapping); secrets are masked in the message."""
    chain = list(exception_chain(exc))
    error: IngestionError | None = None
    for link in chain:
        error = _classify(link, source)
        if error is not None:
            break
    if error is None:
        # the innermost link is the real failure; the wrappers only repeat it
        root = chain[-1]
        error = PermanentIngestionError(
            "UNEXPECTED_ERROR",
            f"{type(root).__name__}: {root}",
            source=source,
            details={
                "exception_type": type(root).__name__,
                "exception_message": str(root),
                "outer_exception_type": type(exc).__name__,
            },
        )
    step = getattr(exc, "step", None)
    if isinstance(exc, PipelineStepFailed) and step:
        error.details.setdefault("dlt_step", step)
    return redact_error(error, secrets or {})


def redact(text: str, secrets: Mapping[str, str]) -> str:
    for value in secrets.values():
        if value and len(value) >= 3:
            text = text.replace(value, "***")
    return text


def redact_error(error: IngestionError, secrets: Mapping[str, str]) -> IngestionError:
    """Mask secret values that leaked into an error's message or details (e.g. a DSN)."""
    if not secrets:
        return error
    error.message = redact(error.message, secrets)
    error.args = (redact(str(error.args[0]), secrets),) if error.args else ()
    error.details = {
        key: redact(value, secrets) if isinstance(value, str) else value
        for key, value in error.details.items()
    }
    return error
