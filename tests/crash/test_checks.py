"""The crash tests' checker catches what it must: planted duplicates, a load in two
snapshots, lost rows, a deleted or unreadable data file, a package left behind."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyiceberg.table import Table

from plugins.dlt.set_aside import set_aside_package
from plugins.iceberg import LOAD_ID_PROPERTY
from tests.crash.checks import load_ids, local_path, package_problems, table_problems
from tests.crash.harness import Entry, Runner, Site
from tests.crash.scenarios import expected_rows, rows

pytestmark = pytest.mark.integration

LOADED = rows(range(6))


def loaded_table(runner: Runner, root: Path) -> tuple[Site, Entry, Table]:
    site = Site.local(root)
    base = Entry("events", "merge", LOADED, primary_key=("Id",))
    run = runner.run(site.spec(base))
    assert run.succeeded, run.describe()
    table = site.catalog().load_table(base.destination_table)
    assert table_problems(table, expected_rows("merge", [LOADED])) == []
    assert package_problems(site.context(), base.ingestion_config()) == []
    return site, base, table


def append_again(table: Table, load_id: str) -> None:
    """Commit the table's data files once more, as a buggy retry would."""
    files = [task.file for task in table.scan().plan_files()]
    with table.transaction() as txn:
        properties = {LOAD_ID_PROPERTY: load_id}
        with txn.update_snapshot(snapshot_properties=properties).fast_append() as append:
            for data_file in files:
                append.append_data_file(data_file)


def test_finds_duplicate_rows(runner: Runner, tmp_path: Path) -> None:
    site, base, table = loaded_table(runner, tmp_path)
    append_again(table, "planted")
    problems = table_problems(
        site.catalog().load_table(base.destination_table), expected_rows("merge", [LOADED])
    )
    assert any(p.startswith("duplicate ids [0, 1, 2, 3, 4, 5]") for p in problems), problems
    assert any("12 rows instead of 6" in p for p in problems), problems


def test_finds_a_load_committed_twice(runner: Runner, tmp_path: Path) -> None:
    site, base, table = loaded_table(runner, tmp_path)
    (load_id,) = load_ids(table)
    append_again(table, load_id)
    problems = table_problems(
        site.catalog().load_table(base.destination_table), expected_rows("merge", [LOADED])
    )
    assert f"load {load_id} committed in 2 snapshots" in problems


def test_finds_lost_and_wrong_rows(runner: Runner, tmp_path: Path) -> None:
    _, _, table = loaded_table(runner, tmp_path)
    problems = table_problems(table, expected_rows("merge", [rows(range(8), 2)]))
    assert len(problems) == 1 and problems[0].startswith("rows differ: lost [6, 7]"), problems
    assert "wrong values [{'id': 0" in problems[0]


@pytest.mark.parametrize("damage", ["deleted", "truncated"])
def test_finds_a_missing_or_unreadable_data_file(
    runner: Runner, tmp_path: Path, damage: str
) -> None:
    _, _, table = loaded_table(runner, tmp_path)
    (task,) = table.scan().plan_files()
    path = local_path(task.file.file_path)
    if damage == "deleted":
        path.unlink()
    else:
        path.write_bytes(path.read_bytes()[:100])
    problems = table_problems(table, expected_rows("merge", [LOADED]))
    word = "missing" if damage == "deleted" else "unreadable"
    assert any(p.startswith(f"{word} data file {task.file.file_path}") for p in problems)
    assert any(p.startswith("table scan fails") for p in problems), problems


def test_finds_packages_left_behind(runner: Runner, tmp_path: Path) -> None:
    site, base, _ = loaded_table(runner, tmp_path)
    killed = runner.run(site.spec(base.with_rows(rows(range(9), 2)), crash_at="during_normalize"))
    assert killed.killed, killed.describe()
    set_aside_package(site.work_dir / base.name, base.name, "123.4", [], reason={"code": "X"})
    problems = package_problems(site.context(), base.ingestion_config())
    assert [p.split(":")[0] for p in problems] == [
        "extracted packages left",
        "new (being normalized) packages left",
        "set-aside packages",
    ], problems
