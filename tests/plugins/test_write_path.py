"""The write path's defects (issue: a write path you can trust), one reproduction each.

Each test drives the dlt plugin the way a run does and checks the table through a fresh
catalog client. Real crashes (SIGKILL) and concurrent processes are in tests/crash/.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from filelock import FileLock
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import CommitStateUnknownException, ValidationException
from pyiceberg.table import Transaction

from plugins.base import ErrorCategory, IngestionConfig, IngestionResult, PluginContext
from plugins.dlt import DltIngestionPlugin

pytestmark = pytest.mark.integration

KEYS = ["Id", "ActivityDate"]


def run(context: PluginContext, config: IngestionConfig) -> IngestionResult:
    plugin = DltIngestionPlugin(context)
    return plugin.run(plugin.create_pipeline(config))


def ok(context: PluginContext, config: IngestionConfig) -> IngestionResult:
    result = run(context, config)
    assert result.success, result.error and result.error.to_dict()
    return result


def write_csv(directory: Path, text: str, name: str = "daily_activity.csv") -> None:
    directory.mkdir(exist_ok=True)
    (directory / name).write_text(text)


def csv_entry(make_entry: Callable[..., IngestionConfig], **kwargs: Any) -> IngestionConfig:
    return make_entry(
        "activity",
        source="dlt.sources.filesystem",
        table="daily_activity",
        config={"bucket_url": "landing", "file_glob": "*.csv", "format": "csv"},
        write_disposition="merge",
        primary_key=tuple(KEYS),
        **kwargs,
    )


def activity(rows: int, *, steps_offset: int = 0, extra: str | None = None) -> str:
    header = "Id,ActivityDate,TotalSteps" + (f",{extra}" if extra else "")
    lines = [header]
    for i in range(rows):
        line = f"{i},2016-04-{1 + i % 28:02d},{1000 + i + steps_offset}"
        lines.append(line + (f",{i * 2}" if extra else ""))
    return "\n".join(lines) + "\n"


def business(catalog: Catalog, table: str, columns: list[str]) -> list[dict[str, Any]]:
    data = catalog.load_table(table).scan().to_arrow().select(columns)
    return data.sort_by([(c, "ascending") for c in columns[:2]]).to_pylist()


def load_ids(catalog: Catalog, table: str) -> list[str]:
    return [s.summary.get("floe.load_id") for s in catalog.load_table(table).snapshots()]


def live_files(catalog: Catalog, table: str) -> list[str]:
    return [task.file.file_path for task in catalog.load_table(table).scan().plan_files()]


# -- 1. a commit that lands never loses its data files -------------------------------------


@pytest.mark.parametrize(
    "after_commit",
    [
        pytest.param(lambda: KeyboardInterrupt(), id="interrupt"),
        pytest.param(lambda: CommitStateUnknownException("response lost"), id="state-unknown"),
    ],
)
def test_an_error_after_the_commit_landed_keeps_its_files(
    plugin_context: PluginContext,
    make_entry: Callable[..., IngestionConfig],
    fresh_catalog: Callable[[], Catalog],
    monkeypatch: pytest.MonkeyPatch,
    after_commit: Callable[[], BaseException],
) -> None:
    config = make_entry("people", config={"count": 3})
    ok(plugin_context, config)
    real_commit = Transaction.commit_transaction

    def lands_then_raises(self: Transaction) -> Any:
        real_commit(self)
        raise after_commit()

    monkeypatch.setattr(Transaction, "commit_transaction", lands_then_raises)
    try:
        run(plugin_context, config)
    except KeyboardInterrupt:
        pass
    monkeypatch.undo()
    monkeypatch.syspath_prepend(str(Path(__file__).parent))

    table = fresh_catalog().load_table("bronze.people")
    for path in live_files(fresh_catalog(), "bronze.people"):
        assert Path(path.removeprefix("file://")).exists(), f"committed file lost: {path}"
    assert table.scan().to_arrow().num_rows == 6  # readable, both loads

    ok(plugin_context, config)  # the next run neither repairs nor duplicates anything
    ids = load_ids(fresh_catalog(), "bronze.people")
    assert len(ids) == len(set(ids)) == 3
    assert fresh_catalog().load_table("bronze.people").scan().to_arrow().num_rows == 9


# -- 2. one load is committed once, whoever retries it -------------------------------------


def test_a_concurrent_commit_of_the_same_load_is_not_rebased_into_a_second_copy(
    plugin_context: PluginContext,
    make_entry: Callable[..., IngestionConfig],
    fresh_catalog: Callable[[], Catalog],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another process commits the same load id between our check and our commit (as two
    runs sharing a package did): pyiceberg's own retry used to rebase ours on top of it."""
    config = make_entry("people", config={"count": 3})
    ok(plugin_context, config)
    real_commit = Transaction.commit_transaction
    raced = {"done": False}

    def other_process_commits_first(self: Transaction) -> Any:
        if not raced["done"]:
            raced["done"] = True
            properties = dict(self._snapshot_producers[0].snapshot_properties)
            rows = fresh_catalog().load_table("bronze.people").scan(limit=3).to_arrow()
            rows = rows.set_column(
                rows.schema.get_field_index("_dlt_load_id"),
                "_dlt_load_id",
                pa.array([properties["floe.load_id"]] * rows.num_rows),
            )
            fresh_catalog().load_table("bronze.people").append(rows, properties)
        return real_commit(self)

    monkeypatch.setattr(Transaction, "commit_transaction", other_process_commits_first)
    second = ok(plugin_context, config)

    ids = load_ids(fresh_catalog(), "bronze.people")
    assert len(ids) == len(set(ids)) == 2, ids
    assert fresh_catalog().load_table("bronze.people").scan().to_arrow().num_rows == 6
    assert second.details["load_ids"] == [ids[-1]]


