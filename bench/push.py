"""Usage-push benchmark: SDK pushes through the API, and the chart endpoints, each beside its floor.

    uv run python bench/push.py              # 8 clients x 25 pushes x 3 rounds; charts on 10M rows
    uv run python bench/push.py --quick      # 8 clients x 4 pushes, 1 round; charts on 200k rows
    uv run python bench/push.py --sections push --workers 1 --rounds 5
    uv run python bench/push.py --sections charts --chart-rows 2000000 --requests 100
    uv run python bench/push.py --profile    # + where the time of one push / chart request goes

Sections (``--sections``, default both):

* ``push``: ``--clients`` processes (8), each with its own ``DataPortalClient`` and output port,
  push ``--pushes`` realistic days one after the other (one day per push: 200 consumers who all
  queried, 20 assets with Zipf-like popularity, ~1,700 asset rows) to a real ``floe api serve``
  (``--workers`` uvicorn workers) on the local PostgreSQL. The floor, in the same round: the
  same processes, rows and tables, each push one transaction of psycopg 3 ``cursor.copy()``
  into both tables ("COPY per push"), and one connection copying all the round's rows at once
  ("bulk COPY"). Committed rows/s (both tables) over the wall time from a barrier to the last
  commit; push latency (the whole SDK call, validation included) p50/p99 over every push.
* ``charts``: ``--chart-rows`` rows (10M) bulk-loaded with COPY: ports of 200 consumers (each
  with its own rate and days of activity, weekends quieter) and 20 assets, ``--chart-days``
  days (548, ~1.5 years), in date order as daily pushes would land; then ``VACUUM ANALYZE``.
  Each chart endpoint over HTTP (httpx, keep-alive) against the SQL the endpoint runs for its
  data, run directly with psycopg. The SQL is recorded from the API itself: each request is
  first sent once through the app in-process with a SQLAlchemy ``before_cursor_execute``
  hook, which captures the exact statements and parameters handed to psycopg (the key lookups
  of the auth step are recorded apart and timed apart).

A fresh schema on the local PostgreSQL (``FLOE_TEST_POSTGRES_DSN``, default
``postgresql://postgres@127.0.0.1:5432/test``), migrated to head, dropped after. Medians over
rounds, ratios of figures measured in the same run. Timers only; the script does check that
every push was committed (row and push-log counts) and that the HTTP and SQL paths read the
same numbers.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import json
import multiprocessing as mp
import os
import pstats
import statistics
import sys
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psycopg

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# The in-process profiling uses FastAPI's TestClient, which warns about its httpx.
warnings.filterwarnings("ignore", message=".*starlette.testclient.*")

POSTGRES_DSN = os.environ.get("FLOE_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")
SECTIONS = ("push", "charts")
CONSUMERS = 200
ASSETS = 20
NAMESPACE = uuid.UUID("5d0b6c1e-3f43-4c59-9a2e-2b7f3f1b9c10")
WARMUP_DAY = 300  # days ago: each process's untimed first push

PUSH_RATIO_TARGET = 0.5
PUSH_P99_TARGET_MS = 250.0
CHART_RATIO_TARGET = 1.5
CHART_P95_TARGET_MS = 25.0

Q_TABLE = "output_port_query_stats_daily"
A_TABLE = "tech_asset_stats_daily"
Q_COLUMNS = "date, output_port_id, consumer_id, query_count, push_id"
A_COLUMNS = "date, output_port_id, tech_asset_id, consumer_id, query_count, push_id"


# -- realistic usage -----------------------------------------------------------------------


def uid(*parts: object) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, ":".join(map(str, parts)))


@dataclass(frozen=True)
class Port:
    """An output port's population: consumers with their habits, assets with popularity."""

    index: int
    id: uuid.UUID
    consumers: list[uuid.UUID]
    assets: list[uuid.UUID]
    rate: np.ndarray
    """Mean queries per active day, per consumer (lognormal: a few heavy users)."""
    active: np.ndarray
    """Probability that a consumer queries on a given weekday."""
    touch: np.ndarray
    """Probability that one query touches each asset (Zipf-like: asset 0 the most)."""

    @classmethod
    def make(cls, index: int, family: str = "port") -> Port:
        rng = np.random.default_rng([index, 17])
        ranks = np.arange(1, ASSETS + 1, dtype=float)
        touch = 0.6 / ranks**1.1
        return cls(
            index=index,
            id=uid(family, index),
            consumers=[uid(family, index, "consumer", n) for n in range(CONSUMERS)],
            assets=[uid(family, index, "asset", n) for n in range(ASSETS)],
            rate=rng.lognormal(mean=np.log(8.0), sigma=1.0, size=CONSUMERS),
            active=rng.beta(0.8, 1.2, size=CONSUMERS),
            touch=rng.permutation(touch),
        )

    def day(self, day: dt.date, *, everyone: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One day: (consumer indexes, their query counts, touches[consumer, asset]).

        ``everyone``: every consumer queried (a busy port's day, the push benchmark's);
        otherwise each is active with their own probability, less on weekends.
        """
        rng = np.random.default_rng([self.index, day.toordinal()])
        weekend = day.weekday() >= 5
        if everyone:
            who = np.arange(CONSUMERS)
        else:
            odds = self.active * (0.25 if weekend else 1.0)
            who = np.flatnonzero(rng.random(CONSUMERS) < odds)
        counts = np.maximum(rng.poisson(self.rate[who] * (0.5 if weekend else 1.0)), 1)
        touches = rng.binomial(counts[:, None], self.touch[None, :])
        return who, counts, touches


def push_rows(
    port: Port, day: dt.date
) -> tuple[list[tuple[dt.date, uuid.UUID, int]], list[tuple[dt.date, uuid.UUID, uuid.UUID, int]]]:
    """A push of one day as (date, consumer, count) and (date, asset, consumer, count) rows."""
    who, counts, touches = port.day(day, everyone=True)
    queries = [(day, port.consumers[c], int(n)) for c, n in zip(who, counts, strict=True)]
    assets = [
        (day, port.assets[a], port.consumers[who[i]], int(touches[i, a]))
        for i, a in zip(*np.nonzero(touches), strict=True)
    ]
    return queries, assets


def days_ago(n: int) -> dt.date:
    return dt.datetime.now(dt.UTC).date() - dt.timedelta(days=n)


# -- small helpers -------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=float), q)) if values else float("nan")


def load_average() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def met(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


@contextmanager
def schema_on(dsn: str) -> Iterator[str]:
    """A fresh schema, migrated to head by the ops store; dropped at the end."""
    from platform_defs.ops import OpsStore

    schema = f"bench_push_{uuid.uuid4().hex[:10]}"
    store = OpsStore(dsn, schema)
    try:
        store.upgrade()
        store.dispose()
        yield schema
    finally:
        store.dispose()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def truncate(dsn: str, schema: str, *tables: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {', '.join(f'{schema}.{t}' for t in tables)}")


def count_rows(dsn: str, schema: str, table: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(f"SELECT count(*) FROM {schema}.{table}").fetchone()
    return int(row[0]) if row else 0


def make_keys(dsn: str, schema: str, producers: dict[str, list[uuid.UUID]]) -> dict[str, str]:
    """An API key per producer, scoped to its ports (made in the store, as `floe api
    create-key` does)."""
    from platform_defs.ops import OpsStore
    from platform_defs.ops.usage import create_api_key

    store = OpsStore(dsn, schema)
    try:
        with store.session() as session:
            return {
                name: create_api_key(session, name, ports).token
                for name, ports in producers.items()
            }
    finally:
        store.dispose()


def start_server(dsn: str, schema: str, workers: int) -> Any:
    from tests.api.server import ApiServer

    return ApiServer(dsn, schema, workers=workers).start()


# -- push: the child processes -------------------------------------------------------------


@dataclass
class ChildResult:
    kind: str
    client: int
    started: float
    ended: float
    latencies_ms: list[float]
    rows: int
    pushes: int
    error: str | None = None


def _push_plan(client: int, pushes: int) -> tuple[Port, list[dt.date]]:
    return Port.make(client, "push-port"), [days_ago(1 + n) for n in range(pushes)]


def sdk_child(client: int, pushes: int, url: str, token: str, barrier: Any, results: Any) -> None:
    """One producer: its own DataPortalClient, its port's days pushed one after the other."""
    from data_portal_sdk import AssetStat, DataPortalClient, QueryStat, RetryPolicy

    port, days = _push_plan(client, pushes)

    def records(day: dt.date) -> tuple[list[QueryStat], list[AssetStat]]:
        queries, assets = push_rows(port, day)
        return [QueryStat(*row) for row in queries], [AssetStat(*row) for row in assets]

    planned = [records(day) for day in days]  # off the clock
    latencies: list[float] = []
    rows = 0
    error = None
    # No retries: a failed push must show, not hide in the latency.
    with DataPortalClient(token, url, retry=RetryPolicy(max_retries=0)) as sdk:
        sdk.push_usage_stats(port.id, *records(days_ago(WARMUP_DAY)))  # connect, warm up
        barrier.wait(timeout=300)
        started = time.monotonic()
        try:
            for queries, assets in planned:
                t0 = time.perf_counter()
                result = sdk.push_usage_stats(port.id, queries, assets)
                latencies.append((time.perf_counter() - t0) * 1000)
                rows += result.query_stats_rows + result.asset_stats_rows
        except Exception as exc:  # reported by the parent
            error = f"{type(exc).__name__}: {exc}"
        ended = time.monotonic()
    results.put(ChildResult("sdk", client, started, ended, latencies, rows, len(latencies), error))


def _copy_push(conn: psycopg.Connection[Any], schema: str, port: Port, day: dt.date) -> int:
    """One push as raw COPY: both tables, one transaction."""
    queries, assets = push_rows(port, day)
    push_id = uuid.uuid4()
    with conn.transaction(), conn.cursor() as cur:
        with cur.copy(f"COPY {schema}.{Q_TABLE} ({Q_COLUMNS}) FROM STDIN") as copy:
            for on, consumer, count in queries:
                copy.write_row((on, port.id, consumer, count, push_id))
        with cur.copy(f"COPY {schema}.{A_TABLE} ({A_COLUMNS}) FROM STDIN") as copy:
            for on, asset, consumer, count in assets:
                copy.write_row((on, port.id, asset, consumer, count, push_id))
    return len(queries) + len(assets)


def copy_child(client: int, pushes: int, dsn: str, schema: str, barrier: Any, results: Any) -> None:
    """The floor of one producer: the same rows, one COPY transaction per push."""
    port, days = _push_plan(client, pushes)
    latencies: list[float] = []
    rows = 0
    with psycopg.connect(dsn) as conn:
        _copy_push(conn, schema, port, days_ago(WARMUP_DAY))
        # The rows are made inside _copy_push (as the SDK makes its body inside its call);
        # generating them ahead would favour the floor. Measured: ~3 ms of the push.
        barrier.wait(timeout=300)
        started = time.monotonic()
        for day in days:
            t0 = time.perf_counter()
            rows += _copy_push(conn, schema, port, day)
            latencies.append((time.perf_counter() - t0) * 1000)
        ended = time.monotonic()
    results.put(ChildResult("copy", client, started, ended, latencies, rows, len(latencies)))


def run_children(
    target: Callable[..., None], clients: int, args_of: Callable[[int], tuple[Any, ...]]
) -> list[ChildResult]:
    """``clients`` spawned processes released together by a barrier; their results."""
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(clients + 1)
    results = ctx.Queue()
    processes = [
        ctx.Process(target=target, args=(client, *args_of(client), barrier, results))
        for client in range(clients)
    ]
    for process in processes:
        process.start()
    try:
        barrier.wait(timeout=300)
        out = [results.get(timeout=900) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=60)
            if process.is_alive():
                process.kill()
    return sorted(out, key=lambda r: r.client)


@dataclass
class Phase:
    rows: int
    pushes: int
    wall: float
    latencies_ms: list[float]

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.wall


def phase_of(results: list[ChildResult]) -> Phase:
    errors = [f"client {r.client}: {r.error}" for r in results if r.error]
    if errors:
        raise SystemExit("pushes failed:\n" + "\n".join(errors))
    wall = max(r.ended for r in results) - min(r.started for r in results)
    return Phase(
        rows=sum(r.rows for r in results),
        pushes=sum(r.pushes for r in results),
        wall=wall,
        latencies_ms=[x for r in results for x in r.latencies_ms],
    )


def bulk_copy(dsn: str, schema: str, clients: int, pushes: int) -> Phase:
    """All the round's rows in one transaction: one COPY per table (rows made beforehand)."""
    q_rows: list[tuple[Any, ...]] = []
    a_rows: list[tuple[Any, ...]] = []
    for client in range(clients):
        port, days = _push_plan(client, pushes)
        for day in days:
            queries, assets = push_rows(port, day)
            push_id = uuid.uuid4()
            q_rows += [(on, port.id, c, n, push_id) for on, c, n in queries]
            a_rows += [(on, port.id, a, c, n, push_id) for on, a, c, n in assets]
    with psycopg.connect(dsn) as conn:
        conn.execute("SELECT 1")
        t0 = time.perf_counter()
        with conn.transaction(), conn.cursor() as cur:
            with cur.copy(f"COPY {schema}.{Q_TABLE} ({Q_COLUMNS}) FROM STDIN") as copy:
                for row in q_rows:
                    copy.write_row(row)
            with cur.copy(f"COPY {schema}.{A_TABLE} ({A_COLUMNS}) FROM STDIN") as copy:
                for row in a_rows:
                    copy.write_row(row)
        wall = time.perf_counter() - t0
    return Phase(len(q_rows) + len(a_rows), clients * pushes, wall, [])


# -- push: the section ---------------------------------------------------------------------


def push_section(args: argparse.Namespace, dsn: str, schema: str) -> dict[str, Any]:
    clients, pushes = args.clients, args.pushes
    ports = {f"producer-{c}": [_push_plan(c, 1)[0].id] for c in range(clients)}
    tokens = make_keys(dsn, schema, ports)
    sample_q, sample_a = push_rows(_push_plan(0, 1)[0], days_ago(1))
    print(
        f"\n## push: {clients} clients x {pushes} pushes x {args.rounds} rounds, "
        f"{args.workers} uvicorn worker(s); a push = 1 day, {len(sample_q)} query rows + "
        f"~{len(sample_a)} asset rows (client 0's first day)"
    )
    tables = (Q_TABLE, A_TABLE, "usage_pushes")
    api: list[Phase] = []
    copies: list[Phase] = []
    bulks: list[Phase] = []
    server = start_server(dsn, schema, args.workers)
    try:
        for round_ in range(args.rounds):
            order = ("api", "copy", "bulk") if round_ % 2 == 0 else ("copy", "bulk", "api")
            for kind in order:
                truncate(dsn, schema, *tables)
                if kind == "api":
                    phase = phase_of(
                        run_children(
                            sdk_child,
                            clients,
                            lambda c, url=server.url: (pushes, url, tokens[f"producer-{c}"]),
                        )
                    )
                    logged = count_rows(dsn, schema, "usage_pushes")
                    if logged != clients * (pushes + 1):
                        raise SystemExit(f"{logged} pushes logged, {clients * (pushes + 1)} made")
                    api.append(phase)
                elif kind == "copy":
                    phase = phase_of(
                        run_children(copy_child, clients, lambda c: (pushes, dsn, schema))
                    )
                    copies.append(phase)
                else:
                    phase = bulk_copy(dsn, schema, clients, pushes)
                    bulks.append(phase)
                stored = count_rows(dsn, schema, Q_TABLE) + count_rows(dsn, schema, A_TABLE)
                expected = phase.rows + (0 if kind == "bulk" else _warmup_rows(clients))
                if stored != expected:
                    raise SystemExit(f"{kind}: {stored} rows stored, {expected} expected")
                print(
                    f"  round {round_ + 1} {kind:>4}: {phase.rows:,} rows in {phase.wall:.2f} s "
                    f"= {phase.rows_per_second:,.0f} rows/s"
                    + (
                        f", p50 {percentile(phase.latencies_ms, 50):.0f} ms"
                        if phase.latencies_ms
                        else ""
                    )
                )
    finally:
        server.stop()
        server_log = server.log()
    errors = [line for line in server_log.splitlines() if '"level": "error"' in line]
    if errors:
        print(f"  server logged {len(errors)} errors, first: {errors[0][:300]}")

    api_rps = statistics.median(p.rows_per_second for p in api)
    copy_rps = statistics.median(p.rows_per_second for p in copies)
    bulk_rps = statistics.median(p.rows_per_second for p in bulks)
    lat = [x for p in api for x in p.latencies_ms]
    copy_lat = [x for p in copies for x in p.latencies_ms]
    per_round = [a.rows_per_second / c.rows_per_second for a, c in zip(api, copies, strict=True)]
    figures = {
        "api_rows_per_s": api_rps,
        "api_pushes_per_s": statistics.median(p.pushes / p.wall for p in api),
        "copy_rows_per_s": copy_rps,
        "bulk_rows_per_s": bulk_rps,
        "ratio_copy": api_rps / copy_rps,
        "ratio_copy_rounds": statistics.median(per_round),
        "ratio_bulk": api_rps / bulk_rps,
        "p50_ms": percentile(lat, 50),
        "p99_ms": percentile(lat, 99),
        "max_ms": max(lat),
        "copy_p50_ms": percentile(copy_lat, 50),
        "copy_p99_ms": percentile(copy_lat, 99),
        "samples": len(lat),
    }
    print(
        f"\n| path | committed rows/s (median of {args.rounds}) | pushes/s | push p50 ms | "
        "push p99 ms |\n|---|---:|---:|---:|---:|\n"
        f"| SDK -> API ({clients} processes) | {api_rps:,.0f} | {figures['api_pushes_per_s']:.1f} "
        f"| {figures['p50_ms']:.0f} | {figures['p99_ms']:.0f} |\n"
        f"| COPY per push ({clients} processes) | {copy_rps:,.0f} | "
        f"{statistics.median(p.pushes / p.wall for p in copies):.1f} | "
        f"{figures['copy_p50_ms']:.0f} | {figures['copy_p99_ms']:.0f} |\n"
        f"| bulk COPY (1 connection, 1 transaction) | {bulk_rps:,.0f} | | | |"
    )
    print(
        f"\nAPI / COPY per push: {figures['ratio_copy']:.2f}x (median of per-round ratios "
        f"{figures['ratio_copy_rounds']:.2f}x; target >= {PUSH_RATIO_TARGET}x: "
        f"{met(figures['ratio_copy'] >= PUSH_RATIO_TARGET)}); API / bulk COPY: "
        f"{figures['ratio_bulk']:.2f}x ({met(figures['ratio_bulk'] >= PUSH_RATIO_TARGET)})\n"
        f"push latency p50 {figures['p50_ms']:.0f} ms, p99 {figures['p99_ms']:.0f} ms, "
        f"max {figures['max_ms']:.0f} ms over {len(lat)} pushes (target p99 < "
        f"{PUSH_P99_TARGET_MS:.0f} ms: {met(figures['p99_ms'] < PUSH_P99_TARGET_MS)})"
    )
    return figures


def _warmup_rows(clients: int) -> int:
    total = 0
    for client in range(clients):
        queries, assets = push_rows(_push_plan(client, 1)[0], days_ago(WARMUP_DAY))
        total += len(queries) + len(assets)
    return total


# -- charts: the data ----------------------------------------------------------------------


@dataclass(frozen=True)
class ChartData:
    ports: list[Port]
    first: dict[uuid.UUID, dt.date]
    last: dict[uuid.UUID, dt.date]
    query_rows: int
    asset_rows: int


def chart_ports(target_rows: int, days: int) -> tuple[list[Port], dict[int, tuple[int, int]]]:
    """Enough ports for ``target_rows`` over ``days``, and each port's (first, last) day
    offsets: a third were onboarded later, one in ten stopped pushing a while ago."""
    sample = [Port.make(n, "chart-port") for n in range(4)]
    probe = [days_ago(1 + n) for n in range(28)]
    per_day = statistics.mean(
        len(who) + int(np.count_nonzero(touches))
        for port in sample
        for who, _, touches in (port.day(day, everyone=False) for day in probe)
    )
    rng = np.random.default_rng(7)
    spans: dict[int, tuple[int, int]] = {}
    total = 0.0
    ports: list[Port] = []
    while total < target_rows:
        n = len(ports)
        start = int(rng.integers(0, days // 2)) if rng.random() < 1 / 3 else 0
        stop = days - 1 - (int(rng.integers(1, 60)) if rng.random() < 0.1 else 0)
        spans[n] = (start, stop)
        ports.append(Port.make(n, "chart-port"))
        total += per_day * (stop - start + 1)
    return ports, spans


def load_chart_data(dsn: str, schema: str, target_rows: int, days: int) -> ChartData:
    """COPY the rows in, day by day (as daily pushes land), then VACUUM ANALYZE."""
    ports, spans = chart_ports(target_rows, days)
    last_day = days_ago(1)
    first_day = last_day - dt.timedelta(days=days - 1)
    consumer_text = {p.id: [str(c) for c in p.consumers] for p in ports}
    asset_text = {p.id: [str(a) for a in p.assets] for p in ports}
    q_count = a_count = 0
    t0 = time.perf_counter()
    with (
        psycopg.connect(dsn) as q_conn,
        psycopg.connect(dsn) as a_conn,
        q_conn.cursor() as q_cur,
        a_conn.cursor() as a_cur,
        q_cur.copy(f"COPY {schema}.{Q_TABLE} ({Q_COLUMNS}) FROM STDIN") as q_copy,
        a_cur.copy(f"COPY {schema}.{A_TABLE} ({A_COLUMNS}) FROM STDIN") as a_copy,
    ):
        q_buffer: list[str] = []
        a_buffer: list[str] = []
        for offset in range(days):
            day = first_day + dt.timedelta(days=offset)
            for port in ports:
                start, stop = spans[port.index]
                if not start <= offset <= stop:
                    continue
                who, counts, touches = port.day(day, everyone=False)
                prefix = f"{day.isoformat()}\t{port.id}\t"
                suffix = f"\t{uuid.uuid4()}\n"
                names = consumer_text[port.id]
                assets = asset_text[port.id]
                who_list = who.tolist()
                q_buffer += [
                    f"{prefix}{names[c]}\t{n}{suffix}"
                    for c, n in zip(who_list, counts.tolist(), strict=True)
                ]
                rows, cols = np.nonzero(touches)
                a_buffer += [
                    f"{prefix}{assets[a]}\t{names[who_list[i]]}\t{t}{suffix}"
                    for i, a, t in zip(
                        rows.tolist(), cols.tolist(), touches[rows, cols].tolist(), strict=True
                    )
                ]
            if len(a_buffer) > 50_000 or offset == days - 1:
                q_copy.write("".join(q_buffer))
                a_copy.write("".join(a_buffer))
                q_count += len(q_buffer)
                a_count += len(a_buffer)
                q_buffer.clear()
                a_buffer.clear()
            if offset % 60 == 0:
                print(
                    f"  loading: day {offset + 1}/{days}, {q_count + a_count:,} rows, "
                    f"{time.perf_counter() - t0:.0f} s",
                    flush=True,
                )
    loaded = time.perf_counter() - t0
    t1 = time.perf_counter()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"VACUUM (ANALYZE) {schema}.{Q_TABLE}")
        conn.execute(f"VACUUM (ANALYZE) {schema}.{A_TABLE}")
        sizes = conn.execute(
            "SELECT pg_size_pretty(pg_total_relation_size(%s)), "
            "pg_size_pretty(pg_total_relation_size(%s))",
            (f"{schema}.{Q_TABLE}", f"{schema}.{A_TABLE}"),
        ).fetchone()
    print(
        f"  loaded {q_count:,} + {a_count:,} = {q_count + a_count:,} rows ({len(ports)} ports, "
        f"{days} days) in {loaded:.0f} s ({(q_count + a_count) / loaded:,.0f} rows/s), "
        f"VACUUM ANALYZE {time.perf_counter() - t1:.0f} s; sizes with indexes: "
        f"{sizes[0] if sizes else '?'} / {sizes[1] if sizes else '?'}"
    )
    first = {p.id: first_day + dt.timedelta(days=spans[p.index][0]) for p in ports}
    last = {p.id: first_day + dt.timedelta(days=spans[p.index][1]) for p in ports}
    return ChartData(ports, first, last, q_count, a_count)


# -- charts: the cases and the SQL they run ------------------------------------------------


@dataclass(frozen=True)
class ChartCase:
    name: str
    chart: str
    params: Callable[[dt.date], dict[str, str]]
    """The query string, given the port's last reported day."""
    default_window: bool


def _year(last: dt.date) -> dict[str, str]:
    return {"start": (last - dt.timedelta(days=364)).isoformat(), "end": last.isoformat()}


CHART_CASES = (
    ChartCase(
        "queries-over-time, day, default 30 d",
        "queries-over-time",
        lambda last: {"granularity": "day"},
        True,
    ),  # fmt: skip
    ChartCase(
        "query-distribution, top 10, default 30 d",
        "query-distribution",
        lambda last: {"top": "10"},
        True,
    ),  # fmt: skip
    ChartCase(
        "popular-assets, limit 10, default 30 d",
        "popular-assets",
        lambda last: {"limit": "10"},
        True,
    ),  # fmt: skip
    ChartCase(
        "queries-over-time, week, 365 d",
        "queries-over-time",
        lambda last: {"granularity": "week", **_year(last)},
        False,
    ),  # fmt: skip
    ChartCase(
        "queries-over-time, month, 365 d",
        "queries-over-time",
        lambda last: {"granularity": "month", **_year(last)},
        False,
    ),  # fmt: skip
    ChartCase(
        "query-distribution, top 10, 365 d",
        "query-distribution",
        lambda last: {"top": "10", **_year(last)},
        False,
    ),  # fmt: skip
    ChartCase(
        "popular-assets, limit 10, 365 d",
        "popular-assets",
        lambda last: {"limit": "10", **_year(last)},
        False,
    ),  # fmt: skip
)


@dataclass
class Recorded:
    """The statements one request ran, as handed to psycopg: (sql, parameters, rows)."""

    auth: list[tuple[str, Any, int]] = field(default_factory=list)
    chart: list[tuple[str, Any, int]] = field(default_factory=list)


def chart_path(port: uuid.UUID, chart: str) -> str:
    return f"/api/v1/output-ports/{port}/usage/{chart}"


def record_statements(
    dsn: str, schema: str, token: str, data: ChartData
) -> dict[tuple[str, uuid.UUID], Recorded]:
    """Send every (case, port) request once through the app in-process and keep the SQL it
    executed (SQLAlchemy's ``before/after_cursor_execute``: the text and parameters exactly
    as the driver gets them)."""
    from fastapi.testclient import TestClient
    from sqlalchemy import event

    from platform_defs.api import Settings, create_app
    from platform_defs.ops import OpsStore

    store = OpsStore(dsn, schema)
    current: list[tuple[str, Any, int]] = []
    pending: dict[int, tuple[str, Any]] = {}

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, *rest: Any) -> None:
        pending[id(cursor)] = (statement, parameters)

    def after(conn: Any, cursor: Any, statement: str, parameters: Any, *rest: Any) -> None:
        sql, params = pending.pop(id(cursor))
        current.append((sql, params, cursor.rowcount))

    event.listen(store.engine, "before_cursor_execute", before)
    event.listen(store.engine, "after_cursor_execute", after)
    recorded: dict[tuple[str, uuid.UUID], Recorded] = {}
    settings = Settings(ops_url=dsn, ops_schema=schema)
    headers = {"Authorization": f"Bearer {token}"}
    try:
        with TestClient(create_app(settings, store=store)) as client:
            for case in CHART_CASES:
                for port in data.ports:
                    current.clear()
                    response = client.get(
                        chart_path(port.id, case.chart),
                        params=case.params(data.last[port.id]),
                        headers=headers,
                    )
                    response.raise_for_status()
                    entry = Recorded()
                    for sql, params, rows in current:
                        auth = "usage_api_key" in sql
                        (entry.auth if auth else entry.chart).append((sql, params, rows))
                    recorded[(case.name, port.id)] = entry
    finally:
        store.dispose()
    return recorded


def run_sql(conn: psycopg.Connection[Any], statements: list[tuple[str, Any, int]]) -> int:
    """The statements in one transaction, as the API's session runs them; rows read."""
    rows = 0
    with conn.cursor() as cur:
        for sql, params, _ in statements:
            cur.execute(sql, params)
            rows += len(cur.fetchall())
    conn.commit()
    return rows


# -- charts: the section -------------------------------------------------------------------


@dataclass
class CaseFigures:
    http_ms: list[float] = field(default_factory=list)
    sql_ms: list[float] = field(default_factory=list)
    auth_sql_ms: list[float] = field(default_factory=list)
    statements: int = 0


def chart_section(args: argparse.Namespace, dsn: str, schema: str) -> dict[str, Any]:
    print(f"\n## charts: ~{args.chart_rows:,} stored rows, {args.chart_days} days")
    truncate(dsn, schema, Q_TABLE, A_TABLE, "usage_pushes")
    data = load_chart_data(dsn, schema, args.chart_rows, args.chart_days)
    token = make_keys(dsn, schema, {"charts": [p.id for p in data.ports]})["charts"]
    recorded = record_statements(dsn, schema, token, data)
    figures: dict[str, CaseFigures] = {case.name: CaseFigures() for case in CHART_CASES}
    healthz_ms: list[float] = []
    server = start_server(dsn, schema, args.workers)
    try:
        with (
            httpx.Client(
                base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=60
            ) as http,
            psycopg.connect(dsn) as conn,
        ):
            for _ in range(args.requests):
                t0 = time.perf_counter()
                http.get("/healthz").raise_for_status()
                healthz_ms.append((time.perf_counter() - t0) * 1000)
            for case in CHART_CASES:
                out = figures[case.name]
                samples = {"http": out.http_ms, "sql": out.sql_ms, "auth": out.auth_sql_ms}
                warmup = min(20, args.requests)
                rows = 0
                for i in range(warmup + args.requests):
                    port = data.ports[i % len(data.ports)]
                    statements = recorded[(case.name, port.id)]
                    out.statements = len(statements.chart)

                    params = case.params(data.last[port.id])
                    # Alternated, so that neither path always runs on the other's warm cache.
                    order = ("http", "sql", "auth") if i % 2 == 0 else ("auth", "sql", "http")
                    for kind in order:
                        t0 = time.perf_counter()
                        if kind == "http":
                            response = http.get(chart_path(port.id, case.chart), params=params)
                            response.raise_for_status()
                        elif kind == "sql":
                            rows = run_sql(conn, statements.chart)
                        else:
                            run_sql(conn, statements.auth)
                        elapsed = (time.perf_counter() - t0) * 1000
                        if i >= warmup:
                            samples[kind].append(elapsed)
                    expected = sum(r for _, _, r in statements.chart)
                    if rows != expected:
                        raise SystemExit(f"{case.name}: {rows} rows read, {expected} recorded")
    finally:
        server.stop()

    print(
        f"\n{args.requests} requests per case, ports round-robin ({len(data.ports)} ports); "
        f"GET /healthz over HTTP: p50 {percentile(healthz_ms, 50):.1f} ms, "
        f"p95 {percentile(healthz_ms, 95):.1f} ms\n"
    )
    print(
        "| endpoint, window | statements | HTTP p50 ms | HTTP p95 ms | same SQL p50 ms | "
        "same SQL p95 ms | p95 ratio | auth SQL p50 ms | ratio <= 1.5 | p95 < 25 ms |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---|"
    )
    summary: dict[str, Any] = {"cases": {}, "healthz_p50_ms": percentile(healthz_ms, 50)}
    for case in CHART_CASES:
        out = figures[case.name]
        http95, sql95 = percentile(out.http_ms, 95), percentile(out.sql_ms, 95)
        ratio = http95 / sql95
        summary["cases"][case.name] = {
            "http_p50_ms": percentile(out.http_ms, 50),
            "http_p95_ms": http95,
            "sql_p50_ms": percentile(out.sql_ms, 50),
            "sql_p95_ms": sql95,
            "ratio": ratio,
            "auth_sql_p50_ms": percentile(out.auth_sql_ms, 50),
            "default_window": case.default_window,
        }
        print(
            f"| {case.name} | {out.statements} | {percentile(out.http_ms, 50):.1f} | "
            f"{http95:.1f} | {percentile(out.sql_ms, 50):.1f} | {sql95:.1f} | {ratio:.2f}x | "
            f"{percentile(out.auth_sql_ms, 50):.1f} | {met(ratio <= CHART_RATIO_TARGET)} | "
            f"{met(http95 < CHART_P95_TARGET_MS)} |"
        )
    summary["rows"] = data.query_rows + data.asset_rows
    summary["ports"] = len(data.ports)
    return summary


# -- where the time goes (in-process) ------------------------------------------------------


def timed_ms(call: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        call()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def push_breakdown(dsn: str, schema: str, repeat: int, profile: bool) -> None:
    """One realistic push, step by step, in this process: the SDK's work before sending,
    the server's parsing and checks, its database transaction, and COPY of the same rows."""
    from data_portal_sdk import AssetStat, QueryStat
    from data_portal_sdk._client import _encode
    from data_portal_sdk._validation import validate_push
    from fastapi.testclient import TestClient

    from platform_defs.api import Settings, create_app
    from platform_defs.api.schemas import UsageStatsPush
    from platform_defs.api.validation import push_problems
    from platform_defs.ops import OpsStore
    from platform_defs.ops.usage import (
        AssetStatRow,
        QueryStatRow,
        record_push,
        request_hash,
    )

    port = Port.make(99, "profile-port")
    token = make_keys(dsn, schema, {"profiler": [port.id]})["profiler"]
    queries, assets = push_rows(port, days_ago(1))
    q_records = [QueryStat(*row) for row in queries]
    a_records = [AssetStat(*row) for row in assets]
    clean = validate_push(q_records, a_records, today=days_ago(0))
    body = _encode(clean)
    parsed = UsageStatsPush.model_validate_json(body)
    q_rows = [QueryStatRow(r.date, r.consumer_id, r.query_count) for r in parsed.query_stats]
    a_rows = [
        AssetStatRow(r.date, r.tech_asset_id, r.consumer_id, r.query_count)
        for r in parsed.asset_stats
    ]
    store = OpsStore(dsn, schema)

    def db_push() -> None:
        with store.session() as session:
            record_push(
                session,
                output_port_id=port.id,
                producer="profiler",
                query_stats=q_rows,
                asset_stats=a_rows,
                body_hash=uuid.uuid4().hex,
                idempotency_key=str(uuid.uuid4()),
            )

    def canonical() -> None:
        text = json.dumps(parsed.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        request_hash(text.encode())

    steps = {
        "SDK: validate_push (local checks)": lambda: validate_push(
            q_records, a_records, today=days_ago(0)
        ),
        "SDK: generated models + JSON body": lambda: _encode(clean),
        "API: parse + pydantic UsageStatsPush": lambda: UsageStatsPush.model_validate_json(body),
        "API: push_problems (duplicates, orphans)": lambda: push_problems(parsed),
        "API: canonical JSON + SHA-256 (idempotency hash)": canonical,
        "API: record_push transaction (delete, 2 inserts, log)": db_push,
    }
    with psycopg.connect(dsn) as conn:
        floor_days = iter(range(2, 2 + 10 * repeat))  # a new slice each time: COPY only adds
        steps["floor: COPY of the same number of rows, 1 transaction"] = lambda: _copy_push(
            conn, schema, port, days_ago(next(floor_days))
        )
        settings = Settings(ops_url=dsn, ops_schema=schema)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        with TestClient(create_app(settings, store=store)) as client:

            def whole() -> None:
                response = client.post(
                    f"/api/v1/output-ports/{port.id}/usage-stats",
                    content=body,
                    headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
                )
                response.raise_for_status()

            steps["API: whole request in-process (ASGI, no network)"] = whole
            print(
                f"\nOne push in-process ({len(queries)} + {len(assets)} rows, {len(body):,} bytes "
                f"of JSON), median of {repeat}:\n\n| step | ms |\n|---|---:|"
            )
            for name, call in steps.items():
                call()
                print(f"| {name} | {timed_ms(call, repeat):.1f} |")
    if profile:
        # The route's own code in this thread (TestClient runs it in a worker thread, out of
        # cProfile's sight): auth, body parsing, then the route function itself.
        from fastapi import Response

        from platform_defs.api.routers.usage_stats import push_usage_stats
        from platform_defs.ops.usage import authenticate_token

        def route() -> None:
            with store.session() as session:
                key = authenticate_token(session, token)
            assert key is not None
            push = UsageStatsPush.model_validate_json(body)
            answer = push_usage_stats(
                port.id, push, key, store, Response(), idempotency_key=str(uuid.uuid4())
            )
            answer.model_dump_json()

        print_profile(route, repeat, "the push route's code (auth, parsing, push_usage_stats)")
    store.dispose()


def chart_breakdown(dsn: str, schema: str, repeat: int, profile: bool) -> None:
    """The default-window charts in-process: through the app (ASGI, no network), and with
    ``--profile`` the route's own code profiled."""
    from fastapi.testclient import TestClient
    from sqlalchemy.orm import Session

    from platform_defs.api import Settings, create_app
    from platform_defs.api.routers import usage
    from platform_defs.ops import OpsStore
    from platform_defs.ops.usage import authenticate_token

    with psycopg.connect(dsn) as conn:
        row = conn.execute(f"SELECT output_port_id FROM {schema}.{Q_TABLE} LIMIT 1").fetchone()
    if row is None:
        return
    port_id = row[0]
    token = make_keys(dsn, schema, {"chart-profiler": [port_id]})["chart-profiler"]
    store = OpsStore(dsn, schema)
    settings = Settings(ops_url=dsn, ops_schema=schema)
    routes = {
        "queries-over-time": lambda s, k: usage.get_queries_over_time(port_id, k, s, settings),
        "query-distribution": lambda s, k: usage.get_query_distribution(port_id, k, s, settings),
        "popular-assets": lambda s, k: usage.get_popular_assets(port_id, k, s, settings),
    }
    print()
    with TestClient(create_app(settings, store=store)) as client:
        headers = {"Authorization": f"Bearer {token}"}
        for case in CHART_CASES[:3]:

            def call(case: ChartCase = case) -> None:
                client.get(
                    chart_path(port_id, case.chart), params=case.params(dt.date.today()),
                    headers=headers,
                ).raise_for_status()  # fmt: skip

            def route(case: ChartCase = case) -> None:
                with Session(store.engine) as session, session.begin():
                    key = authenticate_token(session, token)
                with Session(store.engine) as session, session.begin():
                    routes[case.chart](session, key).model_dump_json()

            call()
            print(
                f"in-process {case.name}: through the app {timed_ms(call, repeat):.1f} ms, "
                f"the route's code {timed_ms(route, repeat):.1f} ms (medians of {repeat})"
            )
            if profile:
                print_profile(route, repeat, f"{case.name}: the route's code")
    store.dispose()


def print_profile(call: Callable[[], object], repeat: int, what: str) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(repeat):
        call()
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
    stats.print_stats(30)
    print(f"\ncProfile of {what}, x{repeat} (cumulative):\n```")
    print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:6000])
    print("```")


# -- main ----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small smoke run")
    parser.add_argument("--sections", default=",".join(SECTIONS), help="push,charts")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--pushes", type=int, help="pushes per client and round (25)")
    parser.add_argument("--rounds", type=int, help="rounds of the push section (3)")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers (2: 2 cores)")
    parser.add_argument("--chart-rows", type=int, help="rows stored for the charts (10M)")
    parser.add_argument("--chart-days", type=int, default=548, help="days of history (548)")
    parser.add_argument("--requests", type=int, help="timed requests per chart case (200)")
    parser.add_argument("--profile", action="store_true", help="cProfile the in-process paths")
    parser.add_argument("--dsn", default=POSTGRES_DSN)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    quick = args.quick
    args.pushes = args.pushes or (4 if quick else 25)
    args.rounds = args.rounds or (1 if quick else 3)
    args.chart_rows = args.chart_rows or (200_000 if quick else 10_000_000)
    args.requests = args.requests or (30 if quick else 200)
    if quick:
        args.chart_days = min(args.chart_days, 120)
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}; choose from {', '.join(SECTIONS)}")

    with psycopg.connect(args.dsn) as conn:
        version = conn.execute("SHOW server_version").fetchone()
        buffers = conn.execute("SHOW shared_buffers").fetchone()
    print(
        f"# bench/push.py: {os.cpu_count()} cores, PostgreSQL {version[0] if version else '?'} "
        f"(shared_buffers {buffers[0] if buffers else '?'}), load average {load_average()}"
    )
    figures: dict[str, Any] = {}
    with schema_on(args.dsn) as schema:
        print(f"schema {schema} (dropped at the end)")
        if "push" in sections:
            figures["push"] = push_section(args, args.dsn, schema)
            push_breakdown(args.dsn, schema, 5 if quick else 20, args.profile)
        if "charts" in sections:
            figures["charts"] = chart_section(args, args.dsn, schema)
            chart_breakdown(args.dsn, schema, 5 if quick else 50, args.profile)
    print(f"\nload average at the end {load_average()}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
