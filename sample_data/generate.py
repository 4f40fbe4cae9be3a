"""Generate floe's demo data: Fitbit-shaped wearable exports and seed-001 usage stats.

    uv run python sample_data/generate.py [--scale N] [--out DIR]

Everything comes from one seeded RNG and a fixed date range (the 90 days ending 2026-10-31),
so the committed CSVs are reproducible byte for byte. `--scale` multiplies the number of
wearable users and of usage consumers (scale 100 gives ~270,000 activity rows for bench/).
"""

from __future__ import annotations

import argparse
import csv
import math
import random
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

SEED = 20261031
LAST_DAY = date(2026, 10, 31)
DAYS = 90
BASE_USERS = 30
BASE_CONSUMERS = 6
OUTPUT_PORTS = 4
ASSETS_PER_PORT = (3, 6)  # inclusive range of tech assets behind each output port

ACTIVITY_HEADER = [
    "Id",
    "ActivityDate",
    "TotalSteps",
    "TotalDistance",
    "VeryActiveMinutes",
    "FairlyActiveMinutes",
    "LightlyActiveMinutes",
    "SedentaryMinutes",
    "Calories",
]
SLEEP_HEADER = ["Id", "SleepDay", "TotalSleepRecords", "TotalMinutesAsleep", "TotalTimeInBed"]
QUERY_STATS_HEADER = ["date", "output_port_id", "consumer_id", "query_count"]
ASSET_STATS_HEADER = ["date", "output_port_id", "tech_asset_id", "consumer_id", "query_count"]


def days() -> list[date]:
    return [LAST_DAY - timedelta(days=offset) for offset in range(DAYS - 1, -1, -1)]


def fitbit_date(day: date) -> str:
    # Fitbit exports write dates without zero padding: 4/12/2026.
    return f"{day.month}/{day.day}/{day.year}"


def seeded_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


@dataclass(frozen=True)
class Wearer:
    """A user's habits: the levels their days scatter around."""

    user_id: int
    steps: float  # weekday mean steps
    weekend_factor: float  # weekend steps relative to weekdays (some rest, some hike)
    stride_km: float
    bmr: float  # calories burnt at rest
    sleep_minutes: float
    sleep_logging: float  # probability that a night is recorded at all


def make_wearers(rng: random.Random, count: int) -> list[Wearer]:
    ids = rng.sample(range(1_000_000_000, 10_000_000_000), count)  # 10-digit Fitbit ids
    return [
        Wearer(
            user_id=user_id,
            steps=rng.uniform(3_500, 13_000),
            weekend_factor=rng.choice([0.65, 0.8, 1.1, 1.35]),
            stride_km=rng.uniform(0.00065, 0.00080),
            bmr=rng.uniform(1_450, 2_100),
            sleep_minutes=rng.uniform(340, 480),
            sleep_logging=rng.uniform(0.45, 0.95),
        )
        for user_id in sorted(ids)
    ]


def activity_row(rng: random.Random, wearer: Wearer, day: date) -> list[object]:
    weekend = day.weekday() >= 5
    mean_steps = wearer.steps * (wearer.weekend_factor if weekend else 1.0)
    steps = rng.gauss(mean_steps, mean_steps * 0.18)
    # A few unusual days (a marathon, a sick day, a forgotten tracker) so that
    # user_deviations has something to flag.
    roll = rng.random()
    if roll < 0.015:
        steps *= rng.uniform(2.3, 3.2)
    elif roll < 0.03:
        steps *= rng.uniform(0.03, 0.15)
    steps = max(0, round(steps))

    very = max(0, round(steps / 1_000 * rng.uniform(1.5, 3.0) - 8))
    fairly = max(0, round(steps / 1_000 * rng.uniform(0.8, 1.8)))
    lightly = max(0, round(rng.gauss(150 + steps / 80, 35)))
    sedentary = max(0, min(1_440 - very - fairly - lightly, round(rng.gauss(1_000, 90))))
    calories = round(wearer.bmr + steps * 0.045 + very * 6 + fairly * 3 + rng.gauss(0, 80))
    distance = round(steps * wearer.stride_km, 2)
    return [
        wearer.user_id,
        fitbit_date(day),
        steps,
        distance,
        very,
        fairly,
        lightly,
        sedentary,
        calories,
    ]


