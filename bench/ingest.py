"""Ingestion benchmark: the floe dlt plugin (committing through plugins.iceberg) and its floors.

    uv run python bench/ingest.py                 # all sections at 1M rows, ~10 min on 2 cores
    uv run python bench/ingest.py --quick         # 100k rows, 1 repeat, memory at 100k/1M
    uv run python bench/ingest.py --sections append,merge --rows 200000 --repeat 3
    uv run python bench/ingest.py --sections append --cases parquet,pyiceberg,dlt_arrow,...
    uv run python bench/ingest.py --memory        # plugin vs dlt's own path, peak RSS 1M/10M

Sections (``--sections``, default all):

* ``append``: an Arrow source of ``--rows`` rows through the plugin vs a plain pyiceberg
  ``table.append(arrow)`` (and the parquet floor, dlt's own Iceberg path, optional dict
  cases); throughput ratio, files and bytes written, time per phase.
* ``merge``: ``--rows`` rows merged on ``id``: the first load, an unchanged re-run (must commit
  nothing) against the time to read the source alone, and 1% of the rows changed, clustered
  (the last 1% of the key range) and scattered (1% random keys), each from the first load.
* ``memory``: peak RSS of an append at 1M and 10M rows (lazy source, so the source itself is
  bounded) and of the merge section's process.
* ``make_run``: ``python -m platform_defs.main`` (and the ``prepare`` step ``make run`` runs
  first) in a fresh temp copy of the project: cold, then warm on unchanged sample data.

Every measurement runs in a fresh subprocess against a fresh temp SQLite catalog; each first
runs the same work on 1,000 rows (imports and first-use setup off the clock). Peak RSS is the
child's own ``ru_maxrss``. Timers only, no assertions on time (see bench/README.md).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from tests.catalogs import local_catalog_properties  # noqa: E402

BATCH_ROWS = 100_000
WARMUP_ROWS = 1_000
DICT_BATCH_ROWS = 10_000
CHANGE_FRACTION = 0.01
BASE_TS = np.datetime64("2024-01-01T00:00:00", "us")
TABLE = "bronze.events"
SECTIONS = ("append", "merge", "memory", "make_run")

# Set in the measuring subprocess before the clock starts (timing mode only).
PREGENERATED: pa.Table | None = None
PREGENERATED_DICTS: list[list[dict[str, Any]]] | None = None
LAST_DETAILS: dict[str, Any] = {}


def generate_batch(start: int, count: int) -> pa.Table:
    """Rows [start, start+count): the same values for the same range, in every process."""
    rng = np.random.default_rng(start)
    ids = np.arange(start, start + count, dtype=np.int64)
    return pa.table(
        {
            "id": ids,
            "event_ts": pa.array(BASE_TS + ids * 1_000_000, pa.timestamp("us", tz="UTC")),
            "label": pa.array([f"label-{i % 1000:04d}" for i in range(start, start + count)]),
            "amount": rng.normal(100.0, 25.0, count),
            "active": rng.random(count) < 0.5,
        }
    )


def generate_batches(rows: int, batch_rows: int = BATCH_ROWS) -> Iterator[pa.Table]:
    for start in range(0, rows, batch_rows):
        yield generate_batch(start, min(batch_rows, rows - start))


def arrow_source(rows: int) -> Any:
    """Arrow batches: pregenerated (timing) or generated lazily (memory, bounded)."""
    import dlt

    @dlt.resource(name="events")
    def events() -> Iterator[pa.Table]:
        if PREGENERATED is not None and PREGENERATED.num_rows == rows:
            yield from (pa.Table.from_batches([b]) for b in PREGENERATED.to_batches(BATCH_ROWS))
        else:
            yield from generate_batches(rows)

    return events


def dict_source(rows: int) -> Any:
    """The same rows as Python dicts, the way most API sources hand them to dlt."""
    import dlt

    @dlt.resource(name="events")
    def events() -> Iterator[list[dict[str, Any]]]:
        if PREGENERATED_DICTS is not None and sum(map(len, PREGENERATED_DICTS)) == rows:
            yield from PREGENERATED_DICTS
        else:
            for table in generate_batches(rows, DICT_BATCH_ROWS):
                yield table.to_pylist()

    return events


def parquet_source(path: str) -> Any:
    """A parquet file on disk, read in 100k-row Arrow batches (the merge source)."""
    import dlt

    @dlt.resource(name="events")
    def events() -> Iterator[pa.Table]:
        # pre_buffer=False: pyarrow otherwise buffers the whole file across row groups
        for batch in pq.ParquetFile(path, pre_buffer=False).iter_batches(batch_size=BATCH_ROWS):
            yield pa.Table.from_batches([batch])

    return events


# -- append cases (each runs inside a fresh subprocess) ---------------------------------


def case_parquet(rows: int, tmp: Path) -> int:
    assert PREGENERATED is not None
    pq.write_table(PREGENERATED, tmp / "floor.parquet")
    return pq.ParquetFile(tmp / "floor.parquet").metadata.num_rows


def case_pyiceberg(rows: int, tmp: Path) -> int:
    from pyiceberg.catalog import load_catalog

    assert PREGENERATED is not None
    catalog = load_catalog("bench", **local_catalog_properties(tmp))
    catalog.create_namespace("bronze")
    table = catalog.create_table(TABLE, schema=PREGENERATED.schema)
    table.append(PREGENERATED)
    return -1


def _dlt_own(rows: int, tmp: Path, source: Any) -> int:
    import dlt

    properties = local_catalog_properties(tmp)
    # dlt's own path, untouched, but registering tables in a persistent SQL catalog
    os.environ["ICEBERG_CATALOG__ICEBERG_CATALOG_NAME"] = "bench"
    os.environ["ICEBERG_CATALOG__ICEBERG_CATALOG_TYPE"] = "sql"
    os.environ["ICEBERG_CATALOG__ICEBERG_CATALOG_CONFIG"] = json.dumps(properties)
    pipeline = dlt.pipeline(
        pipeline_name="bench_dlt",
        pipelines_dir=str(tmp / "dlt"),
        destination=dlt.destinations.filesystem(bucket_url=properties["warehouse"]),
        dataset_name="bronze",
    )
    pipeline.run(source, table_format="iceberg", loader_file_format="parquet")
    return -1


def case_dlt_arrow(rows: int, tmp: Path) -> int:
    return _dlt_own(rows, tmp, arrow_source(rows))


def case_dlt_dicts(rows: int, tmp: Path) -> int:
    return _dlt_own(rows, tmp, dict_source(rows))


def _plugin(
    tmp: Path,
    source: str,
    source_config: dict[str, Any],
    *,
    mode: str = "append",
    primary_key: tuple[str, ...] = (),
) -> Any:
    """One run of the plugin into `tmp`'s catalog; the result (its details kept aside)."""
    from plugins.base import IngestionConfig, PluginContext
    from plugins.dlt import DltIngestionPlugin

    context = PluginContext(
        catalog_name="bench",
        catalog_properties=local_catalog_properties(tmp),
        work_dir=tmp / "work",
        project_dir=tmp,
    )
    plugin = DltIngestionPlugin(context)
    config = IngestionConfig(
        name="bench",
        source=source,
        destination_table=TABLE,
        write_disposition=mode,  # type: ignore[arg-type]
        primary_key=primary_key,
        options={"config": source_config},
    )
    result = plugin.run(plugin.create_pipeline(config))
    if not result.success:
        raise RuntimeError(result.error)
    LAST_DETAILS.clear()
    LAST_DETAILS.update(result.details)
    return result


