from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.consumer_share import ConsumerShare
    from ..models.other_consumers import OtherConsumers


T = TypeVar("T", bound="QueryDistribution")


@_attrs_define
class QueryDistribution:
    """
    Attributes:
        consumers (list[ConsumerShare]): The top N consumers with queries in the window (all-zero ones absent).
        end (datetime.date):
        other (OtherConsumers): The consumers with queries beyond the top N, summed.
        output_port_id (UUID):
        start (datetime.date):
        total_queries (int):
    """

    consumers: list[ConsumerShare]
    end: datetime.date
    other: OtherConsumers
    output_port_id: UUID
    start: datetime.date
    total_queries: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        consumers = []
        for consumers_item_data in self.consumers:
            consumers_item = consumers_item_data.to_dict()
            consumers.append(consumers_item)

        end = self.end.isoformat()

        other = self.other.to_dict()

        output_port_id = str(self.output_port_id)

        start = self.start.isoformat()

        total_queries = self.total_queries

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "consumers": consumers,
                "end": end,
                "other": other,
                "output_port_id": output_port_id,
                "start": start,
                "total_queries": total_queries,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.consumer_share import ConsumerShare
        from ..models.other_consumers import OtherConsumers

        d = dict(src_dict)
        consumers = []
        _consumers = d.pop("consumers")
        for consumers_item_data in _consumers:
            consumers_item = ConsumerShare.from_dict(consumers_item_data)

            consumers.append(consumers_item)

        end = datetime.date.fromisoformat(d.pop("end"))

        other = OtherConsumers.from_dict(d.pop("other"))

        output_port_id = UUID(d.pop("output_port_id"))

        start = datetime.date.fromisoformat(d.pop("start"))

        total_queries = d.pop("total_queries")

        query_distribution = cls(
            consumers=consumers,
            end=end,
            other=other,
            output_port_id=output_port_id,
            start=start,
            total_queries=total_queries,
        )

        query_distribution.additional_properties = d
        return query_distribution

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
