from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="PopularAsset")


@_attrs_define
class PopularAsset:
    """
    Attributes:
        consumers (int): Consumers with at least one touch.
        query_count (int): Touches: queries that touched the asset.
        rank (int): By query_count, descending, as SQL rank(): 1, 1, 3 on a tie.
        share_of_port_queries (float | None): query_count / the port's queries in the window; null when it ran none.
        tech_asset_id (UUID):
    """

    consumers: int
    query_count: int
    rank: int
    share_of_port_queries: float | None
    tech_asset_id: UUID
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        consumers = self.consumers

        query_count = self.query_count

        rank = self.rank

        share_of_port_queries: float | None
        share_of_port_queries = self.share_of_port_queries

        tech_asset_id = str(self.tech_asset_id)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "consumers": consumers,
                "query_count": query_count,
                "rank": rank,
                "share_of_port_queries": share_of_port_queries,
                "tech_asset_id": tech_asset_id,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        consumers = d.pop("consumers")

        query_count = d.pop("query_count")

        rank = d.pop("rank")

        def _parse_share_of_port_queries(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        share_of_port_queries = _parse_share_of_port_queries(d.pop("share_of_port_queries"))

        tech_asset_id = UUID(d.pop("tech_asset_id"))

        popular_asset = cls(
            consumers=consumers,
            query_count=query_count,
            rank=rank,
            share_of_port_queries=share_of_port_queries,
            tech_asset_id=tech_asset_id,
        )

        popular_asset.additional_properties = d
        return popular_asset

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
