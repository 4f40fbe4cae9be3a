"""The chart queries: SUMs over the pre-aggregated daily tables of one output port.

No ``COUNT(DISTINCT ...)``: a row is already one (day, consumer) or (day, asset, consumer),
so "consumers with queries" is a ``SUM`` of 0/1 over rows grouped by consumer. The window
is inclusive; without ``end`` it ends on THIS port's latest reported day (today when it
has none), without ``start`` it starts 29 days before ``end``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Date, case, cast, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from platform_defs.api.schemas import (
    ConsumerShare,
    Granularity,
    OtherConsumers,
    PopularAsset,
    PopularAssets,
    QueriesOverTime,
    QueriesOverTimePoint,
    QueryDistribution,
    utc_today,
)
from platform_defs.ops.usage import OutputPortQueryStatsDaily as Q
from platform_defs.ops.usage import TechAssetStatsDaily as A

DEFAULT_WINDOW_DAYS = 30


@dataclass(frozen=True)
class Window:
    start: date
    end: date


def latest_reported_date(session: Session, output_port_id: uuid.UUID) -> date | None:
    return session.scalar(select(func.max(Q.date)).where(Q.output_port_id == output_port_id))


def resolve_window(
    session: Session, output_port_id: uuid.UUID, start: date | None, end: date | None
) -> Window:
    """The window the defaults make of ``start`` and ``end`` (checked by the caller)."""
    if end is None:
        end = latest_reported_date(session, output_port_id) or utc_today()
        if start is not None and start > end:
            end = start  # an explicit start after the port's last day: an empty window
    if start is None:
        start = _shifted(end, -(DEFAULT_WINDOW_DAYS - 1))
    return Window(start, end)


def _shifted(day: date, days: int) -> date:
    """``day + days``, held inside the calendar (date.min .. date.max)."""
    ordinal = min(max(day.toordinal() + days, 1), date.max.toordinal())
    return date.fromordinal(ordinal)


def period_start(day: date, granularity: Granularity) -> date:
    if granularity is Granularity.WEEK:
        return day - timedelta(days=day.weekday())
    if granularity is Granularity.MONTH:
        return day.replace(day=1)
    return day


def period_end(start: date, granularity: Granularity) -> date:
    if granularity is Granularity.WEEK:
        return _shifted(start, 6)
    if granularity is Granularity.MONTH:
        if start.month == 12:
            return start.replace(day=31)
        return start.replace(month=start.month + 1, day=1) - timedelta(days=1)
    return start


def _period_sql(session: Session, column: Any, granularity: Granularity) -> ColumnElement[Any]:
    """The period's first day, computed by the database."""
    if granularity is Granularity.DAY:
        return column
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.date_trunc(granularity.value, column), Date)
    # SQLite: a week is the next Sunday (or the day itself), then back to its Monday.
    if granularity is Granularity.WEEK:
        return func.date(column, "weekday 0", "-6 days", type_=Date)
    return func.date(column, "start of month", type_=Date)


def _in_window(model: type[Q] | type[A], output_port_id: uuid.UUID, window: Window) -> Any:
    return (
        model.output_port_id == output_port_id,
        model.date >= window.start,
        model.date <= window.end,
    )


def queries_over_time(
    session: Session, output_port_id: uuid.UUID, window: Window, granularity: Granularity
) -> QueriesOverTime:
    """One point per period overlapping the window; sums cover the window's days only."""
    period = _period_sql(session, Q.date, granularity).label("period")
    per_consumer = (
        select(period, Q.consumer_id, func.sum(Q.query_count).label("queries"))
        .where(*_in_window(Q, output_port_id, window))
        .group_by(period, Q.consumer_id)
        .subquery()
    )
    totals = {
        row.period: (int(row.queries), int(row.active))
        for row in session.execute(
            select(
                per_consumer.c.period,
                func.sum(per_consumer.c.queries).label("queries"),
                func.sum(case((per_consumer.c.queries > 0, 1), else_=0)).label("active"),
            ).group_by(per_consumer.c.period)
        )
    }
    days: dict[date, int] = {}
    for (day,) in session.execute(
        select(Q.date).where(*_in_window(Q, output_port_id, window)).group_by(Q.date)
    ):
        key = period_start(day, granularity)
        days[key] = days.get(key, 0) + 1

    points = []
    current = period_start(window.start, granularity)
    while current <= window.end:
        queries, active = totals.get(current, (None, 0))
        points.append(
            QueriesOverTimePoint(
                period_start=current,
                period_end=period_end(current, granularity),
                query_count=queries,
                days_reported=days.get(current, 0),
                active_consumers=active,
            )
        )
        last = period_end(current, granularity)
        if last == date.max:
            break
        current = last + timedelta(days=1)
    return QueriesOverTime(
        output_port_id=output_port_id,
        granularity=granularity,
        start=window.start,
        end=window.end,
        points=points,
    )