def case_plugin_arrow(rows: int, tmp: Path) -> int:
    return _plugin(tmp, "ingest:arrow_source", {"rows": rows}).rows_loaded


def case_plugin_dicts(rows: int, tmp: Path) -> int:
    return _plugin(tmp, "ingest:dict_source", {"rows": rows}).rows_loaded


CASES = {
    "parquet": ("(a) pyarrow write_table (floor)", case_parquet),
    "pyiceberg": ("(b) pyiceberg table.append", case_pyiceberg),
    "dlt_arrow": ("(c) dlt own iceberg, arrow", case_dlt_arrow),
    "plugin_arrow": ("(d) floe plugin, arrow", case_plugin_arrow),
    "dlt_dicts": ("(c') dlt own iceberg, dicts", case_dlt_dicts),
    "plugin_dicts": ("(e) floe plugin, dicts", case_plugin_dicts),
}
DEFAULT_CASES = "parquet,pyiceberg,dlt_arrow,plugin_arrow"
PHASES = ("extract_seconds", "normalize_seconds", "commit_seconds")


def _snapshot_figures(tmp: Path) -> dict[str, Any]:
    """The current snapshot of the bench table, read through a fresh catalog client."""
    from pyiceberg.catalog import load_catalog

    catalog = load_catalog("bench", **local_catalog_properties(tmp))
    table = catalog.load_table(TABLE)
    snapshot = table.current_snapshot()
    summary: Any = snapshot.summary if snapshot and snapshot.summary else {}
    return {
        "snapshot_id": snapshot.snapshot_id if snapshot else None,
        "snapshots": len(table.snapshots()),
        "total_rows": int(summary.get("total-records") or 0),
        "total_files": int(summary.get("total-data-files") or 0),
        "total_bytes": int(summary.get("total-files-size") or 0),
        "added_files": int(summary.get("added-data-files") or 0),
        "added_bytes": int(summary.get("added-files-size") or 0),
        "deleted_files": int(summary.get("deleted-data-files") or 0),
        "removed_bytes": int(summary.get("removed-files-size") or 0),
    }


