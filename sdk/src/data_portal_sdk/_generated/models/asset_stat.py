from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar
from uuid import UUID

from attrs import define as _attrs_define

T = TypeVar("T", bound="AssetStat")


@_attrs_define
class AssetStat:
    """Queries one consumer ran that day that touched one technical asset of the port.

    Attributes:
        consumer_id (UUID):
        date (datetime.date): The UTC calendar day the queries ran (YYYY-MM-DD); not after today.
        query_count (int): A count, >= 0.
        tech_asset_id (UUID):
    """

    consumer_id: UUID
    date: datetime.date
    query_count: int
    tech_asset_id: UUID

    def to_dict(self) -> dict[str, Any]:
        consumer_id = str(self.consumer_id)

        date = self.date.isoformat()

        query_count = self.query_count

        tech_asset_id = str(self.tech_asset_id)

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "consumer_id": consumer_id,
                "date": date,
                "query_count": query_count,
                "tech_asset_id": tech_asset_id,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        consumer_id = UUID(d.pop("consumer_id"))

        date = datetime.date.fromisoformat(d.pop("date"))

        query_count = d.pop("query_count")

        tech_asset_id = UUID(d.pop("tech_asset_id"))

        asset_stat = cls(
            consumer_id=consumer_id,
            date=date,
            query_count=query_count,
            tech_asset_id=tech_asset_id,
        )

        return asset_stat
