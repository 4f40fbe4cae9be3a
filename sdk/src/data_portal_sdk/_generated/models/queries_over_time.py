from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.granularity import Granularity

if TYPE_CHECKING:
    from ..models.queries_over_time_point import QueriesOverTimePoint


T = TypeVar("T", bound="QueriesOverTime")


@_attrs_define
class QueriesOverTime:
    """
    Attributes:
        end (datetime.date):
        granularity (Granularity): The period of a queries-over-time point.
        output_port_id (UUID):
        points (list[QueriesOverTimePoint]):
        start (datetime.date):
    """

    end: datetime.date
    granularity: Granularity
    output_port_id: UUID
    points: list[QueriesOverTimePoint]
    start: datetime.date
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        end = self.end.isoformat()

        granularity = self.granularity.value

        output_port_id = str(self.output_port_id)

        points = []
        for points_item_data in self.points:
            points_item = points_item_data.to_dict()
            points.append(points_item)

        start = self.start.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "end": end,
                "granularity": granularity,
                "output_port_id": output_port_id,
                "points": points,
                "start": start,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.queries_over_time_point import QueriesOverTimePoint

        d = dict(src_dict)
        end = datetime.date.fromisoformat(d.pop("end"))

        granularity = Granularity(d.pop("granularity"))

        output_port_id = UUID(d.pop("output_port_id"))

        points = []
        _points = d.pop("points")
        for points_item_data in _points:
            points_item = QueriesOverTimePoint.from_dict(points_item_data)

            points.append(points_item)

        start = datetime.date.fromisoformat(d.pop("start"))

        queries_over_time = cls(
            end=end,
            granularity=granularity,
            output_port_id=output_port_id,
            points=points,
            start=start,
        )

        queries_over_time.additional_properties = d
        return queries_over_time

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
