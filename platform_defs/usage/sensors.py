"""The ``usage_pushes`` sensor: committed pushes in, runs of the days they touched out.

Its cursor is the last push-log ``sequence`` it has read (``ops.usage_pushes``; sequences
are handed out in commit order, so nothing committed later is skipped). Each tick reads the
pushes after it and requests runs of both bronze usage assets for the days they cover: one
run per touched day, except that consecutive touched days go into one run of that
partition range (up to :data:`MAX_DAYS_PER_RUN`): a producer backfilling three months
launches three runs, not ninety (a run costs seconds of Dagster overhead, a day a fraction
of one). Each day is still committed on its own (its own snapshot and load id).

The run key is the day (or range) and the highest sequence among the pushes covering it:
the same pushes give the same keys (a reset cursor launches nothing twice), a new push of a
day gives a new key.

No ``from __future__ import annotations``: Dagster reads the sensor's resource annotation.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import dagster as dg

from platform_defs.ops.resource import OpsStoreResource
from platform_defs.ops.usage import CommittedPush, committed_pushes_after
from platform_defs.usage.assets import ASSET_KEYS, FIRST_DAY

SENSOR_NAME = "usage_pushes"
PUSHES_PER_TICK = 500
INTERVAL_SECONDS = 30
MAX_DAYS_PER_RUN = 31
DAYS_TAG = "floe/usage_days"
SEQUENCE_TAG = "floe/usage_max_sequence"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


@dataclass(frozen=True)
class DayRange:
    """Consecutive touched days ingested by one run, and the newest push among them."""

    first: date
    last: date
    sequence: int

    @property
    def run_key(self) -> str:
        days = self.first.isoformat()
        if self.last != self.first:
            days += f"..{self.last.isoformat()}"
        return f"usage:{days}:{self.sequence}"


def run_key(day: date, sequence: int) -> str:
    """The run key of a run of the single day ``day``."""
    return DayRange(day, day, sequence).run_key


def touched_days(pushes: Sequence[CommittedPush]) -> dict[date, int]:
    """Each day the pushes cover, with the highest sequence among those covering it."""
    latest: dict[date, int] = {}
    for push in pushes:
        for day in push.dates:
            latest[day] = max(latest.get(day, 0), push.sequence)
    return dict(sorted(latest.items()))


def day_ranges(days: dict[date, int], max_days: int = MAX_DAYS_PER_RUN) -> list[DayRange]:
    """Consecutive days of ``days`` grouped, at most ``max_days`` per group."""
    ranges: list[DayRange] = []
    for day, sequence in sorted(days.items()):
        last = ranges[-1] if ranges else None
        if (
            last is not None
            and day == last.last + timedelta(days=1)
            and (day - last.first).days < max_days
        ):
            ranges[-1] = DayRange(last.first, day, max(last.sequence, sequence))
        else:
            ranges.append(DayRange(day, day, sequence))
    return ranges


def run_requests(days: dict[date, int]) -> list[dg.RunRequest]:
    requests = []
    for days_range in day_ranges(days):
        first, last = days_range.first.isoformat(), days_range.last.isoformat()
        tags = {DAYS_TAG: first if first == last else f"{first}..{last}"}
        tags[SEQUENCE_TAG] = str(days_range.sequence)
        if first != last:
            tags |= {RANGE_START_TAG: first, RANGE_END_TAG: last}
        requests.append(
            dg.RunRequest(
                run_key=days_range.run_key,
                partition_key=first if first == last else None,
                asset_selection=list(ASSET_KEYS),
                # No checks: the dbt source tests on these tables run with the marts, not
                # once per ingested day.
                asset_check_keys=[],
                tags=tags,
            )
        )
    return requests


@dg.sensor(
    name=SENSOR_NAME,
    minimum_interval_seconds=INTERVAL_SECONDS,
    asset_selection=list(ASSET_KEYS),
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Ingests each day that committed usage pushes touched into its bronze "
    "partitions, once per push (cursor: ops.usage_pushes.sequence).",
)
def usage_pushes_sensor(
    context: dg.SensorEvaluationContext, ops_store: OpsStoreResource
) -> dg.SensorResult:
    cursor = int(context.cursor or 0)
    with ops_store.session() as session:
        pushes = committed_pushes_after(session, cursor, limit=PUSHES_PER_TICK)
    if not pushes:
        return dg.SensorResult(skip_reason=dg.SkipReason(f"no push after sequence {cursor}"))
    days = touched_days(pushes)
    first = date.fromisoformat(FIRST_DAY)
    early = [day for day in days if day < first]
    if early:
        context.log.warning(
            f"{len(early)} pushed day(s) before the first partition {FIRST_DAY} are not "
            f"ingested: {', '.join(day.isoformat() for day in early[:5])}"
        )
    requests = run_requests({day: seq for day, seq in days.items() if day >= first})
    new_cursor = pushes[-1].sequence
    context.log.info(
        f"{len(pushes)} push(es) after sequence {cursor} (up to {new_cursor}): "
        f"{len(days)} day(s) to ingest in {len(requests)} run(s)"
    )
    return dg.SensorResult(run_requests=requests, cursor=str(new_cursor))
