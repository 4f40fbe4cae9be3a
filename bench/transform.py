"""Benchmark the dbt transform (bronze Iceberg -> marts) against the same SQL run directly.

    uv run python bench/transform.py [--repeats 3] [--scale 100] [--skip-large]

For the committed sample data and for a generated set `--scale` times larger (~270,000 activity
rows at 100), it measures:

* dbt: wall time of `dbt build` as Dagster runs it (a `dbt` subprocess, project already parsed),
  split with run_results.json into the on-run-start hook that reads bronze from Iceberg into
  DuckDB, the models, the data tests and unit tests, and the rest (process start, imports,
  manifest load, scheduling).
* floor: the same work without dbt, in one process: pyiceberg scans of the four tables to Arrow
  (timed alone), copied into DuckDB the way dbt-duckdb does, then the compiled SQL of every model
  in dependency order and of every data test, taken from the dbt run.
* narrowing: the Iceberg scan of every table with all columns vs only the columns staging
  reads (`selected_fields`), to show what narrowing the read could gain.

Figures are medians over `--repeats` runs. Timers only, no assertions (README.md, "Tests and
benchmarks": bench/ measures, tests do not time).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
from pyiceberg.catalog import Catalog

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from platform_defs.transform.profiles import write_profiles  # noqa: E402
from tests.catalogs import local_catalog_properties  # noqa: E402
from tests.dbt.bronze import load_sample_bronze, open_catalog  # noqa: E402

DBT_PROJECT_DIR = REPO_ROOT / "dbt"
DBT = Path(sys.executable).parent / "dbt"
CATALOG_NAME = "floe"
TABLES = ["daily_activity", "sleep", "output_port_query_stats_daily", "tech_asset_stats_daily"]


@dataclass
class DbtRun:
    wall: float
    hook: float  # on-run-start: Iceberg scans + copy into DuckDB
    run_span: float  # dbt's own elapsed time for the run (hook + nodes, 2 threads)
    models: float  # summed node times (threads overlap, so sums can exceed the span)
    tests: float
    unit_tests: float


@dataclass
class FloorRun:
    read: float  # pyiceberg scans to Arrow
    copy: float  # Arrow -> DuckDB tables
    models: float
    tests: float

    @property
    def total(self) -> float:
        return self.read + self.copy + self.models + self.tests


@dataclass
class Env:
    root: Path
    catalog: Catalog
    properties: dict[str, str]
    duckdb_path: Path
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def target(self) -> Path:
        return self.root / "target"


def make_env(root: Path, sample_dir: Path) -> Env:
    properties = local_catalog_properties(root)
    catalog = open_catalog(properties, name=CATALOG_NAME)
    frames = load_sample_bronze(catalog, sample_dir)
    duckdb_path = root / "floe.duckdb"
    write_profiles(
        root / "profiles",
        catalog_name=CATALOG_NAME,
        catalog_properties=properties,
        duckdb_path=duckdb_path,
    )
    rows = {table: len(frame) for table, frame in frames.items()}
    return Env(root, catalog, properties, duckdb_path, rows)


def dbt(env: Env, *args: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        [
            str(DBT),
            *args,
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(env.root / "profiles"),
            "--target-path",
            str(env.target),
            "--log-path",
            str(env.root / "logs"),
            "--quiet",
        ],
        check=True,
        env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
    )
    return time.perf_counter() - started


def dbt_build(env: Env) -> DbtRun:
    wall = dbt(env, "build")
    results = json.loads((env.target / "run_results.json").read_text())
    by_kind: dict[str, float] = {"model": 0.0, "test": 0.0, "unit_test": 0.0, "hook": 0.0}
    for result in results["results"]:
        kind = result["unique_id"].split(".")[0]
        kind = "hook" if kind == "operation" else kind
        by_kind[kind] = by_kind.get(kind, 0.0) + result["execution_time"]
    return DbtRun(
        wall=wall,
        hook=by_kind["hook"],
        run_span=results["elapsed_time"],
        models=by_kind["model"],
        tests=by_kind["test"],
        unit_tests=by_kind["unit_test"],
    )


def compiled_sql(env: Env) -> tuple[list[tuple[str, str, str]], list[str]]:
    """Models in dependency order as (relation, materialization, sql), and data tests' SQL."""
    manifest = json.loads((env.target / "manifest.json").read_text())
    results = json.loads((env.target / "run_results.json").read_text())
    code = {r["unique_id"]: r.get("compiled_code") for r in results["results"]}
    nodes = manifest["nodes"]
    models = {uid: n for uid, n in nodes.items() if n["resource_type"] == "model"}

    ordered: list[str] = []

    def visit(uid: str) -> None:
        if uid in ordered or uid not in models:
            return
        for parent in models[uid]["depends_on"]["nodes"]:
            visit(parent)
        ordered.append(uid)

    for uid in sorted(models):
        visit(uid)
    model_sql = [
        (models[uid]["relation_name"], models[uid]["config"]["materialized"], code[uid])
        for uid in ordered
    ]
    test_sql = [
        code[uid]
        for uid, n in nodes.items()
        if n["resource_type"] == "test" and code.get(uid) is not None
    ]
    return model_sql, test_sql


