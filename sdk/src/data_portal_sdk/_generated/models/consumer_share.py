from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="ConsumerShare")


@_attrs_define
class ConsumerShare:
    """
    Attributes:
        consumer_id (UUID):
        query_count (int):
        rank (int): By query_count, descending, as SQL rank(): 1, 1, 3 on a tie.
        share (float): query_count / total_queries.
    """

    consumer_id: UUID
    query_count: int
    rank: int
    share: float
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        consumer_id = str(self.consumer_id)

        query_count = self.query_count

        rank = self.rank

        share = self.share

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "consumer_id": consumer_id,
                "query_count": query_count,
                "rank": rank,
                "share": share,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        consumer_id = UUID(d.pop("consumer_id"))

        query_count = d.pop("query_count")

        rank = d.pop("rank")

        share = d.pop("share")

        consumer_share = cls(
            consumer_id=consumer_id,
            query_count=query_count,
            rank=rank,
            share=share,
        )

        consumer_share.additional_properties = d
        return consumer_share

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
