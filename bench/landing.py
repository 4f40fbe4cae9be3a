"""Landing-zone benchmark: a sensor tick and manifest checking, each beside its floor.

    uv run python bench/landing.py                # 10,000 files, 1 GiB, median of 9, ~4 min
    uv run python bench/landing.py --quick        # 1,000 files, 128 MiB, median of 5, ~1 min
    uv run python bench/landing.py --postgres     # + the same on the local PostgreSQL, ~7 min
    uv run python bench/landing.py --profile      # + cProfile of the ticks (also when not met)
    uv run python bench/landing.py --sections tick --files 20000 --changed 500 --repeat 11

Sections (``--sections``, default both):

* ``tick``: a landing pipeline's folder of ``--files`` small CSV files (realistic names, a few
  KB each) under a generated floe project. Per round, interleaved: the floor (a bare
  ``os.scandir`` + ``entry.stat()`` of the folder), ``files.list_files``, the unchanged tick
  (the steady state: every file cached and settled) as ``tracker.scan_pipeline`` in one
  ops-store session and as a full Dagster evaluation of the ``landing_<pipeline>`` sensor
  (``build_sensor_context`` + ``evaluate_tick``, the ``ops_store`` resource set up and torn
  down as the daemon does per tick); then ``--changed`` files rewritten (content and mtime) and
  the two ticks a change costs: the one that sees it (the files are *settling*: cache rows
  reset, nothing hashed) and the next, which hashes them and returns them as candidates (run
  requests). A simulated run then records them in the manifest and marks them settled
  (untimed, what ``runner.py`` does), back to the steady state.
* ``checksum``: ``--hash-files`` files of ``--hash-mib`` MiB of random bytes (1 GiB by
  default). The tick that meets them as new stable files (hash each, look them up in the
  manifest, write the checksums to the cache) against hashing the same files alone
  (``hashlib.file_digest``), both on a warm page cache (a warm-up pass first), order alternated
  per round. Each round's tick uses a fresh pipeline name, first seen once untimed (settling).

SQLite ops store in the temp dir; ``--postgres`` adds a fresh schema on the local PostgreSQL
(``FLOE_TEST_POSTGRES_DSN``, default ``postgresql://postgres@127.0.0.1:5432/test``), dropped
after. Figures are medians over ``--repeat`` rounds, ratios are of the medians (and the median
of the per-round ratios) measured in the same run. Timers only, no assertions on time; the
script does check that each tick did what it should (files listed, hashed, candidates).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import hashlib
import io
import os
import pstats
import random
import statistics
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stderr
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import dagster as dg  # noqa: E402

from platform_defs.config import Project, load_project  # noqa: E402
from platform_defs.ingestion.assets import ingestion_definitions  # noqa: E402
from platform_defs.landing.files import list_files  # noqa: E402
from platform_defs.landing.runner import LandingFolder  # noqa: E402
from platform_defs.landing.sensors import landing_definitions  # noqa: E402
from platform_defs.landing.tracker import Scan, mark_settled, scan_pipeline  # noqa: E402
from platform_defs.ops.resource import OpsStoreResource  # noqa: E402
from platform_defs.ops.store import OpsStore, record_manifest_entry  # noqa: E402

PIPELINE = "wearable_daily_activity"
FOLDER = "wearable"
FILE_GLOB = "daily_activity*.csv"
HASH_GLOB = "part-*.bin"
HEADER = (
    "Id,ActivityDate,TotalSteps,TotalDistance,VeryActiveMinutes,FairlyActiveMinutes,"
    "LightlyActiveMinutes,SedentaryMinutes,Calories\n"
)
ROWS_PER_FILE = 60  # ~3 KB per file
DEVICES_PER_DAY = 25
FIRST_DAY = date(2024, 1, 1)
POSTGRES_DSN = os.environ.get("FLOE_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")
SECTIONS = ("tick", "checksum")
TICK_TARGET = 3.0
CHECKSUM_TARGET = 1.2

FLOE_YAML = f"""\
version: 1
ingestion:
  - name: {PIPELINE}
    destination: bronze.daily_activity
    write_disposition: merge
    primary_key: [Id, ActivityDate]
    landing_zone: true
    dlt:
      source: dlt.sources.filesystem
      config:
        bucket_url: {FOLDER}
        file_glob: "{FILE_GLOB}"
        format: csv