def _written(tmp: Path, case: str) -> dict[str, Any]:
    """Rows, files and bytes the case committed (untimed)."""
    if case == "parquet":
        size = (tmp / "floor.parquet").stat().st_size
        return {"total_rows": -1, "added_files": 1, "added_bytes": size}
    return _snapshot_figures(tmp)


@contextmanager
def _no_pregenerated(module: Any) -> Iterator[None]:
    saved = module.PREGENERATED, module.PREGENERATED_DICTS
    module.PREGENERATED = pa.concat_tables(generate_batches(WARMUP_ROWS))
    module.PREGENERATED_DICTS = None
    try:
        yield
    finally:
        module.PREGENERATED, module.PREGENERATED_DICTS = saved


def _importable_self() -> Any:
    """This file as the module `ingest` (so the plugin can import `ingest:arrow_source`)."""
    sys.path.insert(0, str(HERE))
    import ingest

    return ingest


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(case: str, rows: int, pregenerate: bool) -> None:
    """Run one append case in this (fresh) process and print its figures as JSON."""
    ingest = _importable_self()
    if pregenerate:
        ingest.PREGENERATED = pa.concat_tables(generate_batches(rows))
        if case.endswith("dicts"):
            ingest.PREGENERATED_DICTS = [
                b.to_pylist() for b in ingest.PREGENERATED.to_batches(DICT_BATCH_ROWS)
            ]
    case_function = getattr(ingest, CASES[case][1].__name__)
    if case != "parquet":
        # warm-up on 1,000 rows so imports and first-use setup stay off the clock
        with tempfile.TemporaryDirectory(prefix=f"bench-warmup-{case}-") as tmp_dir:
            with _no_pregenerated(ingest):
                case_function(WARMUP_ROWS, Path(tmp_dir))
    baseline_rss = _max_rss_mb()
    with tempfile.TemporaryDirectory(prefix=f"bench-{case}-") as tmp_dir:
        tmp = Path(tmp_dir)
        started = time.perf_counter()
        case_function(rows, tmp)
        seconds = time.perf_counter() - started
        peak = _max_rss_mb()
        written = _written(tmp, case)
    if written["total_rows"] not in (-1, rows):
        raise RuntimeError(f"case {case} committed {written['total_rows']} rows, expected {rows}")
    phases = {p: ingest.LAST_DETAILS[p] for p in PHASES if p in ingest.LAST_DETAILS}
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_rss_mb": peak,
                "baseline_rss_mb": baseline_rss,
                "files": written["added_files"],
                "bytes": written["added_bytes"],
                **phases,
            }
        )
    )


