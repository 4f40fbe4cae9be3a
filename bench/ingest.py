"""Ingestion benchmark: the floe dlt plugin against dlt's own Iceberg path and the floors.

    uv run python bench/ingest.py                 # 1M rows, each case 3x, median
    uv run python bench/ingest.py --rows 200000 --repeat 1
    uv run python bench/ingest.py --memory        # peak RSS at 1M and 10M rows
    uv run python bench/ingest.py --memory --skip-dlt-10m

Every measurement runs in a fresh subprocess with a fresh temp catalog, so peak RSS
(``ru_maxrss``) belongs to that case alone. Rows are generated deterministically
(int64, timestamp, string, float64, bool). In the timing mode the rows are generated before
the clock starts; in ``--memory`` mode the source generates 100k-row Arrow batches lazily so
the source itself is bounded and any growth is the writer's. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
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

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BATCH_ROWS = 100_000
WARMUP_ROWS = 1_000
DICT_BATCH_ROWS = 10_000
BASE_TS = np.datetime64("2024-01-01T00:00:00", "us")

# Set in the measuring subprocess before the clock starts (timing mode only).
PREGENERATED: pa.Table | None = None
PREGENERATED_DICTS: list[list[dict[str, Any]]] | None = None


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


# -- cases (each runs inside a fresh subprocess) ----------------------------------------


def _catalog_properties(tmp: Path) -> dict[str, str]:
    (tmp / "warehouse").mkdir(parents=True, exist_ok=True)
    return {
        "type": "sql",
        "uri": f"sqlite:///{tmp / 'catalog.db'}",
        "warehouse": (tmp / "warehouse").as_uri(),
    }


def case_parquet(rows: int, tmp: Path) -> int:
    import pyarrow.parquet as pq

    assert PREGENERATED is not None
    pq.write_table(PREGENERATED, tmp / "floor.parquet")
    return pq.ParquetFile(tmp / "floor.parquet").metadata.num_rows


def case_pyiceberg(rows: int, tmp: Path) -> int:
    from pyiceberg.catalog import load_catalog

    assert PREGENERATED is not None
    catalog = load_catalog("bench", **_catalog_properties(tmp))
    catalog.create_namespace("bronze")
    table = catalog.create_table("bronze.events", schema=PREGENERATED.schema)
    table.append(PREGENERATED)
    return -1


def _dlt_own(rows: int, tmp: Path, source: Any) -> int:
    import dlt

    properties = _catalog_properties(tmp)
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


def _plugin(rows: int, tmp: Path, source: str) -> int:
    from plugins.base import IngestionConfig, PluginContext
    from plugins.dlt import DltIngestionPlugin

    context = PluginContext(
        catalog_name="bench",
        catalog_properties=_catalog_properties(tmp),
        work_dir=tmp / "work",
        project_dir=tmp,
    )
    plugin = DltIngestionPlugin(context)
    config = IngestionConfig(
        name="bench",
        source=source,
        destination_table="bronze.events",
        options={"config": {"rows": rows}},
    )
    result = plugin.run(plugin.create_pipeline(config))
    if not result.success:
        raise RuntimeError(result.error)
    return result.rows_loaded


def case_plugin_arrow(rows: int, tmp: Path) -> int:
    return _plugin(rows, tmp, "ingest:arrow_source")


def case_plugin_dicts(rows: int, tmp: Path) -> int:
    return _plugin(rows, tmp, "ingest:dict_source")


CASES = {
    "parquet": ("(a) pyarrow write_table (floor)", case_parquet),
    "pyiceberg": ("(b) pyiceberg append", case_pyiceberg),
    "dlt_arrow": ("(c) dlt own iceberg, arrow", case_dlt_arrow),
    "plugin_arrow": ("(d) floe plugin, arrow", case_plugin_arrow),
    "dlt_dicts": ("(c') dlt own iceberg, dicts", case_dlt_dicts),
    "plugin_dicts": ("(e) floe plugin, dicts", case_plugin_dicts),
}


def _count_rows(tmp: Path, case: str) -> int:
    """Read back what the case committed, through a fresh catalog client (untimed)."""
    if case == "parquet":
        return -1
    from pyiceberg.catalog import load_catalog

    catalog = load_catalog("bench", **_catalog_properties(tmp))
    for identifier in catalog.list_tables("bronze"):
        if identifier[-1] == "events":
            snapshot = catalog.load_table(identifier).current_snapshot()
            return int(snapshot.summary["total-records"]) if snapshot else 0
    raise RuntimeError(f"case {case}: no events table in the catalog")


@contextmanager
def _no_pregenerated(module: Any) -> Iterator[None]:
    saved = module.PREGENERATED, module.PREGENERATED_DICTS
    module.PREGENERATED = pa.concat_tables(generate_batches(WARMUP_ROWS))
    module.PREGENERATED_DICTS = None
    try:
        yield
    finally:
        module.PREGENERATED, module.PREGENERATED_DICTS = saved


def child(case: str, rows: int, pregenerate: bool) -> None:
    """Run one case in this (fresh) process and print its figures as JSON."""
    sys.path.insert(0, str(HERE))
    sys.path.insert(0, str(REPO))
    import ingest  # this file as an importable module: `ingest:arrow_source`

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
    baseline_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with tempfile.TemporaryDirectory(prefix=f"bench-{case}-") as tmp_dir:
        tmp = Path(tmp_dir)
        started = time.perf_counter()
        case_function(rows, tmp)
        seconds = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        committed = _count_rows(tmp, case)
    if committed not in (-1, rows):
        raise RuntimeError(f"case {case} committed {committed} rows, expected {rows}")
    print(
        json.dumps(
            {"seconds": seconds, "peak_rss_mb": peak / 1024, "baseline_rss_mb": baseline_rss / 1024}
        )
    )


def measure(case: str, rows: int, pregenerate: bool) -> dict[str, float]:
    command = [sys.executable, str(Path(__file__).resolve()), "--child", case, "--rows", str(rows)]
    if not pregenerate:
        command.append("--lazy")
    env = {**os.environ, "RUNTIME__DLTHUB_TELEMETRY": "false"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"case {case} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- reporting ---------------------------------------------------------------------------


def timing(rows: int, repeat: int, dict_repeat: int, cases: list[str]) -> None:
    print(
        f"ingest benchmark: {rows:,} rows x 5 columns, median of {repeat} "
        f"(dict cases: {dict_repeat}), fresh process each"
    )
    medians: dict[str, float] = {}
    rss: dict[str, float] = {}
    for case in cases:
        times = dict_repeat if case.endswith("dicts") else repeat
        runs = [measure(case, rows, pregenerate=True) for _ in range(times)]
        medians[case] = statistics.median(r["seconds"] for r in runs)
        rss[case] = max(r["peak_rss_mb"] - r["baseline_rss_mb"] for r in runs)
        print(f"  {CASES[case][0]:<34} {medians[case]:8.2f}s", flush=True)
    floor = medians.get("parquet")
    print()
    header = f"{'case':<34} {'median s':>9} {'rows/s':>12} {'x floor':>8} {'+RSS MB':>8}"
    print(header)
    print("-" * len(header))
    for case in cases:
        seconds = medians[case]
        ratio = f"{seconds / floor:8.1f}" if floor else f"{'-':>8}"
        print(
            f"{CASES[case][0]:<34} {seconds:9.2f} {rows / seconds:12,.0f} {ratio} {rss[case]:8.0f}"
        )
    print()
    for plugin_case, dlt_case in (("plugin_arrow", "dlt_arrow"), ("plugin_dicts", "dlt_dicts")):
        if plugin_case in medians and dlt_case in medians:
            ratio = medians[dlt_case] / medians[plugin_case]
            verdict = "ok" if ratio >= 1.0 else "SLOWER than dlt"
            print(f"plugin vs dlt ({plugin_case.split('_')[1]}): {ratio:.2f}x  [{verdict}]")


def memory(sizes: list[int], skip_dlt_10m: bool) -> None:
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
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--dict-repeat",
        type=int,
        default=1,
        help="repeats of the dict cases (dlt's dict normalizer is ~50s per 1M rows)",
    )
    parser.add_argument(
        "--cases",
        default="parquet,pyiceberg,dlt_arrow,plugin_arrow,dlt_dicts,plugin_dicts",
        help="comma-separated subset of: " + ", ".join(CASES),
    )
    parser.add_argument("--memory", action="store_true", help="peak RSS at 1M and 10M rows")
    parser.add_argument("--memory-sizes", default="1000000,10000000")
    parser.add_argument("--skip-dlt-10m", action="store_true")
    parser.add_argument("--child", choices=sorted(CASES), help=argparse.SUPPRESS)
    parser.add_argument("--lazy", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.rows, pregenerate=not args.lazy)
    elif args.memory:
        memory([int(size) for size in args.memory_sizes.split(",")], args.skip_dlt_10m)
    else:
        timing(args.rows, args.repeat, args.dict_repeat, [c for c in args.cases.split(",") if c])


if __name__ == "__main__":
    main()
