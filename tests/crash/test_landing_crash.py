"""Landing-zone crash test with real processes (issue #8): SIGKILL a landing run at each point
between "the sensor chose these files" and "the manifest says ingested", then tick again.

Like Dagster's own sensor crash-recovery tests (``test_sensor_failure_recovery.py``: a tick
run in a process of its own is killed by a signal at a named crash location, the test checks
the exit code, evaluates the next tick without a crash and asserts exactly the runs and ticks
an uninterrupted tick would have left), each case here:

1. evaluates the pipeline's real landing sensor (``build_sensor_context`` on a Dagster
   instance of the test's own) until it requests a run, and starts that run — exactly the
   files of its run config — in a child process (``landing_child.py`` through ``child.py``'s
   fork server) that SIGKILLs itself at the point (``FLOE_CRASH_AT``; no exception, no
   ``finally``);
2. checks the process died by SIGKILL where it was meant to (the manifest, the snapshots and
   the dlt working dir show it);
3. evaluates the next tick: the killed run's id is unknown to the instance, so its files are
   requested again under a new run key (the daemon launches one run per key), and runs them
   in a fresh child without a crash; a further tick requests nothing;
4. checks the table holds exactly the expected rows (no duplicate, a changed file's old rows
   gone), read through a fresh catalog and by a second reader (daft), and that the manifest
   agrees: each file ingested with its checksum, the table's row count of that file and a
   snapshot of the table; nothing pending.

Points (``child.py``): ``after_pending`` (pending committed, nothing written to Iceberg),
``after_files_written`` (data files placed, no commit), ``after_commit`` (the snapshot is in
the catalog, the manifest still pending), ``during_manifest_write`` (the first "ingested"
statement executed, its transaction not committed), ``after_manifest_write`` (recorded).
Scenarios: a first ingest of 3 files, and a changed file (whose rows it must replace) plus a
new one after a clean first ingest; merge and append: 5 x 2 x 2 = 20 kills on SQLite. Then 2
kills of a run the sensor did not ask for (``files=None``), 2 on PostgreSQL (catalog and ops
store), 2 of one file version (after the commit, then again while the next run reconciles),
and 2 x 3 in the give-up cases (``max_attempts`` kills, then the file is marked failed): 32.
"""

from __future__ import annotations

import os
import time
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from platform_defs.ops.models import ManifestStatus
from tests.crash.checks import packages_on_disk, table_problems
from tests.crash.harness import Run, Runner
from tests.crash.landing_site import (
    COLUMNS,
    PIPELINE,
    SOURCE_FILE_COLUMN,
    Backend,
    LandingSite,
    landing_files,
    manifest_problems,
    requested_files,
)
from tests.iceberg_checks import read_with_daft

pytestmark = pytest.mark.integration

POINTS = (
    "after_pending",
    "after_files_written",
    "after_commit",
    "during_manifest_write",
    "after_manifest_write",
)
COMMITTED = frozenset({"after_commit", "during_manifest_write", "after_manifest_write"})
"""Points after the Iceberg commit: the killed run's snapshot holds the files."""
LEFT_BY_KILL = {
    "after_pending": set(),  # nothing extracted yet
    "after_files_written": {"normalized"},
    "after_commit": {"normalized"},  # committed, the plugin had no time to retire it
    "during_manifest_write": set(),  # the plugin returned: its package is retired
    "after_manifest_write": set(),
}
"""The stages of dlt's working dir that hold a package after a kill at each point."""
SCENARIOS = ("first-ingest", "changed-file")
DISPOSITIONS = ("merge", "append")

A = [(1, "a1"), (2, "a2"), (3, "a3")]
B = [(10, "b10"), (11, "b11")]
C = [(20, "c20"), (21, "c21"), (22, "c22"), (23, "c23")]
A_CHANGED = [(1, "a1"), (3, "a3-changed"), (4, "a4"), (5, "a5")]
"""a.csv's second version: id 2 gone, id 3 changed, ids 4 and 5 new."""
D = [(30, "d30")]
B_CHANGED = [(10, "b10-changed"), (12, "b12")]
E = [(40, "e40"), (41, "e41")]