def sleep_row(rng: random.Random, wearer: Wearer, day: date) -> list[object] | None:
    if rng.random() > wearer.sleep_logging:
        return None  # like Fitbit: nights without a record are simply absent
    weekend = day.weekday() >= 5
    asleep = rng.gauss(wearer.sleep_minutes + (45 if weekend else 0), 35)
    if rng.random() < 0.02:
        asleep *= rng.uniform(0.35, 0.55)  # a rough night
    asleep = max(60, round(asleep))
    records = 1 if rng.random() < 0.9 else 2
    in_bed = asleep + round(abs(rng.gauss(25, 12))) + (15 if records > 1 else 0)
    return [wearer.user_id, f"{fitbit_date(day)} 12:00:00 AM", records, asleep, in_bed]


def write_wearable(rng: random.Random, out: Path, scale: int) -> tuple[int, int]:
    wearers = make_wearers(rng, BASE_USERS * scale)
    activity: list[list[object]] = []
    sleep: list[list[object]] = []
    for wearer in wearers:
        for day in days():
            activity.append(activity_row(rng, wearer, day))
            row = sleep_row(rng, wearer, day)
            if row is not None:
                sleep.append(row)
    folder = out / "wearable"
    write_csv(folder / "daily_activity.csv", ACTIVITY_HEADER, activity)
    write_csv(folder / "sleep.csv", SLEEP_HEADER, sleep)
    return len(activity), len(sleep)


def write_usage(rng: random.Random, out: Path, scale: int) -> tuple[int, int]:
    """Simulate individual queries and aggregate them the way seed 001 prescribes.

    Each simulated query touches one to three tech assets of one output port. It adds 1 to
    output_port_query_stats_daily and 1 per touched asset to tech_asset_stats_daily, so per
    (date, port, consumer) the touches are always >= the queries.
    """
    ports = [seeded_uuid(rng) for _ in range(OUTPUT_PORTS)]
    assets = {
        port: [seeded_uuid(rng) for _ in range(rng.randint(*ASSETS_PER_PORT))] for port in ports
    }
    consumers = [seeded_uuid(rng) for _ in range(BASE_CONSUMERS * scale)]
    # Each consumer uses some ports, with its own appetite; assets have a popularity skew.
    appetite = {
        (port, consumer): rng.uniform(1, 12)
        for port in ports
        for consumer in consumers
        if rng.random() < 0.6
    }
    asset_weights = {port: [1 / (rank + 1) for rank in range(len(assets[port]))] for port in ports}

    queries: dict[tuple[date, str, str], int] = defaultdict(int)
    touches: dict[tuple[date, str, str, str], int] = defaultdict(int)
    for day_index, day in enumerate(days()):
        weekday_factor = 0.3 if day.weekday() >= 5 else 1.0
        growth = 1 + day_index / DAYS  # usage grows over the quarter
        for (port, consumer), mean in appetite.items():
            if rng.random() < 0.25:
                continue  # not every consumer queries every port every day
            count = poisson(rng, mean * weekday_factor * growth)
            for _ in range(count):
                queries[(day, port, consumer)] += 1
                joined = rng.choices([1, 2, 3], weights=[0.6, 0.3, 0.1])[0]
                joined = min(joined, len(assets[port]))
                picked: set[str] = set()
                while len(picked) < joined:
                    picked.add(rng.choices(assets[port], weights=asset_weights[port])[0])
                for asset in sorted(picked):
                    touches[(day, port, asset, consumer)] += 1

    folder = out / "usage"
    query_rows = [[d.isoformat(), p, c, n] for (d, p, c), n in sorted(queries.items())]
    touch_rows = [[d.isoformat(), p, a, c, n] for (d, p, a, c), n in sorted(touches.items())]
    write_csv(folder / "output_port_query_stats_daily.csv", QUERY_STATS_HEADER, query_rows)
    write_csv(folder / "tech_asset_stats_daily.csv", ASSET_STATS_HEADER, touch_rows)
    return len(query_rows), len(touch_rows)


def poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method is fine for the small means used here (random has no poisson).
    limit, product, count = math.exp(-mean), rng.random(), 0
    while product > limit:
        product *= rng.random()
        count += 1
    return count


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def generate(out: Path, scale: int = 1) -> dict[str, int]:
    """Write all four CSVs under `out` and return their row counts."""
    # Separate streams so that changing one dataset does not reshuffle the other.
    activity, sleep = write_wearable(random.Random(SEED), out, scale)
    query_stats, asset_stats = write_usage(random.Random(SEED + 1), out, scale)
    return {
        "daily_activity": activity,
        "sleep": sleep,
        "output_port_query_stats_daily": query_stats,
        "tech_asset_stats_daily": asset_stats,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=1, help="multiply users and consumers")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    args = parser.parse_args()
    if args.scale < 1:
        parser.error("--scale must be >= 1")
    counts = generate(args.out, args.scale)
    for table, rows in counts.items():
        print(f"{table}: {rows} rows")


if __name__ == "__main__":
    main()