def test_a_run_waits_for_the_working_dir_lock_then_fails_transient(
    plugin_context: PluginContext,
    make_entry: Callable[..., IngestionConfig],
    fresh_catalog: Callable[[], Catalog],
) -> None:
    """Two runs of one pipeline share a dlt working dir: the second must not touch it."""
    context = PluginContext(
        catalog_name=plugin_context.catalog_name,
        catalog_properties=plugin_context.catalog_properties,
        work_dir=plugin_context.work_dir,
        project_dir=plugin_context.project_dir,
        plugin_config={"lock_timeout_seconds": 0.2},
    )
    config = make_entry("people", config={"count": 3})
    lock_dir = Path(context.work_dir) / "people"
    lock_dir.mkdir(parents=True)
    with FileLock(lock_dir / ".floe.lock"):  # another run of the pipeline holds it
        result = run(context, config)
    assert not result.success
    assert (result.error.category, result.error.code, result.error.retryable) == (
        ErrorCategory.TRANSIENT,
        "PIPELINE_BUSY",
        True,
    )
    assert not fresh_catalog().table_exists("bronze.people")
    ok(context, config)  # lock released: the retry runs


# -- 3. schema changes evolve the table or fail clearly, and never wedge the pipeline -------


def test_a_merge_table_gains_a_column(
    plugin_context: PluginContext,
    project_dir: Path,
    make_entry: Callable[..., IngestionConfig],
    fresh_catalog: Callable[[], Catalog],
) -> None:
    config = csv_entry(make_entry)
    write_csv(project_dir / "landing", activity(20))
    ok(plugin_context, config)

    write_csv(project_dir / "landing", activity(20, extra="Calories"))
    result = ok(plugin_context, config)

    table = fresh_catalog().load_table("bronze.daily_activity")
    assert "calories" in table.schema().column_names
    rows = business(fresh_catalog(), "bronze.daily_activity", ["id", "calories"])
    assert [row["calories"] for row in rows] == [i * 2 for i in range(20)]
    assert result.details["rows_updated"] == 20  # each row gained a value


def test_a_safe_promotion_is_applied(
    plugin_context: PluginContext,
    make_entry: Callable[..., IngestionConfig],
    fresh_catalog: Callable[[], Catalog],
) -> None:
    """int -> long (an Arrow source that widens a column) evolves the table's type."""
    narrow = make_entry(
        "typed",
        source="dlt_test_sources:typed",
        config={"ids": [1, 2, 4]},
        write_disposition="merge",
        primary_key=("Id",),
    )
    ok(plugin_context, narrow)
    assert str(fresh_catalog().load_table("bronze.typed").schema().find_type("steps")) == "int"
    wide = make_entry(
        "typed",
        source="dlt_test_sources:typed_wide_steps",
        config={"ids": [4, 5]},
        write_disposition="merge",
        primary_key=("Id",),
    )
    ok(plugin_context, wide)
    table = fresh_catalog().load_table("bronze.typed")
    assert str(table.schema().find_type("steps")) == "long"
    assert sorted(table.scan().to_arrow().column("id").to_pylist()) == [1, 2, 4, 5]


