"""Contains all the data models used in inputs/outputs"""

from .asset_stat import AssetStat
from .consumer_share import ConsumerShare
from .error_body import ErrorBody
from .error_detail import ErrorDetail
from .error_response import ErrorResponse
from .granularity import Granularity
from .health import Health
from .other_consumers import OtherConsumers
from .popular_asset import PopularAsset
from .popular_assets import PopularAssets
from .push_accepted import PushAccepted
from .queries_over_time import QueriesOverTime
from .queries_over_time_point import QueriesOverTimePoint
from .query_distribution import QueryDistribution
from .query_stat import QueryStat
from .usage_stats_push import UsageStatsPush

__all__ = (
    "AssetStat",
    "ConsumerShare",
    "ErrorBody",
    "ErrorDetail",
    "ErrorResponse",
    "Granularity",
    "Health",
    "OtherConsumers",
    "PopularAsset",
    "PopularAssets",
    "PushAccepted",
    "QueriesOverTime",
    "QueriesOverTimePoint",
    "QueryDistribution",
    "QueryStat",
    "UsageStatsPush",
)