"""
MANIFEST_YAML = """\
version: 1
catalog:
  uri: sqlite:///.floe/catalog.db
  warehouse: .floe/warehouse
ops:
  url: sqlite:///.floe/ops.db
landing_zone:
  root: landing
"""


# -- the trees -----------------------------------------------------------------------------


def file_names(count: int) -> list[str]:
    """daily_activity_<day>_<device batch>.csv: 25 batches a day from 2024-01-01 on."""
    names = []
    for index in range(count):
        day = FIRST_DAY + timedelta(days=index // DEVICES_PER_DAY)
        names.append(f"daily_activity_{day:%Y%m%d}_batch{index % DEVICES_PER_DAY:02d}.csv")
    return names


def csv_text(name: str, version: int) -> str:
    """A few KB of daily-activity rows; another `version` gives other values."""
    draw = random.Random(f"{name}:{version}").random
    day = name.split("_")[2]
    when = f"{int(day[4:6])}/{int(day[6:8])}/{day[:4]}"
    lines = [HEADER]
    for _ in range(ROWS_PER_FILE):
        steps = int(draw() * 30_000)
        lines.append(
            f"{1_000_000_000 + int(draw() * 9e9)},{when},{steps},{steps * 0.00075:.2f},"
            f"{int(draw() * 120)},{int(draw() * 60)},{int(draw() * 400)},"
            f"{300 + int(draw() * 1_100)},{1_200 + int(draw() * 3_300)}\n"
        )
    return "".join(lines)


def write_csv_tree(folder: Path, count: int) -> list[str]:
    folder.mkdir(parents=True)
    names = file_names(count)
    for name in names:
        (folder / name).write_text(csv_text(name, 0), encoding="utf-8")
    return names


def change_files(folder: Path, names: list[str], version: int) -> None:
    """New content and a new mtime (set explicitly: a coarse clock must not hide it)."""
    stamp = time.time_ns()
    for offset, name in enumerate(names):
        path = folder / name
        path.write_text(csv_text(name, version), encoding="utf-8")
        os.utime(path, ns=(stamp + offset, stamp + offset))


def write_binary_tree(folder: Path, count: int, mib: int) -> list[Path]:
    folder.mkdir(parents=True)
    paths = []
    for index in range(count):
        path = folder / f"part-{index:04d}.bin"
        with path.open("wb") as stream:
            for _ in range(mib):
                stream.write(os.urandom(1 << 20))
        paths.append(path)
    return paths


def write_project(root: Path) -> Project:
    root.mkdir(parents=True, exist_ok=True)
    (root / "floe.yaml").write_text(FLOE_YAML, encoding="utf-8")
    (root / "platform-manifest.yaml").write_text(MANIFEST_YAML, encoding="utf-8")
    return load_project(root)


# -- the ops stores ------------------------------------------------------------------------


@dataclass
class Backend:
    """One ops store, as a store (direct ticks) and as the sensor's resource."""

    name: str
    url: str
    schema: str
    store: OpsStore = field(init=False)
    repository: dg.RepositoryDefinition | None = None
    """The sensor's code location (its asset graph resolves the run requests' selection)."""

    def __post_init__(self) -> None:
        self.store = OpsStore(self.url, self.schema)
        self.store.upgrade()

    def code_location(self, project: Project) -> None:
        defs = dg.Definitions.merge(
            ingestion_definitions(project),
            landing_definitions(project),
            dg.Definitions(resources={"ops_store": self.resource()}),
        )
        self.repository = defs.get_repository_def()

    def resource(self) -> OpsStoreResource:
        return OpsStoreResource(url=self.url, schema_name=self.schema)


