"""Concurrent runs with real processes (issue #6): the table stays exact.

Two processes of the *same* pipeline (same working dir) start at once, 10 rounds per write
disposition: the second waits on the working-dir lock (default timeout) and then finds the
first one's work done (merge: nothing changed; append: the cursor is past every row;
replace: the same rows again). Two *different* pipelines run at once into two tables of the
same catalog, and into one table (their commits conflict: the write path reloads and
re-applies, and commits each load once). Then the same on a PostgreSQL catalog.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from plugins.dlt import DltIngestionPlugin
from tests.crash.checks import load_ids, package_problems, table_problems
from tests.crash.harness import Entry, Run, Runner, Site
from tests.crash.scenarios import concurrent_round_rows, entry, expected_rows, rows

pytestmark = pytest.mark.integration

ROUNDS = 10
"""Rounds of two runs of the same pipeline at once."""
PIPELINE_PAIR_ROUNDS = 5
"""Rounds of two different pipelines at once."""
DISPOSITIONS = ("append", "replace", "merge")


def _overlapped(runs: list[Run]) -> bool:
    """The runs were in progress at the same time (each started before the other ended)."""
    results = [run.result or {} for run in runs]
    starts = [result.get("started_at", float("inf")) for result in results]
    ends = [result.get("finished_at", float("-inf")) for result in results]
    return max(starts) < min(ends)


def same_pipeline_rounds(runner: Runner, site: Site, base: Entry) -> None:
    """`ROUNDS` rounds of two simultaneous runs of `base`; the table is checked after each.
    Both runs are in progress at the same time in every round."""
    loads: list[list[dict[str, Any]]] = []
    # the dlt working dir exists, as after any first run: two first runs of a new pipeline
    # race on their own (test_first_two_runs_of_a_new_pipeline_at_once)
    DltIngestionPlugin(site.context()).create_pipeline(base.ingestion_config())
    for round_ in range(ROUNDS):
        data = concurrent_round_rows(base.write_disposition, round_)
        first, second = runner.run_many(
            [site.spec(base.with_rows(data)), site.spec(base.with_rows(data))]
        )
        assert first.succeeded, f"round {round_}: {first.describe()}"
        assert second.succeeded, f"round {round_}: {second.describe()}"
        assert _overlapped([first, second]), f"round {round_}: the runs did not overlap"
        loads.append(data)
        table = site.catalog().load_table(base.destination_table)
        expected = expected_rows(base.write_disposition, loads)
        assert table_problems(table, expected) == [], f"after round {round_}"
    assert package_problems(site.context(), base.ingestion_config()) == []


@pytest.mark.parametrize("disposition", DISPOSITIONS)
def test_two_runs_of_the_same_pipeline_at_once(
    runner: Runner, tmp_path: Path, disposition: str
) -> None:
    same_pipeline_rounds(runner, Site.local(tmp_path), entry("events", disposition))


def test_first_two_runs_of_a_new_pipeline_at_once(runner: Runner, tmp_path: Path) -> None:
    """Two runs of a pipeline that never ran (a new entry, a wiped .floe/) at once: both
    find no dlt state in the working dir, so dlt wipes and creates it in both. The child
    widens the window between wiping and creating (``FLOE_DELAY_AT=dlt_working_dir_wiped``)
    so that both wipe before either creates; without it the race hits about one first
    round in eight (FileNotFoundError on state.json, OSError, PERMANENT/SOURCE_NOT_FOUND
    for dlt's schemas folder)."""
    site = Site.local(tmp_path)
    site.catalog().create_namespace("bronze")  # the catalog's tables and the namespace exist
    base = entry("events", "merge").with_rows(rows(range(3)))
    delay = {"FLOE_DELAY_AT": "dlt_working_dir_wiped", "FLOE_DELAY_SECONDS": "1"}
    runs = runner.run_many([site.spec(base, env=delay), site.spec(base, env=delay)])
    for run in runs:
        assert run.succeeded, run.describe()
    table = site.catalog().load_table(base.destination_table)
    assert table_problems(table, expected_rows("merge", [rows(range(3))])) == []
    assert package_problems(site.context(), base.ingestion_config()) == []


def _attempts(run: Run) -> int:
    """The most commit attempts one of the run's loads needed (>1: it lost a commit race)."""
    commits = ((run.result or {}).get("details") or {}).get("commits") or []
    return max((commit.get("attempts", 1) for commit in commits), default=0)


def two_pipelines_rounds(runner: Runner, site: Site, left: Entry, right: Entry) -> int:
    """`PIPELINE_PAIR_ROUNDS` rounds of `left` and `right` (two pipelines, each its own
    working dir) at once; each round brings 3 new ids per pipeline (and, for merge, updates
    the previous round's). Returns in how many rounds a commit lost a race and retried."""
    loads: dict[str, list[list[dict[str, Any]]]] = {left.name: [], right.name: []}
    shared = left.destination_table == right.destination_table
    retried = 0
    # the namespace exists: its creation races on its own (test_first_loads_into_a_new_...)
    site.catalog().create_namespace_if_not_exists(left.namespace)
    # both stage their commit on the same table version, then commit: one of them conflicts
    delay = {"FLOE_DELAY_AT": "before_commit", "FLOE_DELAY_SECONDS": "0.3"}
    for round_ in range(PIPELINE_PAIR_ROUNDS):
        # disjoint ids per pipeline: even for `left`, odd for `right`
        data = {
            left.name: rows(range(6 * round_, 6 * round_ + 6, 2), round_ + 1),
            right.name: rows(range(6 * round_ + 1, 6 * round_ + 6, 2), round_ + 1),
        }
        runs = runner.run_many(
            [site.spec(e.with_rows(data[e.name]), env=delay) for e in (left, right)]
        )
        for run in runs:
            assert run.succeeded, f"round {round_}: {run.describe()}"
        retried += any(_attempts(run) > 1 for run in runs)
        for e in (left, right):
            loads[e.name].append(data[e.name])
        if shared:  # one table: both pipelines' rows (both append)
            table = site.catalog().load_table(left.destination_table)
            everything = [load for name in loads for load in loads[name]]
            assert table_problems(table, expected_rows("append", everything)) == [], round_
        else:
            for e in (left, right):
                table = site.catalog().load_table(e.destination_table)
                expected = expected_rows(e.write_disposition, loads[e.name])
                assert table_problems(table, expected) == [], f"{e.name} round {round_}"
    for e in (left, right):
        assert package_problems(site.context(), e.ingestion_config()) == []
    if shared:  # every load once, none lost to a conflict
        table = site.catalog().load_table(left.destination_table)
        assert len(load_ids(table)) == 2 * PIPELINE_PAIR_ROUNDS
    return retried


def test_two_pipelines_into_two_tables_of_one_catalog_at_once(
    runner: Runner, tmp_path: Path
) -> None:
    """Two tables, one SQLite catalog: their commits write the same catalog database at once
    (no SQLite locking error may surface)."""
    two_pipelines_rounds(
        runner, Site.local(tmp_path), entry("orders", "merge"), entry("clicks", "append")
    )


def test_two_pipelines_appending_to_one_table_at_once(runner: Runner, tmp_path: Path) -> None:
    """Both commit to the same table at the same moment: the loser of the race reloads and
    re-applies its append (pyiceberg's own rebase retry is off), each load lands once."""
    left = replace(entry("left", "append"), table="shared", incremental=None)
    right = replace(entry("right", "append"), table="shared", incremental=None)
    retried = two_pipelines_rounds(runner, Site.local(tmp_path), left, right)
    assert retried > 0, "the two commits never conflicted: this tested nothing"


def test_first_loads_into_a_new_namespace_at_once(runner: Runner, tmp_path: Path) -> None:
    """Two pipelines' first loads into two tables of a namespace nobody created yet. The
    child widens pyiceberg's check-then-insert window (``FLOE_DELAY_AT=namespace_check``)
    so that both processes see no namespace: without it the race hits 1 round in 5-10."""
    site = Site.local(tmp_path)
    site.catalog()  # the catalog's own tables exist (their creation races too: TRANSIENT)
    left, right = entry("left", "append"), entry("right", "merge")
    delay = {"FLOE_DELAY_AT": "namespace_check", "FLOE_DELAY_SECONDS": "1"}
    runs = runner.run_many(
        [site.spec(e.with_rows(rows(range(3))), env=delay) for e in (left, right)]
    )
    for run in runs:
        assert run.succeeded, run.describe()
    for e in (left, right):
        table = site.catalog().load_table(e.destination_table)
        assert table_problems(table, expected_rows(e.write_disposition, [rows(range(3))])) == []
        assert package_problems(site.context(), e.ingestion_config()) == []


# -- PostgreSQL catalog ----------------------------------------------------------------------


@pytest.fixture
def postgres_site(postgres_dsn: str, tmp_path: Path) -> Iterator[Site]:
    """A catalog name and a namespace of its own per test; its tables dropped afterwards."""
    properties = {
        "type": "sql",
        "uri": postgres_dsn.replace("postgresql://", "postgresql+psycopg://", 1),
        "warehouse": (tmp_path / "warehouse").as_uri(),
    }
    site = Site(tmp_path, properties, catalog_name=f"floe_crash_{uuid.uuid4().hex[:12]}")
    yield site
    catalog = site.catalog()
    for namespace in catalog.list_namespaces():
        for identifier in catalog.list_tables(namespace):
            catalog.drop_table(identifier)
        catalog.drop_namespace(namespace)
    catalog.engine.dispose()


@pytest.mark.postgres
def test_two_runs_of_the_same_pipeline_at_once_on_postgres(
    runner: Runner, postgres_site: Site
) -> None:
    namespace = f"crash_{uuid.uuid4().hex[:8]}"
    base = entry("events", "merge", namespace=namespace)
    same_pipeline_rounds(runner, postgres_site, base)


@pytest.mark.postgres
def test_two_pipelines_appending_to_one_table_at_once_on_postgres(
    runner: Runner, postgres_site: Site
) -> None:
    namespace = f"crash_{uuid.uuid4().hex[:8]}"
    left = replace(entry("left", "append", namespace=namespace), table="shared", incremental=None)
    right = replace(entry("right", "append", namespace=namespace), table="shared", incremental=None)
    assert two_pipelines_rounds(runner, postgres_site, left, right) > 0