def floor(env: Env, models: list[tuple[str, str, str]], tests: list[str]) -> FloorRun:
    catalog = open_catalog(env.properties, name=CATALOG_NAME)
    tables = {name: catalog.load_table(f"bronze.{name}") for name in TABLES}
    started = time.perf_counter()
    arrow = {name: table.scan().to_arrow() for name, table in tables.items()}
    read = time.perf_counter() - started

    # A file named like dbt's, so the compiled "floe"."schema"."table" names resolve.
    folder = Path(tempfile.mkdtemp(dir=env.root))
    con = duckdb.connect(str(folder / env.duckdb_path.name))
    for schema in ("bronze", "staging", "marts_audit", "marts"):
        con.execute(f"create schema {schema}")
    started = time.perf_counter()
    for name, data in arrow.items():
        con.register(f"{name}_df", data)
        con.execute(f"create table bronze.{name} as select * from {name}_df")
    copy = time.perf_counter() - started

    started = time.perf_counter()
    for relation, materialized, sql in models:
        kind = "view" if materialized == "view" else "table"
        con.execute(f"create or replace {kind} {relation} as {sql}")
    model_time = time.perf_counter() - started

    started = time.perf_counter()
    for sql in tests:
        con.execute(f"select count(*) from ({sql}) as failures").fetchall()
    test_time = time.perf_counter() - started
    con.close()
    shutil.rmtree(folder)
    return FloorRun(read, copy, model_time, test_time)


def narrowing(env: Env) -> tuple[float, float]:
    """Scan time of all columns vs only the columns staging reads, summed over the tables."""
    manifest = json.loads((env.target / "manifest.json").read_text())
    used: dict[str, set[str]] = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model" or not node["name"].startswith("stg_"):
            continue
        source_id = next(p for p in node["depends_on"]["nodes"] if p.startswith("source."))
        table = source_id.split(".")[-1]
        compiled = next(
            r["compiled_code"]
            for r in json.loads((env.target / "run_results.json").read_text())["results"]
            if r["unique_id"] == node["unique_id"]
        )
        columns = [f.name for f in env.catalog.load_table(f"bronze.{table}").schema().fields]
        used[table] = {c for c in columns if c in compiled}
    full = narrow = 0.0
    for table, columns in used.items():
        iceberg = env.catalog.load_table(f"bronze.{table}")
        selected = tuple(sorted(columns))
        started = time.perf_counter()
        iceberg.scan().to_arrow()
        full += time.perf_counter() - started
        started = time.perf_counter()
        iceberg.scan(selected_fields=selected).to_arrow()
        narrow += time.perf_counter() - started
    return full, narrow


COLD_START = """
import time
started = time.perf_counter()
import pyiceberg.catalog
catalog = pyiceberg.catalog.load_catalog(NAME, **PROPS)
table = catalog.load_table("bronze.daily_activity")
print(time.perf_counter() - started)
"""


def cold_start(env: Env) -> float:
    """What a fresh process (each `dbt build`) pays before its first scan: import pyiceberg,
    open the catalog, load table metadata. Part of the hook's time, not of the floor's read."""
    code = COLD_START.replace("NAME", repr(CATALOG_NAME)).replace("PROPS", repr(env.properties))
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return float(out.stdout.strip())


def median(values: list[float]) -> float:
    return statistics.median(values)


