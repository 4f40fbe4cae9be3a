from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="OtherConsumers")


@_attrs_define
class OtherConsumers:
    """The consumers with queries beyond the top N, summed.

    Attributes:
        consumers (int):
        query_count (int):
        share (float):
    """

    consumers: int
    query_count: int
    share: float
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        consumers = self.consumers

        query_count = self.query_count

        share = self.share

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "consumers": consumers,
                "query_count": query_count,
                "share": share,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        consumers = d.pop("consumers")

        query_count = d.pop("query_count")

        share = d.pop("share")

        other_consumers = cls(
            consumers=consumers,
            query_count=query_count,
            share=share,
        )

        other_consumers.additional_properties = d
        return other_consumers

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