def test_an_unsafe_type_change_is_schema_mismatch_and_never_wedges(
    plugin_context: PluginContext,
    project_dir: Path,
    make_entry: Callable[..., IngestionConfig],
    fresh_catalog: Callable[[], Catalog],
) -> None:
    config = csv_entry(make_entry)
    write_csv(project_dir / "landing", activity(10))
    ok(plugin_context, config)
    snapshots_before = load_ids(fresh_catalog(), "bronze.daily_activity")

    # steps declared fractional: long -> double is not a promotion Iceberg allows (an
    # undeclared 1005.5 would be a rejected row: it does not fit the table's long)
    write_csv(project_dir / "landing", activity(10).replace(",1005\n", ",1005.5\n"))
    fractional = csv_entry(make_entry, options={"columns": {"TotalSteps": {"data_type": "double"}}})
    failed = run(plugin_context, fractional)
    assert not failed.success
    assert (failed.error.category, failed.error.code) == (
        ErrorCategory.PERMANENT,
        "SCHEMA_MISMATCH",
    )
    assert "'total_steps'" in failed.error.message
    assert "long" in failed.error.message and "double" in failed.error.message
    assert failed.error.details["column"] == "total_steps"
    assert load_ids(fresh_catalog(), "bronze.daily_activity") == snapshots_before

    # the same answer as a fresh working dir gives: the table decides, not dlt's local schema
    fresh = PluginContext(
        catalog_name=plugin_context.catalog_name,
        catalog_properties=plugin_context.catalog_properties,
        work_dir=Path(plugin_context.work_dir).parent / "fresh_work",
        project_dir=plugin_context.project_dir,
    )
    assert run(fresh, fractional).error.code == "SCHEMA_MISMATCH"
    assert not any(
        "__v_" in c
        for c in fresh_catalog().load_table("bronze.daily_activity").schema().column_names
    )

    plugin = DltIngestionPlugin(plugin_context)
    aside = plugin.set_aside_packages("activity")
    assert aside and aside[0].reason["code"] == "SCHEMA_MISMATCH"

    write_csv(project_dir / "landing", activity(10, steps_offset=1))  # the source is fixed
    fixed = ok(plugin_context, config)  # not wedged: the set-aside package is not retried
    assert fixed.details["rows_updated"] == 10
    steps = business(fresh_catalog(), "bronze.daily_activity", ["id", "total_steps"])
    assert [row["total_steps"] for row in steps] == [1001 + i for i in range(10)]


# -- 4. merge writes only what changed -------------------------------------------------------


def test_an_unchanged_merge_rerun_commits_nothing_and_one_change_rewrites_one_row(
    plugin_context: PluginContext,
    project_dir: Path,
    make_entry: Callable[..., IngestionConfig],
    fresh_catalog: Callable[[], Catalog],
) -> None:
    config = csv_entry(make_entry)
    write_csv(project_dir / "landing", activity(2701))
    first = ok(plugin_context, config)
    assert first.rows_loaded == 2701
    snapshots = load_ids(fresh_catalog(), "bronze.daily_activity")
    assert len(snapshots) == 1

    rerun = ok(plugin_context, config)
    assert rerun.rows_loaded == 0
    assert rerun.details["rows_updated"] == 0 and rerun.details["rows_unchanged"] == 2701
    assert load_ids(fresh_catalog(), "bronze.daily_activity") == snapshots  # nothing committed

    text = activity(2701).replace("\n7,2016-04-08,1007\n", "\n7,2016-04-08,99\n")
    write_csv(project_dir / "landing", text + "5000,2016-05-01,1\n")
    changed = ok(plugin_context, config)
    assert (changed.details["rows_updated"], changed.details["rows_inserted"]) == (1, 1)
    table = fresh_catalog().load_table("bronze.daily_activity")
    assert len(table.snapshots()) == 2  # one load, one snapshot: no empty intermediate one
    for snapshot in table.snapshots():
        assert int(snapshot.summary["total-records"]) > 0
    data = table.scan().to_arrow()
    assert data.num_rows == 2702
    steps = dict(
        zip(data.column("id").to_pylist(), data.column("total_steps").to_pylist(), strict=True)
    )
    assert steps[7] == 99 and steps[5000] == 1 and steps[8] == 1008


