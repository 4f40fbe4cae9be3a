"""The public surface: what `data_portal_sdk` exports, pinned (as httpx's
tests/test_exported_members.py does), and nothing of the platform imported."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import data_portal_sdk
import pytest

pytestmark = pytest.mark.unit

PUBLIC = {
    # the client and its records
    "DataPortalClient",
    "QueryStat",
    "AssetStat",
    "DailyUsageStats",
    "PushResult",
    "RetryPolicy",
    # collectors and their SQL
    "UsageStatsCollector",
    "SqlUsageStatsCollector",
    "ACCESS_LOG_QUERY_STATS_SQL",
    "ACCESS_LOG_ASSET_STATS_SQL",
    "SNOWFLAKE_ACCESS_LOG_SQL",
    "SNOWFLAKE_QUERY_STATS_SQL",
    "SNOWFLAKE_ASSET_STATS_SQL",
    # errors
    "DataPortalError",
    "ConfigurationError",
    "ValidationError",
    "ErrorDetail",
    "APIConnectionError",
    "APITimeoutError",
    "APIStatusError",
    "BadRequestError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "ConflictError",
    "PayloadTooLargeError",
    "UnprocessableEntityError",
    "RateLimitError",
    "InternalServerError",
}


def test_all_is_pinned_and_every_name_exists() -> None:
    assert set(data_portal_sdk.__all__) == PUBLIC
    assert len(data_portal_sdk.__all__) == len(PUBLIC)
    for name in data_portal_sdk.__all__:
        member = getattr(data_portal_sdk, name)
        if not name.isupper():
            assert member.__module__ == "data_portal_sdk", name


def test_no_other_public_names() -> None:
    public = {
        name
        for name in vars(data_portal_sdk)
        if not name.startswith("_") and not isinstance(getattr(data_portal_sdk, name), type(sys))
    }
    assert public == PUBLIC


def test_the_error_tree() -> None:
    sdk = data_portal_sdk
    assert issubclass(sdk.APITimeoutError, sdk.APIConnectionError)
    for name in ("ConfigurationError", "ValidationError", "APIConnectionError", "APIStatusError"):
        assert getattr(sdk, name).__bases__[0] is sdk.DataPortalError, name
    for name in ("BadRequestError", "AuthenticationError", "PermissionDeniedError",
                 "NotFoundError", "ConflictError", "PayloadTooLargeError", "RateLimitError",
                 "InternalServerError", "UnprocessableEntityError"):  # fmt: skip
        assert getattr(sdk, name).__bases__[0] is sdk.APIStatusError, name
    # A 422 is also a validation error: `except ValidationError` catches both sides.
    assert issubclass(sdk.UnprocessableEntityError, sdk.ValidationError)


def test_the_package_is_typed() -> None:
    assert (Path(data_portal_sdk.__file__).parent / "py.typed").is_file()


def test_the_sdk_imports_nothing_of_the_platform() -> None:
    code = (
        "import sys, data_portal_sdk\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'platform_defs', 'plugins', 'dagster', 'fastapi', 'pydantic', 'sqlalchemy'})\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