@contextmanager
def backends(tmp: Path, postgres: bool) -> Iterator[list[Backend]]:
    opened = [Backend("sqlite", f"sqlite:///{tmp / 'ops.db'}", "ops")]
    schema = f"bench_landing_{uuid.uuid4().hex[:12]}"
    try:
        if postgres:
            opened.append(Backend("postgresql", POSTGRES_DSN, schema))
        yield opened
    finally:
        for backend in opened:
            backend.store.dispose()
        if postgres:
            import psycopg

            with psycopg.connect(POSTGRES_DSN, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


# -- one tick, three ways ------------------------------------------------------------------


def bare_listing(folder: Path) -> int:
    """The floor: what any listing must do, one scandir and the stat it holds per file."""
    count = 0
    with os.scandir(folder) as entries:
        for entry in entries:
            entry.stat()
            count += 1
    return count


def direct_tick(
    store: OpsStore,
    landing: LandingFolder,
    max_attempts: int,
    pipeline: str | None = None,
    quiet_digest: str | None = None,
) -> Scan:
    """``tracker.scan_pipeline`` in one ops-store session (committed at the end); with
    `quiet_digest`, as the sensor calls it with the digest its cursor keeps."""
    with store.session() as session:
        return scan_pipeline(
            session,
            pipeline=pipeline or landing.pipeline,
            folder=landing.folder,
            file_glob=landing.file_glob,
            prefix=landing.prefix,
            run_is_active=lambda run_id: False,
            max_attempts=max_attempts,
            quiet_digest=quiet_digest,
        )


def sensor_tick(instance: dg.DagsterInstance, backend: Backend, cursor: str | None = None) -> Any:
    """One Dagster evaluation of the sensor, as the daemon does it: a fresh context whose
    resources are set up for this tick and torn down after."""
    repository = backend.repository
    assert repository is not None
    sensor = repository.get_sensor_def(f"landing_{PIPELINE}")
    # the sensor's console logger is created with the context: its lines (files settling,
    # runs requested) go to a buffer instead of drowning the figures
    with (
        redirect_stderr(io.StringIO()),
        dg.build_sensor_context(
            instance=instance,
            repository_def=repository,
            sensor_name=sensor.name,
            resources={"ops_store": backend.resource()},
            cursor=cursor,
        ) as context,
    ):
        return sensor.evaluate_tick(context)


def record_run(store: OpsStore, pipeline: str, files: list[tuple[str, str, int]]) -> None:
    """What a successful run records (``runner.py``): each version ingested, then settled."""
    with store.session() as session:
        for name, checksum, size in files:
            record_manifest_entry(
                session,
                pipeline=pipeline,
                source_filename=name,
                checksum=checksum,
                size_bytes=size,
                row_count=ROWS_PER_FILE,
            )
        mark_settled(session, pipeline, [(name, checksum) for name, checksum, _ in files])


def record_scan(store: OpsStore, pipeline: str, scan: Scan) -> None:
    record_run(
        store, pipeline, [(c.source_filename, c.checksum, c.size_bytes) for c in scan.candidates]
    )


def record_requests(store: OpsStore, landing: LandingFolder, data: Any) -> int:
    files = []
    for request in data.run_requests:
        for ops in request.run_config["ops"].values():
            for item in ops["config"]["files"]:
                name = item["source_filename"]
                size = (landing.folder / landing.name_of(name)).stat().st_size
                files.append((name, item["checksum"], size))
    record_run(store, landing.pipeline, files)
    return len(files)


def expect(condition: bool, what: str) -> None:
    if not condition:
        raise RuntimeError(f"the benchmark's tick did not do what it should: {what}")


def timed(function: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds of one call. The garbage of earlier cases is collected first, off the clock: a
    full collection of this process's heap (Dagster, SQLAlchemy, dlt loaded) takes hundreds
    of milliseconds and would otherwise land on whichever case happens to trigger it."""
    gc.collect()
    started = time.perf_counter()
    value = function()
    return time.perf_counter() - started, value


# -- reporting -----------------------------------------------------------------------------


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def verdict(ratio: float, target: float) -> str:
    return "met" if ratio <= target else "NOT met"


def print_profile(label: str, function: Callable[[], Any], lines: int = 14) -> None:
    """Where one call's time goes: the functions with the most own time, then floe's own
    functions by cumulative time."""
    profile = cProfile.Profile()
    profile.enable()
    function()
    profile.disable()
    for order, restriction, what in (
        ("tottime", (lines,), "own time"),
        ("cumulative", (r"platform_defs|bench/landing", lines), "cumulative, floe code"),
    ):
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats(order).print_stats(*restriction)
        body = out.getvalue()
        start = body.find("   ncalls")
        print(f"\n  cProfile: {label}, {what}")
        print(textwrap.indent(body[start:].rstrip() if start >= 0 else body, "    "))


# -- the tick section ----------------------------------------------------------------------

CASE_LABELS = {
    "floor": "bare listing: scandir + stat (floor)",
    "list_files": "files.list_files",
    "direct:unchanged": "unchanged tick, scan_pipeline",
    "sensor:unchanged": "unchanged tick, sensor evaluation",
    "direct:unchanged+cursor": "unchanged tick, scan_pipeline, last quiet digest",
    "sensor:unchanged+cursor": "unchanged tick, sensor evaluation, with its cursor",
    "store setup": "ops store set-up alone (engine + migration check)",
    "direct:sees change": "N changed: tick that sees them, scan_pipeline",
    "direct:hashes change": "N changed: next tick, hashes them, scan_pipeline",
    "sensor:sees change": "N changed: tick that sees them, sensor",
    "sensor:hashes change": "N changed: next tick, hashes them, sensor",
}


def prime(backend: Backend, landing: LandingFolder, files: int, attempts: int) -> str:
    """From an empty cache to the steady state, the way the ticks and a run get there."""
    seconds = []
    spent, first = timed(lambda: direct_tick(backend.store, landing, attempts))
    expect(len(first.settling) == files and first.hashed == 0, "first tick: all settling")
    seconds.append(spent)
    spent, second = timed(lambda: direct_tick(backend.store, landing, attempts))
    expect(second.hashed == files and len(second.candidates) == files, "second tick: hashed")
    seconds.append(spent)
    seconds.append(timed(lambda: record_scan(backend.store, PIPELINE, second))[0])
    spent, third = timed(lambda: direct_tick(backend.store, landing, attempts))
    expect(not third.candidates and not third.settling and not third.hashed, "steady state")
    seconds.append(spent)
    return (
        f"first tick (all {files:,} settling) {seconds[0]:.1f}s, second (hashes {files:,}, "
        f"all candidates) {seconds[1]:.1f}s, a run's manifest records {seconds[2]:.1f}s, "
        f"steady state after {sum(seconds):.1f}s"
    )


def tick_section(
    tmp: Path, files: int, changed: int, repeat: int, postgres: bool, profile: bool
) -> dict[str, Any]:
    print(
        f"\n== tick: {files:,} CSV files in {FOLDER}/ (glob {FILE_GLOB}), N = {changed} changed "
        f"per round (content and mtime); median of {repeat}, cases interleaved"
    )
    started = time.perf_counter()
    names = write_csv_tree(tmp / "project" / "landing" / FOLDER, files)
    project = write_project(tmp / "project")
    folder = LandingFolder.of(project, project.pipeline(PIPELINE)).folder
    total = sum((folder / n).stat().st_size for n in names)
    print(
        f"  tree: {files:,} files, {total / 1e6:.1f} MB ({total / files / 1e3:.1f} KB each), "
        f"written in {time.perf_counter() - started:.1f}s"
    )
    # a persistent instance, as the daemon's (build_sensor_context refuses an ephemeral one)
    (tmp / "dagster").mkdir()
    with dg.DagsterInstance.local_temp(str(tmp / "dagster")) as instance:
        return _ticks(tmp, project, names, changed, repeat, postgres, profile, instance)


def _ticks(
    tmp: Path,
    project: Project,
    names: list[str],
    changed: int,
    repeat: int,
    postgres: bool,
    profile: bool,
    instance: dg.DagsterInstance,
) -> dict[str, Any]:
    files = len(names)
    landing = LandingFolder.of(project, project.pipeline(PIPELINE))
    attempts = project.manifest.landing_zone.max_attempts
    rng = random.Random(8)
    figures: dict[str, list[float]] = {}

    def add(key: str, seconds: float) -> None:
        figures.setdefault(key, []).append(seconds)

    with backends(tmp, postgres) as opened:
        for backend in opened:
            backend.code_location(project)
            print(f"  {backend.name} primed: {prime(backend, landing, files, attempts)}")
            # one untimed evaluation: the sensor's first-use imports and set-up off the clock
            data = sensor_tick(instance, backend)
            expect(not data.run_requests, f"sensor warm-up on {backend.name} requested runs")

        version = 0
        for round_ in range(repeat):
            add("floor", timed(lambda: expect(bare_listing(landing.folder) == files, "floor"))[0])
            seconds, listed = timed(lambda: list_files(landing.folder, landing.file_glob))
            expect(len(listed) == files, "list_files")
            add("list_files", seconds)
            for backend in opened:
                seconds, scan = timed(partial(direct_tick, backend.store, landing, attempts))
                expect(
                    scan.listed == files and not scan.hashed and not scan.settling,
                    f"unchanged direct tick on {backend.name}: {scan}",
                )
                add(f"{backend.name}:direct:unchanged", seconds)
                seconds, data = timed(partial(sensor_tick, instance, backend))
                expect(
                    not data.run_requests
                    and f"{files} file(s) listed, 0 hashed" in (data.skip_message or ""),
                    f"unchanged sensor tick on {backend.name}: {data.skip_message}",
                )
                add(f"{backend.name}:sensor:unchanged", seconds)
                # as the daemon runs it: the cursor the previous (quiet) tick left
                seconds, skipped = timed(
                    partial(direct_tick, backend.store, landing, attempts, None, scan.digest)
                )
                expect(skipped.skipped and skipped.listed == files, "quiet digest skip")
                add(f"{backend.name}:direct:unchanged+cursor", seconds)
                seconds, again = timed(partial(sensor_tick, instance, backend, data.cursor))
                expect(
                    "unchanged since the last quiet tick" in (again.skip_message or ""),
                    f"sensor with its cursor on {backend.name}: {again.skip_message}",
                )
                add(f"{backend.name}:sensor:unchanged+cursor", seconds)
                # the store's own set-up, as each sensor evaluation does it (engine + migrate)
                add(f"{backend.name}:store setup", timed(partial(open_store, backend))[0])
            # every backend's cache sees the same changes: one change, then each backend's ticks
            for how in ("direct", "sensor"):
                version += 1
                change_files(landing.folder, rng.sample(names, changed), version)
                for backend in opened:
                    if how == "direct":
                        seconds, scan = timed(
                            partial(direct_tick, backend.store, landing, attempts)
                        )
                        expect(len(scan.settling) == changed and not scan.hashed, "sees change")
                    else:
                        seconds, data = timed(partial(sensor_tick, instance, backend))
                        expect(
                            not data.run_requests
                            and f"{changed} settling" in (data.skip_message or ""),
                            f"sensor sees change: {data.skip_message}",
                        )
                    add(f"{backend.name}:{how}:sees change", seconds)
                for backend in opened:
                    if how == "direct":
                        seconds, scan = timed(
                            partial(direct_tick, backend.store, landing, attempts)
                        )
                        expect(
                            scan.hashed == changed and len(scan.candidates) == changed,
                            f"hashing tick: {scan.hashed} hashed, {len(scan.candidates)} to load",
                        )
                        record_scan(backend.store, PIPELINE, scan)
                    else:
                        seconds, data = timed(partial(sensor_tick, instance, backend))
                        recorded = record_requests(backend.store, landing, data)
                        expect(recorded == changed, f"sensor requested {recorded} files")
                    add(f"{backend.name}:{how}:hashes change", seconds)
            print(f"  round {round_ + 1} done", flush=True)

        floor = median(figures["floor"])
        print()
        header = f"  {'case':<60} {'median ms':>9} {'x floor':>7}  rounds ms"
        print(header)
        print("  " + "-" * (len(header) + 30))
        for key, values in figures.items():
            backend_name, _, case = key.partition(":")
            label = CASE_LABELS[case or key].replace("N changed", f"{changed} changed")
            label = f"{backend_name}: {label}" if case else label
            rounds = ", ".join(f"{v * 1e3:.0f}" for v in values)
            print(
                f"  {label:<60} {median(values) * 1e3:9.1f} {median(values) / floor:7.2f}  {rounds}"
            )
        results: dict[str, Any] = {"floor": floor, "figures": figures, "verdicts": {}}
        print()
        not_met = False
        for backend in opened:
            for how in ("direct", "sensor", "direct+cursor", "sensor+cursor"):
                base, _, cursor = how.partition("+")
                values = figures[f"{backend.name}:{base}:unchanged{'+cursor' if cursor else ''}"]
                ratio = median(values) / floor
                each = median([v / f for v, f in zip(values, figures["floor"], strict=True)])
                met = verdict(ratio, TICK_TARGET)
                results["verdicts"][f"{backend.name}:{how}"] = (ratio, met)
                not_met = not_met or met != "met"
                what = "scan_pipeline" if base == "direct" else "sensor evaluation"
                what += " with the cursor (the daemon's path)" if cursor else ", full scan"
                print(
                    f"unchanged tick / bare listing, {what} ({backend.name}): {ratio:.2f}x of the "
                    f"medians ({median(values) * 1e3:.1f} vs {floor * 1e3:.1f} ms), {each:.2f}x "
                    f"median of the rounds; target <= {TICK_TARGET:g}x: {met}"
                )
            for how in ("direct", "sensor"):
                sees = median(figures[f"{backend.name}:{how}:sees change"])
                hashes = median(figures[f"{backend.name}:{how}:hashes change"])
                what = "scan_pipeline" if how == "direct" else "sensor evaluation"
                print(
                    f"{changed} of {files:,} changed, {what} ({backend.name}): the tick that "
                    f"sees them {sees / floor:.2f}x the floor, the next (hashes them, "
                    f"{'requests the run' if how == 'sensor' else 'returns them'}) "
                    f"{hashes / floor:.2f}x"
                )
        if profile or not_met:
            for backend in opened:
                print_profile(
                    f"unchanged tick, scan_pipeline ({backend.name})",
                    partial(direct_tick, backend.store, landing, attempts),
                )
                print_profile(
                    f"unchanged tick, sensor evaluation ({backend.name})",
                    partial(sensor_tick, instance, backend),
                )
    return results


def open_store(backend: Backend) -> None:
    store = OpsStore(backend.url, backend.schema)
    try:
        store.upgrade()
    finally:
        store.dispose()


# -- the checksum section ------------------------------------------------------------------


def hash_alone(paths: list[Path]) -> list[str]:
    digests = []
    for path in paths:
        with path.open("rb") as stream:
            digests.append(hashlib.file_digest(stream, "sha256").hexdigest())
    return digests


def checksum_section(
    tmp: Path, count: int, mib: int, repeat: int, postgres: bool, profile: bool
) -> dict[str, Any]:
    size = count * mib * (1 << 20)
    print(
        f"\n== checksum: {count} files x {mib} MiB = {size / (1 << 30):.2f} GiB of random "
        f"bytes, new stable files; median of {repeat}, warm page cache, order alternated"
    )
    folder = tmp / "project" / "landing" / "bulk"
    started = time.perf_counter()
    paths = write_binary_tree(folder, count, mib)
    print(f"  written in {time.perf_counter() - started:.1f}s")
    landing = LandingFolder("bulk", folder, HASH_GLOB, "csv", "bulk/")
    expected = dict(zip((f"bulk/{p.name}" for p in paths), hash_alone(paths), strict=True))
    figures: dict[str, list[float]] = {"hash alone": []}
    with backends(tmp, postgres) as opened:
        for round_ in range(repeat):
            cases: list[tuple[str, Callable[[], Any]]] = [("hash alone", lambda: hash_alone(paths))]
            for backend in opened:
                pipeline = f"bulk_{round_}"
                first = direct_tick(backend.store, landing, 3, pipeline)  # untimed: settling
                expect(len(first.settling) == count, "checksum: first tick settles")

                def tick(b: Backend = backend, p: str = pipeline) -> None:
                    scan = direct_tick(b.store, landing, 3, p)
                    found = {c.source_filename: c.checksum for c in scan.candidates}
                    expect(scan.hashed == count and found == expected, "checksum tick")

                cases.append((f"{backend.name}: tick hashing new files", tick))
            if round_ % 2:
                cases.reverse()
            for key, function in cases:
                figures.setdefault(key, []).append(timed(function)[0])
            print(f"  round {round_ + 1} done", flush=True)
        alone = median(figures["hash alone"])
        print()
        header = f"  {'case':<40} {'median s':>9} {'GB/s':>6} {'x alone':>8}  rounds s"
        print(header)
        print("  " + "-" * (len(header) + 20))
        for key, values in figures.items():
            seconds = median(values)
            rounds = ", ".join(f"{v:.3f}" for v in values)
            print(
                f"  {key:<40} {seconds:9.3f} {size / seconds / 1e9:6.2f} "
                f"{seconds / alone:8.3f}  {rounds}"
            )
        print()
        results: dict[str, Any] = {"alone": alone, "figures": figures, "verdicts": {}}
        for backend in opened:
            values = figures[f"{backend.name}: tick hashing new files"]
            ratio = median(values) / alone
            each = median([v / a for v, a in zip(values, figures["hash alone"], strict=True)])
            met = verdict(ratio, CHECKSUM_TARGET)
            results["verdicts"][backend.name] = (ratio, met)
            print(
                f"manifest checking / hashing alone ({backend.name}): {ratio:.3f}x of the "
                f"medians, {each:.3f}x median of the rounds; target <= {CHECKSUM_TARGET:g}x: {met}"
            )
            if profile or met != "met":
                pipeline = f"bulk_profile_{backend.name}"
                direct_tick(backend.store, landing, 3, pipeline)
                print_profile(
                    f"tick hashing new files ({backend.name})",
                    lambda b=backend, p=pipeline: direct_tick(b.store, landing, 3, p),
                )
    return results


# -- main ----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 files, 128 MiB, 5 rounds")
    parser.add_argument("--sections", default=",".join(SECTIONS), help=", ".join(SECTIONS))
    parser.add_argument("--files", type=int, default=None, help="tick: files (default 10,000)")
    parser.add_argument("--changed", type=int, default=None, help="tick: changed (default 100)")
    parser.add_argument("--hash-files", type=int, default=None, help="checksum: files (64)")
    parser.add_argument("--hash-mib", type=int, default=None, help="checksum: MiB each (16)")
    parser.add_argument("--repeat", type=int, default=None, help="rounds (default 9; quick 5)")
    parser.add_argument("--postgres", action="store_true", help="also on the local PostgreSQL")
    parser.add_argument("--profile", action="store_true", help="cProfile each tick measured")
    args = parser.parse_args()
    files = args.files or (1_000 if args.quick else 10_000)
    changed = args.changed or (10 if args.quick else 100)
    hash_files = args.hash_files or (8 if args.quick else 64)
    hash_mib = args.hash_mib or 16
    repeat = args.repeat or (5 if args.quick else 9)
    sections = [s for s in args.sections.split(",") if s]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}; choose from {', '.join(SECTIONS)}")
    if changed > files:
        parser.error("--changed cannot exceed --files")
    started = time.perf_counter()
    print(
        f"landing benchmark, {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    with tempfile.TemporaryDirectory(prefix="bench-landing-") as tmp_dir:
        tmp = Path(tmp_dir)
        if "tick" in sections:
            tick_section(tmp / "tick", files, changed, repeat, args.postgres, args.profile)
        if "checksum" in sections:
            checksum_section(
                tmp / "checksum", hash_files, hash_mib, repeat, args.postgres, args.profile
            )
    print(
        f"\nbench took {time.perf_counter() - started:.0f}s, "
        f"load average at the end {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
