from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define

if TYPE_CHECKING:
    from ..models.asset_stat import AssetStat
    from ..models.query_stat import QueryStat


T = TypeVar("T", bound="UsageStatsPush")


@_attrs_define
class UsageStatsPush:
    """One push: both payloads for one or more days, committed together or not at all.

    The push covers every date in either list; for each, the port's rows of that date in
    both tables are replaced by these.

        Attributes:
            asset_stats (list[AssetStat]): Rows of tech_asset_stats_daily; each needs a query_stats row of the same date and
                consumer. May be empty.
            query_stats (list[QueryStat]): Rows of output_port_query_stats_daily; at least one.
    """

    asset_stats: list[AssetStat]
    query_stats: list[QueryStat]

    def to_dict(self) -> dict[str, Any]:
        asset_stats = []
        for asset_stats_item_data in self.asset_stats:
            asset_stats_item = asset_stats_item_data.to_dict()
            asset_stats.append(asset_stats_item)

        query_stats = []
        for query_stats_item_data in self.query_stats:
            query_stats_item = query_stats_item_data.to_dict()
            query_stats.append(query_stats_item)

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "asset_stats": asset_stats,
                "query_stats": query_stats,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.asset_stat import AssetStat
        from ..models.query_stat import QueryStat

        d = dict(src_dict)
        asset_stats = []
        _asset_stats = d.pop("asset_stats")
        for asset_stats_item_data in _asset_stats:
            asset_stats_item = AssetStat.from_dict(asset_stats_item_data)

            asset_stats.append(asset_stats_item)

        query_stats = []
        _query_stats = d.pop("query_stats")
        for query_stats_item_data in _query_stats:
            query_stats_item = QueryStat.from_dict(query_stats_item_data)

            query_stats.append(query_stats_item)

        usage_stats_push = cls(
            asset_stats=asset_stats,
            query_stats=query_stats,
        )

        return usage_stats_push
