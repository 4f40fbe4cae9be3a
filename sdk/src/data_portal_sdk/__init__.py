"""data-portal-sdk: push daily usage stats of an output port to the floe data portal.

    from data_portal_sdk import DataPortalClient

    client = DataPortalClient(api_key=..., base_url=...)  # or DATA_PORTAL_API_KEY/_BASE_URL
    client.push_usage_stats(id=port_id, query_stats=[...], asset_stats=[...])

Everything public is importable from here; the ``_``-prefixed modules are private and the
low-level client in ``data_portal_sdk._generated`` is generated from the API's OpenAPI
document (sdk/regenerate.py).
"""

from data_portal_sdk._client import DataPortalClient
from data_portal_sdk._collectors import (
    ACCESS_LOG_ASSET_STATS_SQL,
    ACCESS_LOG_QUERY_STATS_SQL,
    SNOWFLAKE_ACCESS_LOG_SQL,
    SNOWFLAKE_ASSET_STATS_SQL,
    SNOWFLAKE_QUERY_STATS_SQL,
    SqlUsageStatsCollector,
    UsageStatsCollector,
)
from data_portal_sdk._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    DataPortalError,
    ErrorDetail,
    InternalServerError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
    ValidationError,
)
from data_portal_sdk._retry import RetryPolicy
from data_portal_sdk._types import AssetStat, DailyUsageStats, PushResult, QueryStat

__all__ = [
    "ACCESS_LOG_ASSET_STATS_SQL",
    "ACCESS_LOG_QUERY_STATS_SQL",
    "SNOWFLAKE_ACCESS_LOG_SQL",
    "SNOWFLAKE_ASSET_STATS_SQL",
    "SNOWFLAKE_QUERY_STATS_SQL",
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AssetStat",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "DailyUsageStats",
    "DataPortalClient",
    "DataPortalError",
    "ErrorDetail",
    "InternalServerError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "PushResult",
    "QueryStat",
    "RateLimitError",
    "RetryPolicy",
    "SqlUsageStatsCollector",
    "UnprocessableEntityError",
    "UsageStatsCollector",
    "ValidationError",
]

__locals = locals()
for __name in __all__:
    if not __name.startswith("__") and not __name.isupper():
        # Show the public name in tracebacks and reprs (data_portal_sdk.ValidationError,
        # not data_portal_sdk._errors.ValidationError), as httpx does.
        setattr(__locals[__name], "__module__", "data_portal_sdk")  # noqa: B010