Versions = dict[str, str]
"""source_filename -> checksum."""


@pytest.fixture
def sqlite_site(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[LandingSite]:
    site = LandingSite(tmp_path, request.param, Backend.sqlite(tmp_path))
    yield site
    site.close()


def drop_postgres(site: LandingSite, dsn: str) -> None:
    catalog = site.catalog()
    for namespace in catalog.list_namespaces():
        for identifier in catalog.list_tables(namespace):
            catalog.drop_table(identifier)
        catalog.drop_namespace(namespace)
    catalog.engine.dispose()  # type: ignore[attr-defined]
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{site.backend.ops_schema}" CASCADE')


def run_clean(runner: Runner, site: LandingSite, files: list[dict[str, str]]) -> Run:
    run = runner.run(site.spec(files))
    assert run.succeeded, run.describe()
    return run


def prepare(runner: Runner, site: LandingSite, scenario: str) -> list[str]:
    """The scenario's files in the folder (after a clean first ingest, for a change);
    returns the files the killed run will be asked for."""
    site.write("a.csv", A)
    site.write("b.csv", B)
    site.write("c.csv", C)
    if scenario == "first-ingest":
        return ["events/a.csv", "events/b.csv", "events/c.csv"]
    run_clean(runner, site, requested_files(site.settle_and_request()))
    assert site.tick() == []
    site.write("a.csv", A_CHANGED)
    site.write("d.csv", D)
    return ["events/a.csv", "events/d.csv"]


def assert_killed_at(site: LandingSite, point: str, killed: Run, versions: Versions) -> None:
    """The kill came where it was meant to: the manifest, the snapshots and dlt's working
    dir are in the state of that point for the `versions` the run was loading."""
    assert killed.killed, killed.describe()
    rows = {(row.source_filename, row.checksum): row for row in site.manifest()}
    for name, checksum in versions.items():
        row = rows[(name, checksum)]
        if point == "after_manifest_write":
            assert row.status == ManifestStatus.INGESTED, (name, row.status)
        else:
            assert (row.status, row.run_id) == (ManifestStatus.PENDING, killed.spec["run_id"])
    table = site.table()
    newest = table.current_snapshot() if table is not None else None
    committed = landing_files(newest.summary) if newest is not None else {}
    if point in COMMITTED:
        assert committed == versions, (committed, versions)
    else:
        assert not set(committed.items()) & set(versions.items()), committed
    assert packages_left(site) == LEFT_BY_KILL[point]
    if point == "during_manifest_write":
        first = sorted(versions)[0]
        assert f"crash: {first} is ingested in the uncommitted transaction" in killed.log


def packages_left(site: LandingSite) -> set[str]:
    """The stages of dlt's working dir that hold a package."""
    packages = packages_on_disk(site.project.manifest.storage.dlt_dir, PIPELINE)
    return {stage for stage, ids in packages.items() if ids}


def snapshot_count(site: LandingSite) -> int:
    table = site.table()
    assert table is not None
    return len(table.snapshots())


def table_and_manifest_problems(
    site: LandingSite, *, failed_ok: Collection[tuple[str, str]] = ()
) -> list[str]:
    """Every way the table or the manifest is not what the files in the folder say."""
    table = site.table()
    if table is None:
        return ["the table does not exist"]
    expected = site.expected_rows()
    problems = table_problems(table, expected, columns=COLUMNS)
    daft_rows = read_with_daft(table).select(list(COLUMNS)).to_pylist()
    if sorted(daft_rows, key=lambda r: r["id"]) != sorted(expected, key=lambda r: r["id"]):
        problems.append(f"daft reads {len(daft_rows)} rows, not the {len(expected)} expected")
    return problems + manifest_problems(site, table, failed_ok=failed_ok)


def recover(site: LandingSite, runner: Runner, versions: Versions, *, reconciled: bool) -> Run:
    """The next tick asks again for the killed run's `versions` (under a new run key); a
    fresh run loads them — or only records them, when the killed run had committed them."""
    retry = site.tick()
    assert len(retry) == 1, f"the tick after the kill requested {retry}"
    files = requested_files(retry[0])
    assert {f["source_filename"]: f["checksum"] for f in files} == versions
    rerun = run_clean(runner, site, files)
    result: dict[str, Any] = rerun.result or {}
    if reconciled:
        assert (result["reconciled"], result["loaded"]) == (versions, {}), result
    else:
        assert (result["loaded"], result["reconciled"]) == (versions, {}), result
    return rerun


def kill_and_tick(
    runner: Runner, site: LandingSite, scenario: str, point: str, *, by_sensor: bool = True
) -> None:
    """One case (see the module doc). Without `by_sensor` the killed run is one a schedule
    or the UI started (``files=None``: every stable file the manifest does not hold)."""
    chosen = prepare(runner, site, scenario)
    versions = {name: checksum for name, checksum in site.files().items() if name in chosen}
    if by_sensor:
        files: list[dict[str, str]] | None = requested_files(site.settle_and_request())
        assert files is not None
        assert {f["source_filename"]: f["checksum"] for f in files} == versions
    else:
        files = None
        past = time.time() - 60  # older than landing_zone.settle_seconds: complete
        for path in site.folder.iterdir():
            os.utime(path, (past, past))
    killed = runner.run(site.spec(files, crash_at=point))
    assert_killed_at(site, point, killed, versions)

    if point == "after_manifest_write":  # recorded: nothing to do
        assert site.tick() == []
        if not by_sensor:
            assert site.tick() == []  # the first listing saw the files as new
    else:
        if not by_sensor:
            assert site.tick() == []  # the sensor's first listing: the files are new to it
        recover(site, runner, versions, reconciled=point in COMMITTED)
        assert site.tick() == []
    assert table_and_manifest_problems(site) == []
    if point != "after_commit":
        assert packages_left(site) == set()
        return
    # the recovery only recorded what the killed run committed: the package the killed run
    # left is still there, and the next run that loads drops it without committing it again
    assert packages_left(site) == {"normalized"}
    snapshots = snapshot_count(site)
    site.write("b.csv", B_CHANGED)
    run_clean(runner, site, requested_files(site.settle_and_request()))
    assert snapshot_count(site) == snapshots + 1  # b.csv's; the package's not again
    assert packages_left(site) == set()
    assert site.tick() == []
    assert table_and_manifest_problems(site) == []


def _cases() -> list[Any]:
    cases = [
        pytest.param(disposition, scenario, point, True, id=f"{point}-{scenario}-{disposition}")
        for disposition in DISPOSITIONS
        for scenario in SCENARIOS
        for point in POINTS
    ]
    for point in ("after_files_written", "during_manifest_write"):
        # a run the sensor did not ask for: a schedule's, the UI's (`files` left empty)
        cases.append(
            pytest.param("merge", "changed-file", point, False, id=f"{point}-unrequested-merge")
        )
    return cases


@pytest.mark.parametrize(
    ("sqlite_site", "scenario", "point", "by_sensor"), _cases(), indirect=["sqlite_site"]
)
def test_kill_then_next_tick_leaves_table_and_manifest_exact(
    runner: Runner, sqlite_site: LandingSite, scenario: str, point: str, by_sensor: bool
) -> None:
    kill_and_tick(runner, sqlite_site, scenario, point, by_sensor=by_sensor)


@pytest.mark.postgres
@pytest.mark.parametrize("point", ["after_commit", "during_manifest_write"])
def test_kill_on_postgres(runner: Runner, tmp_path: Path, postgres_dsn: str, point: str) -> None:
    """The catalog and the ops store on PostgreSQL: a killed connection's transaction is
    rolled back by the server, not by a file's journal."""
    site = LandingSite(tmp_path, "merge", Backend.postgres(postgres_dsn))
    try:
        kill_and_tick(runner, site, "changed-file", point)
    finally:
        drop_postgres(site, postgres_dsn)
        site.close()


@pytest.mark.parametrize("sqlite_site", ["merge"], indirect=True)
def test_a_run_killed_while_it_reconciles_is_requested_again(
    runner: Runner, sqlite_site: LandingSite
) -> None:
    """Killed after the commit, then the run of the next tick killed while it records what
    the first one committed: the tick after that still asks for the files (under a run key
    not used yet), and the run it asks for records them."""
    site = sqlite_site
    chosen = prepare(runner, site, "changed-file")
    versions = {name: checksum for name, checksum in site.files().items() if name in chosen}
    files = requested_files(site.settle_and_request())
    first = runner.run(site.spec(files, crash_at="after_commit"))
    assert_killed_at(site, "after_commit", first, versions)
    (retry,) = site.tick()
    second = runner.run(site.spec(requested_files(retry), crash_at="during_manifest_write"))
    assert second.killed, second.describe()
    assert f"crash: {chosen[0]} is ingested in the uncommitted transaction" in second.log
    recover(site, runner, versions, reconciled=True)
    assert site.tick() == []
    assert table_and_manifest_problems(site) == []


def kill_until_given_up(runner: Runner, site: LandingSite, point: str) -> tuple[str, str]:
    """b.csv landed; a.csv's runs are killed at `point` ``max_attempts`` times; the next
    tick marks it failed (the reason names the attempts) and requests nothing. Returns the
    given-up version."""
    site.write("b.csv", B)
    run_clean(runner, site, requested_files(site.settle_and_request()))
    site.write("a.csv", A)
    versions = {"events/a.csv": site.files()["events/a.csv"]}
    request = site.settle_and_request()
    for attempt in range(1, site.max_attempts + 1):
        files = requested_files(request)
        assert [f["source_filename"] for f in files] == ["events/a.csv"]
        killed = runner.run(site.spec(files, crash_at=point))
        assert_killed_at(site, point, killed, versions)
        (row,) = [r for r in site.manifest() if r.source_filename == "events/a.csv"]
        assert row.attempts == attempt
        if attempt < site.max_attempts:
            (request,) = site.tick()
    assert site.tick() == []
    (row,) = [r for r in site.manifest() if r.source_filename == "events/a.csv"]
    assert row.status == ManifestStatus.FAILED, row.status
    assert f"{site.max_attempts} run(s) ended without recording this file" in (row.error or "")
    assert site.tick() == []
    table = site.table()
    assert table is not None
    b_only = [r for r in site.expected_rows() if r[SOURCE_FILE_COLUMN] == "events/b.csv"]
    assert table_problems(table, b_only, columns=COLUMNS) == []
    return row.source_filename, row.checksum


@pytest.mark.parametrize("sqlite_site", ["append"], indirect=True)
def test_a_file_whose_runs_keep_dying_is_given_up_then_loads_once_fixed(
    runner: Runner, sqlite_site: LandingSite
) -> None:
    """Killed ``max_attempts`` times before loading anything: failed, nothing of it in the
    table, the other file stays; its next version (a new checksum) loads."""
    site = sqlite_site
    given_up = kill_until_given_up(runner, site, "after_pending")
    site.write("a.csv", A_CHANGED)  # fixed: a new checksum
    run_clean(runner, site, requested_files(site.settle_and_request()))
    assert site.tick() == []
    assert table_and_manifest_problems(site, failed_ok={given_up}) == []


@pytest.mark.parametrize("sqlite_site", ["merge"], indirect=True)
def test_a_given_up_file_never_lands_through_the_package_its_run_left(
    runner: Runner, sqlite_site: LandingSite
) -> None:
    """Killed ``max_attempts`` times after its data files were placed (the first run left a
    normalized dlt package; the others died committing it): failed. A later run of another
    file must not commit that package — the failed file's rows would be in the table while
    the manifest says nothing of it landed."""
    site = sqlite_site
    given_up = kill_until_given_up(runner, site, "after_files_written")
    site.write("e.csv", E)
    site.folder.joinpath("a.csv").unlink()  # the failed file: none of its rows may land
    run_clean(runner, site, requested_files(site.settle_and_request()))
    assert site.tick() == []
    assert table_and_manifest_problems(site, failed_ok={given_up}) == []