def _share(part: int, total: int) -> float:
    return part / total if total else 0.0


def _ranks(counts: list[int]) -> list[int]:
    """Standard competition ranks ("1224") of counts sorted descending, as SQL's ``rank()``
    in the usage marts gives them: ties share a rank and the next rank skips."""
    ranks: list[int] = []
    for index, count in enumerate(counts):
        if index and count == counts[index - 1]:
            ranks.append(ranks[-1])
        else:
            ranks.append(index + 1)
    return ranks


def port_total_queries(session: Session, output_port_id: uuid.UUID, window: Window) -> int:
    total = session.scalar(
        select(func.sum(Q.query_count)).where(*_in_window(Q, output_port_id, window))
    )
    return int(total or 0)


def query_distribution(
    session: Session, output_port_id: uuid.UUID, window: Window, top: int
) -> QueryDistribution:
    """The top consumers by queries in the window, and the rest summed as ``other``."""
    queries = func.sum(Q.query_count).label("queries")
    rows = session.execute(
        select(Q.consumer_id, queries)
        .where(*_in_window(Q, output_port_id, window))
        .group_by(Q.consumer_id)
        .having(func.sum(Q.query_count) > 0)
        .order_by(queries.desc(), Q.consumer_id)
    ).all()
    counts = [int(row.queries) for row in rows]
    total = sum(counts)
    ranks = _ranks(counts)
    consumers = [
        ConsumerShare(
            consumer_id=row.consumer_id,
            query_count=count,
            share=_share(count, total),
            rank=rank,
        )
        for row, count, rank in zip(rows[:top], counts[:top], ranks[:top], strict=False)
    ]
    rest = sum(counts[top:])
    return QueryDistribution(
        output_port_id=output_port_id,
        start=window.start,
        end=window.end,
        total_queries=total,
        consumers=consumers,
        other=OtherConsumers(
            consumers=max(len(rows) - top, 0), query_count=rest, share=_share(rest, total)
        ),
    )


def popular_assets(
    session: Session, output_port_id: uuid.UUID, window: Window, limit: int
) -> PopularAssets:
    """Assets by touches in the window; ``consumers`` counts those with a touch."""
    per_consumer = (
        select(A.tech_asset_id, A.consumer_id, func.sum(A.query_count).label("touches"))
        .where(*_in_window(A, output_port_id, window))
        .group_by(A.tech_asset_id, A.consumer_id)
        .subquery()
    )
    touches = func.sum(per_consumer.c.touches).label("touches")
    rows = session.execute(
        select(
            per_consumer.c.tech_asset_id,
            touches,
            func.sum(case((per_consumer.c.touches > 0, 1), else_=0)).label("consumers"),
        )
        .group_by(per_consumer.c.tech_asset_id)
        .having(func.sum(per_consumer.c.touches) > 0)
        .order_by(touches.desc(), per_consumer.c.tech_asset_id)
        .limit(limit)
    ).all()
    total = port_total_queries(session, output_port_id, window)
    counts = [int(row.touches) for row in rows]
    assets = [
        PopularAsset(
            tech_asset_id=row.tech_asset_id,
            query_count=count,
            consumers=int(row.consumers),
            # no queries in the window: no share (the mart's NULL), not 0
            share_of_port_queries=count / total if total else None,
            rank=rank,
        )
        for row, count, rank in zip(rows, counts, _ranks(counts), strict=True)
    ]
    return PopularAssets(
        output_port_id=output_port_id,
        start=window.start,
        end=window.end,
        total_queries=total,
        assets=assets,
    )