def bench_dataset(label: str, sample_dir: Path, repeats: int, workdir: Path) -> dict[str, float]:
    env = make_env(workdir / label, sample_dir)
    print(f"\n== {label}: " + ", ".join(f"{t} {n:,}" for t, n in env.rows.items()))
    # Dagster prepares the manifest once (`dbt parse` in setup); builds then parse partially.
    dbt(env, "parse")
    dbt_runs = [dbt_build(env) for _ in range(repeats)]
    models, tests = compiled_sql(env)
    floors = [floor(env, models, tests) for _ in range(repeats)]
    scans = [narrowing(env) for _ in range(repeats)]
    # Independent of the data size, and each probe is a whole interpreter: measure it once.
    cold = cold_start(env)

    d = {
        "wall": median([r.wall for r in dbt_runs]),
        "hook": median([r.hook for r in dbt_runs]),
        "span": median([r.run_span for r in dbt_runs]),
        "models": median([r.models for r in dbt_runs]),
        "tests": median([r.tests for r in dbt_runs]),
        "unit": median([r.unit_tests for r in dbt_runs]),
    }
    f = {
        "read": median([r.read for r in floors]),
        "copy": median([r.copy for r in floors]),
        "models": median([r.models for r in floors]),
        "tests": median([r.tests for r in floors]),
        "total": median([r.total for r in floors]),
    }
    full, narrow = median([s[0] for s in scans]), median([s[1] for s in scans])

    overhead = d["wall"] - d["span"]
    print(f"dbt build wall            {d['wall']:7.2f} s   (median of {repeats})")
    print(f"  process + parse + setup {overhead:7.2f} s   ({overhead / d['wall']:4.0%} of wall)")
    print(f"  hook: read bronze       {d['hook']:7.2f} s   ({d['hook'] / d['wall']:4.0%})")
    print(
        f"    pyiceberg cold start in a fresh process (import, open catalog, table metadata) "
        f"~{cold:.2f} s, paid partly at connection open, partly in the hook"
    )
    rest = d["span"] - d["hook"]
    print(f"  nodes (2 threads)       {rest:7.2f} s   ({rest / d['wall']:4.0%})")
    print(
        f"    summed node times: models {d['models']:.2f} s, "
        f"data tests {d['tests']:.2f} s, unit tests {d['unit']:.2f} s"
    )
    print(f"floor (same SQL, DuckDB)  {f['total']:7.2f} s")
    print(f"  pyiceberg scans         {f['read']:7.2f} s   ({f['read'] / f['total']:4.0%})")
    print(f"  Arrow -> DuckDB copy    {f['copy']:7.2f} s")
    print(f"  models                  {f['models']:7.2f} s")
    print(f"  data tests              {f['tests']:7.2f} s")
    print(f"ratio dbt / floor         {d['wall'] / f['total']:7.1f} x")
    print(
        f"ratio dbt in-run / floor  {d['span'] / f['total']:7.1f} x   "
        "(without process start and parse)"
    )
    print(
        f"scan all columns {full:.3f} s vs staging's columns only {narrow:.3f} s "
        f"({(full - narrow) / full:+.0%} saved by selected_fields)"
    )
    return {**{f"dbt_{k}": v for k, v in d.items()}, **{f"floor_{k}": v for k, v in f.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--scale", type=int, default=100, help="size of the large data set")
    parser.add_argument("--skip-large", action="store_true", help="sample data only")
    args = parser.parse_args()
    print(f"pyarrow {pa.__version__}, duckdb {duckdb.__version__}")

    with tempfile.TemporaryDirectory(prefix="floe-bench-transform-") as tmp:
        workdir = Path(tmp)
        small = bench_dataset("sample", REPO_ROOT / "sample_data", args.repeats, workdir)
        if args.skip_large:
            return
        large_data = workdir / f"data_x{args.scale}"
        subprocess.run(
            [
                sys.executable,
                str(REPO_ROOT / "sample_data" / "generate.py"),
                "--scale",
                str(args.scale),
                "--out",
                str(large_data),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        large = bench_dataset(f"x{args.scale}", large_data, args.repeats, workdir)
        print(
            f"\nx{args.scale} vs sample: dbt {large['dbt_wall'] / small['dbt_wall']:.1f}x slower, "
            f"floor {large['floor_total'] / small['floor_total']:.1f}x slower"
        )


if __name__ == "__main__":
    main()
