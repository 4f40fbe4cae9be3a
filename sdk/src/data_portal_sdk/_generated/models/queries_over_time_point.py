from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="QueriesOverTimePoint")


@_attrs_define
class QueriesOverTimePoint:
    """One period (day, ISO week from Monday, or calendar month).

    Attributes:
        active_consumers (int): Consumers with at least one query in it.
        days_reported (int): Days of the period with at least one row.
        period_end (datetime.date):
        period_start (datetime.date):
        query_count (int | None): Queries in the period's reported days inside the window; null when no day of it was
            reported (no push is not 0 queries).
    """

    active_consumers: int
    days_reported: int
    period_end: datetime.date
    period_start: datetime.date
    query_count: int | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        active_consumers = self.active_consumers

        days_reported = self.days_reported

        period_end = self.period_end.isoformat()

        period_start = self.period_start.isoformat()

        query_count: int | None
        query_count = self.query_count

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "active_consumers": active_consumers,
                "days_reported": days_reported,
                "period_end": period_end,
                "period_start": period_start,
                "query_count": query_count,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        active_consumers = d.pop("active_consumers")

        days_reported = d.pop("days_reported")

        period_end = datetime.date.fromisoformat(d.pop("period_end"))

        period_start = datetime.date.fromisoformat(d.pop("period_start"))

        def _parse_query_count(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        query_count = _parse_query_count(d.pop("query_count"))

        queries_over_time_point = cls(
            active_consumers=active_consumers,
            days_reported=days_reported,
            period_end=period_end,
            period_start=period_start,
            query_count=query_count,
        )

        queries_over_time_point.additional_properties = d
        return queries_over_time_point

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
