"""``GET /api/v1/output-ports/{output_port_id}/usage/...``: the three charts' data."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from platform_defs.api import charts
from platform_defs.api.deps import (
    ApiKeyDep,
    SessionDep,
    SettingsDep,
    no_unknown_query_parameters,
    request_id_header,
    require_port,
)
from platform_defs.api.errors import validation_error
from platform_defs.api.responses import REQUEST_ID_RESPONSE_HEADER, error_responses
from platform_defs.api.schemas import (
    ErrorDetail,
    Granularity,
    IsoDate,
    PopularAssets,
    QueriesOverTime,
    QueryDistribution,
)

router = APIRouter(
    prefix="/api/v1/output-ports/{output_port_id}/usage",
    tags=["usage"],
    dependencies=[Depends(request_id_header), Depends(no_unknown_query_parameters)],
    responses={
        200: {"description": "The chart's data.", "headers": REQUEST_ID_RESPONSE_HEADER},
        **error_responses(401, 403, 404, 422),
    },
)

OutputPortId = Annotated[uuid.UUID, Path(description="The output port.")]
Start = Annotated[
    IsoDate | None,
    Query(description="First day of the window (default: 29 days before `end`)."),
]
End = Annotated[
    IsoDate | None,
    Query(description="Last day of the window (default: the port's latest reported day)."),
]


def _window(
    session: SessionDep,
    settings: SettingsDep,
    output_port_id: uuid.UUID,
    start: date | None,
    end: date | None,
) -> charts.Window:
    window = charts.resolve_window(session, output_port_id, start, end)
    if window.start > window.end:
        raise validation_error(
            [
                ErrorDetail(
                    loc=["query", "start"],
                    msg=f"start {window.start} is after end {window.end}",
                    type="value_error",
                )
            ]
        )
    days = (window.end - window.start).days + 1
    if days > settings.max_window_days:
        raise validation_error(
            [
                ErrorDetail(
                    loc=["query", "start"],
                    msg=f"the window {window.start}..{window.end} is {days} days long; "
                    f"the limit is {settings.max_window_days}",
                    type="value_error",
                )
            ]
        )
    return window


@router.get(
    "/queries-over-time",
    operation_id="get_queries_over_time",
    summary="Queries per day, ISO week or month",
    response_model=QueriesOverTime,
)
def get_queries_over_time(
    output_port_id: OutputPortId,
    key: ApiKeyDep,
    session: SessionDep,
    settings: SettingsDep,
    start: Start = None,
    end: End = None,
    granularity: Annotated[
        Granularity, Query(description="day, week (ISO, from Monday) or month.")
    ] = Granularity.DAY,
) -> QueriesOverTime:
    """One point per period overlapping the window; a period without a reported day has
    ``query_count`` null."""
    require_port(key, output_port_id)
    window = _window(session, settings, output_port_id, start, end)
    return charts.queries_over_time(session, output_port_id, window, granularity)


@router.get(
    "/query-distribution",
    operation_id="get_query_distribution",
    summary="Queries per consumer: the top N and the rest",
    response_model=QueryDistribution,
)
def get_query_distribution(
    output_port_id: OutputPortId,
    key: ApiKeyDep,
    session: SessionDep,
    settings: SettingsDep,
    start: Start = None,
    end: End = None,
    top: Annotated[int, Query(ge=1, le=1000, description="How many consumers to list.")] = 10,
) -> QueryDistribution:
    """Consumers with queries in the window, ranked; consumers with none are absent."""
    require_port(key, output_port_id)
    window = _window(session, settings, output_port_id, start, end)
    return charts.query_distribution(session, output_port_id, window, top)


@router.get(
    "/popular-assets",
    operation_id="get_popular_assets",
    summary="Technical assets by query touches",
    response_model=PopularAssets,
)
def get_popular_assets(
    output_port_id: OutputPortId,
    key: ApiKeyDep,
    session: SessionDep,
    settings: SettingsDep,
    start: Start = None,
    end: End = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="How many assets to list.")] = 10,
) -> PopularAssets:
    """The most touched assets in the window, with their share of the port's queries."""
    require_port(key, output_port_id)
    window = _window(session, settings, output_port_id, start, end)
    return charts.popular_assets(session, output_port_id, window, limit)