# -- 7. location provider, nested casts, what a package holds that is not landed ------------


def test_data_files_follow_the_tables_location_provider(
    plugin_context: PluginContext,
    make_entry: Callable[..., IngestionConfig],
    fresh_catalog: Callable[[], Catalog],
    tmp_path: Path,
) -> None:
    config = make_entry("people", config={"count": 3})
    ok(plugin_context, config)
    elsewhere = tmp_path / "data_elsewhere"
    table = fresh_catalog().load_table("bronze.people")
    with table.transaction() as txn:
        txn.set_properties({"write.data.path": elsewhere.as_uri()})
    ok(plugin_context, config)
    newest = [p for p in live_files(fresh_catalog(), "bronze.people") if str(elsewhere) in p]
    assert len(newest) == 1
    assert fresh_catalog().load_table("bronze.people").scan().to_arrow().num_rows == 6


def test_unsigned_ints_inside_a_struct_become_long(
    plugin_context: PluginContext,
    make_entry: Callable[..., IngestionConfig],
    fresh_catalog: Callable[[], Catalog],
) -> None:
    config = make_entry("nested", source="dlt_test_sources:nested_unsigned")
    ok(plugin_context, config)
    table = fresh_catalog().load_table("bronze.nested")
    assert str(table.schema().find_type("stats.big")) == "long"
    assert str(table.schema().find_type("stats.small")) == "int"
    assert table.scan().to_arrow().column("stats").to_pylist() == [
        {"big": 4_000_000_000, "small": 7}
    ]


def test_data_a_package_holds_but_does_not_land_is_reported(
    plugin_context: PluginContext,
    make_entry: Callable[..., IngestionConfig],
) -> None:
    config = make_entry(
        "orders", source="dlt_test_sources:nested_orders", options={"max_table_nesting": 1}
    )
    result = run(plugin_context, config)
    assert result.success
    assert any(name.startswith("orders__items") for name in result.details["ignored_files"])


def test_parquet_written_by_the_commit_carries_the_load_id(
    plugin_context: PluginContext,
    make_entry: Callable[..., IngestionConfig],
    fresh_catalog: Callable[[], Catalog],
) -> None:
    """Arrow sources: `_dlt_load_id` is added while the files are written (not by a second
    rewrite in dlt's normalize)."""
    result = ok(
        plugin_context, make_entry("typed", source="dlt_test_sources:typed", config={"ids": [1, 2]})
    )
    data = fresh_catalog().load_table("bronze.typed").scan().to_arrow()
    assert set(data.column("_dlt_load_id").to_pylist()) == set(result.details["load_ids"])
    for path in live_files(fresh_catalog(), "bronze.typed"):
        assert "_dlt_load_id" in pq.read_schema(path.removeprefix("file://")).names


def test_a_replace_conflict_is_retried_by_the_commit_itself(
    plugin_context: PluginContext,
    make_entry: Callable[..., IngestionConfig],
    fresh_catalog: Callable[[], Catalog],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """pyiceberg reports a conflicting overwrite as ValidationException: retried like a
    CommitFailedException (reload, re-apply), not left to a whole-step retry."""
    config = make_entry("people", config={"count": 3}, write_disposition="replace")
    ok(plugin_context, config)
    real_commit = Transaction.commit_transaction
    calls = {"n": 0}

    def conflict_once(self: Transaction) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ValidationException("a concurrent delete removed a file this replace reads")
        return real_commit(self)

    monkeypatch.setattr(Transaction, "commit_transaction", conflict_once)
    result = ok(plugin_context, config)
    assert result.commits[-1].attempts == 2
    assert fresh_catalog().load_table("bronze.people").scan().to_arrow().num_rows == 3
