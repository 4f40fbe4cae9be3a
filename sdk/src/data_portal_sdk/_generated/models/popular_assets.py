from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.popular_asset import PopularAsset


T = TypeVar("T", bound="PopularAssets")


@_attrs_define
class PopularAssets:
    """
    Attributes:
        assets (list[PopularAsset]):
        end (datetime.date):
        output_port_id (UUID):
        start (datetime.date):
        total_queries (int): The port's queries in the window.
    """

    assets: list[PopularAsset]
    end: datetime.date
    output_port_id: UUID
    start: datetime.date
    total_queries: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        assets = []
        for assets_item_data in self.assets:
            assets_item = assets_item_data.to_dict()
            assets.append(assets_item)

        end = self.end.isoformat()

        output_port_id = str(self.output_port_id)

        start = self.start.isoformat()

        total_queries = self.total_queries

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "assets": assets,
                "end": end,
                "output_port_id": output_port_id,
                "start": start,
                "total_queries": total_queries,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.popular_asset import PopularAsset

        d = dict(src_dict)
        assets = []
        _assets = d.pop("assets")
        for assets_item_data in _assets:
            assets_item = PopularAsset.from_dict(assets_item_data)

            assets.append(assets_item)

        end = datetime.date.fromisoformat(d.pop("end"))

        output_port_id = UUID(d.pop("output_port_id"))

        start = datetime.date.fromisoformat(d.pop("start"))

        total_queries = d.pop("total_queries")

        popular_assets = cls(
            assets=assets,
            end=end,
            output_port_id=output_port_id,
            start=start,
            total_queries=total_queries,
        )

        popular_assets.additional_properties = d
        return popular_assets

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