def _run_child(arguments: list[str], what: str) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), *arguments]
    env = {**os.environ, "RUNTIME__DLTHUB_TELEMETRY": "false"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(case: str, rows: int, pregenerate: bool) -> dict[str, Any]:
    arguments = ["--child", case, "--rows", str(rows)]
    if not pregenerate:
        arguments.append("--lazy")
    return _run_child(arguments, f"case {case}")


# -- merge (one scenario per fresh subprocess) ------------------------------------------


def write_merge_sources(rows: int, directory: Path) -> dict[str, Path]:
    """base, clustered (last 1% of the ids changed) and scattered (1% random ids changed)
    versions of the same `rows` rows, as parquet files of 100k-row row groups."""
    directory.mkdir(parents=True, exist_ok=True)
    base = pa.concat_tables(generate_batches(rows))
    changed = max(1, int(rows * CHANGE_FRACTION))
    clustered_ids = np.arange(rows - changed, rows)
    scattered_ids = np.random.default_rng(6).choice(rows, size=changed, replace=False)
    paths = {}
    for name, ids in (("base", None), ("clustered", clustered_ids), ("scattered", scattered_ids)):
        table = base
        if ids is not None:
            amount = table.column("amount").to_numpy().copy()
            amount[ids] += 1.0  # a business column changes: these rows must be rewritten
            table = table.set_column(table.schema.get_field_index("amount"), "amount", [amount])
        paths[name] = directory / f"{name}.parquet"
        pq.write_table(table, paths[name], row_group_size=BATCH_ROWS)
    return paths


def _read_source_dlt(path: Path, tmp: Path) -> float:
    """Seconds to read the source alone through the plugin's own dlt path (extract +
    normalize with the plugin's dlt settings), committing nothing."""
    import dlt

    from plugins.dlt.options import DltPluginSettings
    from plugins.dlt.plugin import _dlt_settings_env  # the plugin's dlt config, as it sets it

    settings_env = _dlt_settings_env(DltPluginSettings())
    pipeline = dlt.pipeline(
        pipeline_name="bench_read",
        pipelines_dir=str(tmp / "dlt_read"),
        destination=dlt.destinations.filesystem(bucket_url=(tmp / "dlt_read_dest").as_uri()),
        dataset_name="bronze",
    )
    resource_ = parquet_source(str(path))
    resource_.apply_hints(write_disposition="merge", primary_key=["id"])
    saved = {key: os.environ.get(key) for key in settings_env}
    os.environ.update(settings_env)
    try:
        started = time.perf_counter()
        pipeline.extract(resource_, loader_file_format="parquet")
        pipeline.normalize()
        return time.perf_counter() - started
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _read_source_pyarrow(path: Path) -> float:
    started = time.perf_counter()
    pq.read_table(path)
    return time.perf_counter() - started


def _merge_step(tmp: Path, path: Path) -> dict[str, Any]:
    """One merge run of the plugin from `path`, with what it did to the table."""
    try:
        before = _snapshot_figures(tmp)
    except Exception:  # no table yet
        before = {"snapshot_id": None, "snapshots": 0, "total_files": 0, "total_bytes": 0}
    started = time.perf_counter()
    result = _plugin(
        tmp, "ingest:parquet_source", {"path": str(path)}, mode="merge", primary_key=("id",)
    )
    seconds = time.perf_counter() - started
    after = _snapshot_figures(tmp)
    committed = after["snapshot_id"] != before["snapshot_id"]
    details = result.details
    return {
        "seconds": seconds,
        **{p: details.get(p) for p in PHASES},
        "rows_loaded": result.rows_loaded,
        "rows_updated": details.get("rows_updated"),
        "rows_inserted": details.get("rows_inserted"),
        "new_snapshots": after["snapshots"] - before["snapshots"],
        "committed": committed,
        "files_written": after["added_files"] if committed else 0,
        "bytes_written": after["added_bytes"] if committed else 0,
        "files_removed": after["deleted_files"] if committed else 0,
        "files_before": before["total_files"],
        "bytes_before": before["total_bytes"],
        "total_rows": after["total_rows"],
        "peak_rss_mb": _max_rss_mb(),
    }


def _merge_scenario(sources: dict[str, Path], tmp: Path) -> dict[str, Any]:
    figures: dict[str, Any] = {
        "read_pyarrow": statistics.median(_read_source_pyarrow(sources["base"]) for _ in range(3)),
        "read_dlt": _read_source_dlt(sources["base"], tmp / "read"),
    }
    first = tmp / "table_a"  # first load, unchanged re-run, clustered change
    figures["first"] = _merge_step(first, sources["base"])
    figures["unchanged"] = _merge_step(first, sources["base"])
    figures["clustered"] = _merge_step(first, sources["clustered"])
    second = tmp / "table_b"  # a second first load, then the scattered change
    figures["first_b"] = _merge_step(second, sources["base"])
    figures["scattered"] = _merge_step(second, sources["scattered"])
    return figures


def child_merge(rows: int, source_dir: Path) -> None:
    """The merge scenario at `rows` (sources written by the parent), figures as JSON."""
    _importable_self()
    with tempfile.TemporaryDirectory(prefix="bench-merge-warmup-") as tmp_dir:
        warm = Path(tmp_dir)
        _merge_scenario(write_merge_sources(WARMUP_ROWS, warm / "sources"), warm)
    baseline_rss = _max_rss_mb()
    sources = {name: source_dir / f"{name}.parquet" for name in ("base", "clustered", "scattered")}
    with tempfile.TemporaryDirectory(prefix="bench-merge-") as tmp_dir:
        figures = _merge_scenario(sources, Path(tmp_dir))
    figures["baseline_rss_mb"] = baseline_rss
    figures["peak_rss_mb"] = _max_rss_mb()
    print(json.dumps(figures))


def child_profile(rows: int, source_dir: Path) -> None:
    """cProfile of one unchanged merge re-run (after a first load), top functions."""
    import cProfile
    import pstats

    _importable_self()
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as tmp_dir:
        tmp = Path(tmp_dir)
        warm = write_merge_sources(WARMUP_ROWS, tmp / "warm_sources")
        _merge_step(tmp / "warm", warm["base"])
        _merge_step(tmp / "warm", warm["base"])
        _merge_step(tmp / "table", source_dir / "base.parquet")
        profile = cProfile.Profile()
        profile.enable()
        figures = _merge_step(tmp / "table", source_dir / "base.parquet")
        profile.disable()
    print(f"unchanged re-run of {rows:,} rows: {figures['seconds']:.2f}s [{_phases([figures])}]")
    stats = pstats.Stats(profile, stream=sys.stdout)
    stats.sort_stats("cumulative").print_stats(r"plugins/|acero|parquet/core|pipeline\.py", 25)


# -- make run (the main job in a temp copy of the project) ------------------------------


def _copy_project(root: Path) -> None:
    for name in ("floe.yaml", "platform-manifest.yaml"):
        shutil.copy(REPO / name, root / name)
    shutil.copytree(REPO / "sample_data", root / "sample_data")
    dagster_home = root / ".floe" / "dagster"
    dagster_home.mkdir(parents=True)
    shutil.copy(REPO / "dagster.yaml", dagster_home / "dagster.yaml")


def _timed(command: list[str], env: dict[str, str], cwd: Path, what: str) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return seconds, done.stdout


def child_run_report(dagster_home: str) -> None:
    """Per-step seconds and per-bronze-asset phases of the latest run in `dagster_home`."""
    import dagster as dg

    os.environ["DAGSTER_HOME"] = dagster_home
    with dg.DagsterInstance.get() as instance:
        run = instance.get_runs(limit=1)[0]
        steps = {
            s.step_key: (s.end_time or 0) - (s.start_time or 0)
            for s in instance.get_run_step_stats(run.run_id)
        }
        assets: dict[str, Any] = {}
        records = instance.get_records_for_run(
            run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
        ).records
        for record in records:
            materialization = record.event_log_entry.dagster_event.step_materialization_data
            metadata = materialization.materialization.metadata
            if "run_details" not in metadata:
                continue
            details = metadata["run_details"].value
            assets[materialization.materialization.asset_key.to_user_string()] = {
                **{p: details.get(p) for p in PHASES},
                "rows_loaded": getattr(metadata.get("rows_loaded"), "value", None),
                "snapshot_ids": details.get("snapshot_ids"),
            }
    print(json.dumps({"steps": steps, "assets": assets}))


def make_run(warm_runs: int) -> dict[str, Any]:
    """`make run`'s two steps (prepare, main) in a temp project: one cold run, then
    `warm_runs` runs on unchanged sample data."""
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-make-run-") as tmp_dir:
        root = Path(tmp_dir)
        _copy_project(root)
        env = {
            **os.environ,
            "FLOE_PROJECT_DIR": str(root),
            "DAGSTER_HOME": str(root / ".floe" / "dagster"),
            "RUNTIME__DLTHUB_TELEMETRY": "false",
            "DO_NOT_TRACK": "1",
        }
        env.pop("FLOE_CATALOG_URI", None)
        env.pop("FLOE_WAREHOUSE", None)
        for index in range(1 + warm_runs):
            label = "cold" if index == 0 else f"warm {index}"
            prepare, _ = _timed(
                [sys.executable, "-m", "platform_defs.transform.prepare"], env, REPO, "prepare"
            )
            main, _ = _timed([sys.executable, "-m", "platform_defs.main"], env, REPO, label)
            report = _run_child(["--child-run-report", env["DAGSTER_HOME"]], "run report")
            runs.append({"label": label, "prepare": prepare, "main": main, **report})
            print(
                f"  {label:<8} prepare {prepare:6.1f}s   main {main:6.1f}s   "
                f"(load average {os.getloadavg()[0]:.1f})",
                flush=True,
            )
    return {"runs": runs}


# -- reporting ---------------------------------------------------------------------------


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _mb(size: float) -> str:
    return f"{size / 1e6:,.1f} MB"


def _phases(runs: list[dict[str, Any]]) -> str:
    parts = []
    for phase in PHASES:
        values = [r[phase] for r in runs if r.get(phase) is not None]
        if values:
            parts.append(f"{phase.split('_')[0]} {_median(values):.2f}s")
    return ", ".join(parts) if parts else "-"


def append_section(rows: int, repeat: int, dict_repeat: int, cases: list[str]) -> dict[str, Any]:
    print(
        f"\n== append: {rows:,} rows x 5 columns, Arrow source; median of {repeat} "
        f"(dict cases: {dict_repeat}); cases interleaved, fresh process each"
    )
    runs: dict[str, list[dict[str, Any]]] = {case: [] for case in cases}
    for round_ in range(max(repeat, dict_repeat)):
        for case in cases:
            if round_ < (dict_repeat if case.endswith("dicts") else repeat):
                runs[case].append(measure(case, rows, pregenerate=True))
        print(f"  round {round_ + 1} done", flush=True)
    medians = {case: _median([r["seconds"] for r in runs[case]]) for case in cases}
    floor = medians.get("parquet")
    header = (
        f"{'case':<32} {'median s':>8} {'rows/s':>11} {'x floor':>7} {'files':>5} "
        f"{'written':>10} {'+RSS MB':>7}  phases (median)"
    )
    print(header)
    print("-" * len(header))
    for case in cases:
        seconds = medians[case]
        ratio = f"{seconds / floor:7.1f}" if floor else f"{'-':>7}"
        added = max(r["peak_rss_mb"] - r["baseline_rss_mb"] for r in runs[case])
        last = runs[case][-1]
        print(
            f"{CASES[case][0]:<32} {seconds:8.2f} {rows / seconds:11,.0f} {ratio} "
            f"{last['files']:>5} {_mb(last['bytes']):>10} {added:7.0f}  {_phases(runs[case])}"
        )
    print()
    if "plugin_arrow" in medians and "pyiceberg" in medians:
        ratio = medians["pyiceberg"] / medians["plugin_arrow"]
        each = [
            b["seconds"] / a["seconds"]
            for a, b in zip(runs["plugin_arrow"], runs["pyiceberg"], strict=False)
        ]
        print(
            f"plugin vs plain pyiceberg append (throughput = pyiceberg s / plugin s): "
            f"{ratio:.2f}x of the medians, {_median(each):.2f}x median of the rounds "
            f"({', '.join(f'{x:.2f}' for x in each)})  "
            f"target >= 0.8: {'met' if ratio >= 0.8 else 'NOT met'}"
        )
    for plugin_case, dlt_case in (("plugin_arrow", "dlt_arrow"), ("plugin_dicts", "dlt_dicts")):
        if plugin_case in medians and dlt_case in medians:
            ratio = medians[dlt_case] / medians[plugin_case]
            print(f"plugin vs dlt's own path ({plugin_case.split('_')[1]}): {ratio:.2f}x")
    return {"medians": medians, "runs": runs}


def _step_line(name: str, steps: list[dict[str, Any]]) -> str:
    seconds = _median([s["seconds"] for s in steps])
    last = steps[-1]
    written = f"{last['files_written']} files, {_mb(last['bytes_written'])}"
    return (
        f"  {name:<26} {seconds:7.2f}s  [{_phases(steps)}]  wrote {written}, "
        f"removed {last['files_removed']} files, {last['new_snapshots']} new snapshot(s)"
    )


def merge_section(rows: int, repeat: int, profile: bool = False) -> dict[str, Any]:
    print(
        f"\n== merge: {rows:,} rows on primary key `id`, parquet file source read in 100k-row "
        f"Arrow batches; median of {repeat}, fresh process each"
    )
    with tempfile.TemporaryDirectory(prefix="bench-merge-sources-") as tmp_dir:
        source_dir = Path(tmp_dir)
        write_merge_sources(rows, source_dir)
        source_bytes = (source_dir / "base.parquet").stat().st_size
        runs = []
        for index in range(repeat):
            arguments = ["--child-merge", str(source_dir), "--rows", str(rows)]
            runs.append(_run_child(arguments, "merge scenario"))
            print(f"  round {index + 1} done", flush=True)
        if profile:
            command = [sys.executable, str(Path(__file__).resolve()), "--child-profile"]
            done = subprocess.run(
                [*command, str(source_dir), "--rows", str(rows)],
                capture_output=True,
                text=True,
                check=False,
            )
            print("  cProfile of one unchanged re-run (plugin, dlt pipeline, Arrow calls):")
            print(done.stdout if done.returncode == 0 else done.stderr[-4000:])
    step = {name: [r[name] for r in runs] for name in runs[0] if isinstance(runs[0][name], dict)}
    read_dlt = _median([r["read_dlt"] for r in runs])
    read_pyarrow = _median([r["read_pyarrow"] for r in runs])
    print(f"  source: {_mb(source_bytes)} parquet")
    print(f"  {'read source: dlt extract+normalize':<36} {read_dlt:7.2f}s  (baseline)")
    print(f"  {'read source: pyarrow read_table':<36} {read_pyarrow:7.2f}s")
    for name, label in (
        ("first", "first load"),
        ("unchanged", "unchanged re-run"),
        ("clustered", "1% changed, clustered"),
        ("first_b", "first load (2nd table)"),
        ("scattered", "1% changed, scattered"),
    ):
        print(_step_line(label, step[name]))
    unchanged = step["unchanged"]
    nothing = all(not s["committed"] and s["new_snapshots"] == 0 for s in unchanged)
    rerun = _median([s["seconds"] for s in unchanged])
    print()
    print(f"unchanged re-run commits nothing: {'yes' if nothing else 'NO'}")
    print(
        f"unchanged re-run / read source (dlt extract+normalize): {rerun / read_dlt:.2f}x  "
        f"target <= 1.5: {'met' if rerun / read_dlt <= 1.5 else 'NOT met'}"
    )
    print(f"unchanged re-run / read source (pyarrow read_table): {rerun / read_pyarrow:.1f}x")
    for name in ("clustered", "scattered"):
        last = step[name][-1]
        share = last["bytes_written"] / last["bytes_before"] if last["bytes_before"] else 0
        print(
            f"1% changed, {name}: wrote {share:.1%} of the table's bytes "
            f"({_mb(last['bytes_written'])} of {_mb(last['bytes_before'])}), rewrote "
            f"{last['files_removed']} of {last['files_before']} files; "
            f"{last['rows_updated']:,} rows updated; target ~1%: "
            f"{'met' if share <= 0.05 else 'NOT met'}"
        )
    peak = max(r["peak_rss_mb"] for r in runs)
    base = min(r["baseline_rss_mb"] for r in runs)
    return {"steps": step, "read_dlt": read_dlt, "read_pyarrow": read_pyarrow, "rss": (peak, base)}


def memory_section(sizes: list[int], merge_rss: tuple[float, float] | None, rows: int) -> None:
    print("\n== memory: peak RSS, append from a lazy Arrow source (100k-row batches)")
    header = f"{'case':<26} {'rows':>12} {'peak MB':>8} {'after warm-up':>13} {'s':>7}"
    print(header)
    print("-" * len(header))
    peaks = []
    for size in sizes:
        figures = measure("plugin_arrow", size, pregenerate=False)
        peaks.append(figures["peak_rss_mb"])
        print(
            f"{'plugin append':<26} {size:>12,} {figures['peak_rss_mb']:8.0f} "
            f"{figures['baseline_rss_mb']:13.0f} {figures['seconds']:7.1f}",
            flush=True,
        )
    if merge_rss is not None:
        peak, base = merge_rss
        print(f"{'plugin merge (all steps)':<26} {rows:>12,} {peak:8.0f} {base:13.0f}")
    if len(peaks) >= 2:
        ratio = peaks[-1] / peaks[0]
        print(
            f"\nappend peak RSS {sizes[-1]:,} / {sizes[0]:,} rows: {ratio:.2f}x  "
            f"target flat (<= 1.2x): {'met' if ratio <= 1.2 else 'NOT met'}"
        )


def _dbt_seconds(run: dict[str, Any]) -> float:
    return sum(v for k, v in run["steps"].items() if "dbt" in k)


def _bronze_seconds(run: dict[str, Any]) -> float:
    return sum(v for k, v in run["steps"].items() if k.startswith("bronze"))


def make_run_section(warm_runs: int) -> None:
    print(
        "\n== make run: prepare + python -m platform_defs.main in a temp copy of the project "
        "(floe.yaml, platform-manifest.yaml, sample_data), own catalog and DAGSTER_HOME"
    )
    figures = make_run(warm_runs)
    runs = figures["runs"]
    warm = runs[1:]
    print()
    for run in runs:
        slowest = sorted(run["steps"].items(), key=lambda item: -item[1])[:4]
        print(
            f"  {run['label']}: main {run['main']:.1f}s (dbt step {_dbt_seconds(run):.1f}s, "
            f"bronze steps {_bronze_seconds(run):.1f}s) + "
            f"prepare {run['prepare']:.1f}s; slowest steps: "
            + ", ".join(f"{key} {value:.1f}s" for key, value in slowest)
        )
        for asset, phases in sorted(run["assets"].items()):
            timed = [p for p in PHASES if phases.get(p) is not None]
            print(
                f"      {asset:<40} "
                + ", ".join(f"{p.split('_')[0]} {phases[p]:.2f}s" for p in timed)
                + f", rows loaded {phases.get('rows_loaded')}"
            )
    if warm:
        main = _median([r["main"] for r in warm])
        total = _median([r["main"] + r["prepare"] for r in warm])
        dbt = _median([_dbt_seconds(r) for r in warm])
        ingest = _median([_bronze_seconds(r) for r in warm])
        print(
            f"\nwarm main job (median of {len(warm)}): {main:.1f}s = dbt step {dbt:.1f}s + "
            f"bronze steps {ingest:.1f}s + the rest (imports, definitions, Dagster) "
            f"{main - dbt - ingest:.1f}s; cold main {runs[0]['main']:.1f}s "
            f"(warm/cold {main / runs[0]['main']:.2f}x)"
        )
        print(
            f"warm `make run` (prepare + main, uv sync excluded): {total:.1f}s.  "
            f"target warm <= 30s: main job {'met' if main <= 30 else 'NOT met'}, "
            f"make run {'met' if total <= 30 else 'NOT met'}"
        )


def legacy_memory(sizes: list[int], skip_dlt_10m: bool) -> None:
    print("peak RSS (MB), Arrow source yielding 100k-row batches, fresh process each")
    header = (
        f"{'rows':>12} {'plugin MB':>10} {'(after warm-up)':>15} {'plugin s':>9} "
        f"{'dlt MB':>10} {'(after warm-up)':>15} {'dlt s':>9}"
    )
    print(header)
    print("-" * len(header))
    for rows in sizes:
        plugin = measure("plugin_arrow", rows, pregenerate=False)
        if skip_dlt_10m and rows >= 10_000_000:
            dlt_mb, dlt_base, dlt_s = f"{'skipped':>10}", f"{'-':>15}", f"{'-':>9}"
        else:
            own = measure("dlt_arrow", rows, pregenerate=False)
            dlt_mb, dlt_s = f"{own['peak_rss_mb']:10.0f}", f"{own['seconds']:9.1f}"
            dlt_base = f"{own['baseline_rss_mb']:15.0f}"
        print(
            f"{rows:>12,} {plugin['peak_rss_mb']:10.0f} {plugin['baseline_rss_mb']:15.0f} "
            f"{plugin['seconds']:9.1f} {dlt_mb} {dlt_base} {dlt_s}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=None, help="rows (default 1M; quick 100k)")
    parser.add_argument("--repeat", type=int, default=None, help="repeats (default 3; quick 1)")
    parser.add_argument("--quick", action="store_true", help="100k rows, 1 repeat, 1 warm run")
    parser.add_argument("--sections", default=",".join(SECTIONS), help=", ".join(SECTIONS))
    parser.add_argument(
        "--dict-repeat", type=int, default=1, help="repeats of the dict cases (~40 s per 1M rows)"
    )
    parser.add_argument(
        "--cases",
        default=DEFAULT_CASES,
        help="append cases, comma-separated subset of: " + ", ".join(CASES),
    )
    parser.add_argument(
        "--memory-sizes", default=None, help="append RSS sizes (default 1M,10M; quick 100k,1M)"
    )
    parser.add_argument("--warm-runs", type=int, default=None, help="warm make runs (default 3)")
    parser.add_argument(
        "--profile", action="store_true", help="cProfile an unchanged merge re-run (merge section)"
    )
    parser.add_argument("--memory", action="store_true", help="plugin vs dlt peak RSS only")
    parser.add_argument("--skip-dlt-10m", action="store_true")
    parser.add_argument("--child", choices=sorted(CASES), help=argparse.SUPPRESS)
    parser.add_argument("--child-merge", help=argparse.SUPPRESS)
    parser.add_argument("--child-run-report", help=argparse.SUPPRESS)
    parser.add_argument("--child-profile", help=argparse.SUPPRESS)
    parser.add_argument("--lazy", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    rows = args.rows or (100_000 if args.quick else 1_000_000)
    repeat = args.repeat or (1 if args.quick else 3)
    default_sizes = "100000,1000000" if args.quick else "1000000,10000000"
    sizes = [int(size) for size in (args.memory_sizes or default_sizes).split(",")]
    warm_runs = args.warm_runs if args.warm_runs is not None else (1 if args.quick else 3)
    if args.child:
        child(args.child, rows, pregenerate=not args.lazy)
        return
    if args.child_merge:
        child_merge(rows, Path(args.child_merge))
        return
    if args.child_profile:
        child_profile(rows, Path(args.child_profile))
        return
    if args.child_run_report:
        child_run_report(args.child_run_report)
        return
    if args.memory:
        legacy_memory(sizes, args.skip_dlt_10m)
        return
    sections = [s for s in args.sections.split(",") if s]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}; choose from {', '.join(SECTIONS)}")
    started = time.perf_counter()
    print(
        f"ingest benchmark, {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    if "append" in sections:
        append_section(rows, repeat, args.dict_repeat, [c for c in args.cases.split(",") if c])
    merge_rss = None
    if "merge" in sections:
        merge_rss = merge_section(rows, repeat, profile=args.profile)["rss"]
    if "memory" in sections:
        memory_section(sizes, merge_rss, rows)
    if "make_run" in sections:
        make_run_section(warm_runs)
    print(
        f"\nbench took {time.perf_counter() - started:.0f}s, "
        f"load average at the end {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
