from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Literal, Self, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="PushAccepted")


@_attrs_define
class PushAccepted:
    """The answer to a committed push (and, for the same Idempotency-Key, to its retries).

    Attributes:
        asset_stats_rows (int):
        dates (list[datetime.date]): The dates the push covered, ascending.
        output_port_id (UUID):
        push_id (UUID):
        query_stats_rows (int):
        status (Literal['committed']):
    """

    asset_stats_rows: int
    dates: list[datetime.date]
    output_port_id: UUID
    push_id: UUID
    query_stats_rows: int
    status: Literal["committed"]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        asset_stats_rows = self.asset_stats_rows

        dates = []
        for dates_item_data in self.dates:
            dates_item = dates_item_data.isoformat()
            dates.append(dates_item)

        output_port_id = str(self.output_port_id)

        push_id = str(self.push_id)

        query_stats_rows = self.query_stats_rows

        status = self.status

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "asset_stats_rows": asset_stats_rows,
                "dates": dates,
                "output_port_id": output_port_id,
                "push_id": push_id,
                "query_stats_rows": query_stats_rows,
                "status": status,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        asset_stats_rows = d.pop("asset_stats_rows")

        dates = []
        _dates = d.pop("dates")
        for dates_item_data in _dates:
            dates_item = datetime.date.fromisoformat(dates_item_data)

            dates.append(dates_item)

        output_port_id = UUID(d.pop("output_port_id"))

        push_id = UUID(d.pop("push_id"))

        query_stats_rows = d.pop("query_stats_rows")

        status = cast(Literal["committed"], d.pop("status"))
        if status != "committed":
            raise ValueError(f"status must match const 'committed', got '{status}'")

        push_accepted = cls(
            asset_stats_rows=asset_stats_rows,
            dates=dates,
            output_port_id=output_port_id,
            push_id=push_id,
            query_stats_rows=query_stats_rows,
            status=status,
        )

        push_accepted.additional_properties = d
        return push_accepted

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
