"""Crash test with real processes (issue #6): SIGKILL the ingestion at each dangerous point.

Each case runs the dlt plugin in child processes (``child.py``) on a SQLite catalog of its
own: optionally a clean first run, then a run that SIGKILLs itself at the point (in-process
exceptions do not count), then a normal re-run. After it the table holds exactly the expected
rows (no loss, no duplicate), every data file any snapshot references exists and reads, no
load id is in two snapshots, the killed run's package landed exactly once, and no dlt
package (extracted, being normalized, normalized, completed) nor set-aside package is left.

4 points x 3 write dispositions x 2 rounds (after a clean first run / on the very first run,
when the table does not exist yet) = 24 kills, plus 3 at dlt's normalize commit window
(``normalize_committed``) and 1 in a fresh interpreter.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.crash.checks import (
    load_ids,
    orphan_files,
    package_problems,
    packages_on_disk,
    table_problems,
)
from tests.crash.harness import Runner, Site
from tests.crash.scenarios import CRASH_SCENARIOS, entry

pytestmark = pytest.mark.integration

DISPOSITIONS = ("append", "replace", "merge")

LEFT_BY_KILL = {
    "after_files_written": {"normalized"},
    "after_commit": {"normalized"},
    "during_cleanup": {"completed"},
    "during_normalize": {"extracted", "new"},
    "normalize_committed": {"extracted", "normalized"},
}
"""The package stages a kill at each point leaves the killed run's package in (proof that the
kill happened where it was meant to)."""


class LeftBehind(AssertionError):
    """A package was left behind (the table itself is right)."""


def _cases() -> list[Any]:
    cases: list[Any] = []
    for point in ("after_files_written", "after_commit", "during_cleanup", "during_normalize"):
        for disposition in DISPOSITIONS:
            for first_run in (True, False):
                label = "after-first-run" if first_run else "on-first-run"
                cases.append(
                    pytest.param(
                        point,
                        disposition,
                        first_run,
                        id=f"{point}-{disposition}-{label}",
                    )
                )
    for disposition in DISPOSITIONS:
        cases.append(
            pytest.param(
                "normalize_committed",
                disposition,
                True,
                id=f"normalize_committed-{disposition}-after-first-run",
            )
        )
    return cases


def kill_and_rerun(
    runner: Runner, root: Path, point: str, disposition: str, *, first_run: bool
) -> None:
    site = Site.local(root)
    scenario = CRASH_SCENARIOS[disposition]
    base = entry("events", disposition)
    if first_run:
        first = runner.run(site.spec(base.with_rows(scenario.first)))
        assert first.succeeded, first.describe()

    killed = runner.run(site.spec(base.with_rows(scenario.killed), crash_at=point))
    assert killed.killed, killed.describe()
    left = packages_on_disk(site.work_dir, base.name)
    assert {stage for stage, ids in left.items() if ids} == LEFT_BY_KILL[point], left
    (killed_load_id,) = {load_id for ids in left.values() for load_id in ids}

    rerun = runner.run(site.spec(base.with_rows(scenario.rerun)))
    assert rerun.succeeded, rerun.describe()
    assert rerun.result is not None
    if point == "after_commit":
        assert any(
            f"load {killed_load_id} was already committed" in message
            for message in rerun.result["progress"]
        ), rerun.result["progress"]

    table = site.catalog().load_table(base.destination_table)
    assert table_problems(table, scenario.expected(with_first=first_run)) == []
    assert load_ids(table).count(killed_load_id) == 1, (killed_load_id, load_ids(table))
    orphans = orphan_files(table)
    if point == "after_files_written":
        assert orphans, "the kill came before any data file was placed"
    else:
        assert orphans == []
    problems = package_problems(site.context(), base.ingestion_config())
    if problems:
        raise LeftBehind(problems)


@pytest.mark.parametrize(("point", "disposition", "first_run"), _cases())
def test_kill_then_rerun_leaves_the_table_exact(
    runner: Runner, tmp_path: Path, point: str, disposition: str, first_run: bool
) -> None:
    kill_and_rerun(runner, tmp_path, point, disposition, first_run=first_run)


def test_kill_in_a_fresh_interpreter(fresh_runner: Runner, tmp_path: Path) -> None:
    """The same, every run in a new interpreter (``python child.py SPEC``), not forked from
    the pre-imported server: forking changes nothing the crash depends on."""
    kill_and_rerun(fresh_runner, tmp_path, "after_commit", "merge", first_run=False)
