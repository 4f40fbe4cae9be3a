"""dlt state (incremental cursors) travels with the data: each commit stores it in the snapshot
summary (``floe.dlt_state``) and a fresh working dir restores it from the table, so losing
``.floe/`` never re-loads old rows."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from dlt.common.versioned_state import decompress_state
from pyiceberg.catalog import Catalog
from pyiceberg.table import Transaction

import plugins.dlt.plugin as plugin_module
from plugins.base import IngestionConfig, IngestionResult, PluginContext
from plugins.dlt import DltIngestionPlugin
from plugins.dlt.state import STATE_PROPERTY

pytestmark = pytest.mark.integration

TABLE = "bronze.events"


def events(*ids: int) -> list[dict[str, Any]]:
    return [{"EventId": i, "UpdatedAt": f"2024-01-{i:02d}T00:00:00Z"} for i in ids]


def run(context: PluginContext, config: IngestionConfig) -> IngestionResult:
    plugin = DltIngestionPlugin(context)
    return plugin.run(plugin.create_pipeline(config))


def succeeded(context: PluginContext, config: IngestionConfig) -> IngestionResult:
    result = run(context, config)
    assert result.success, result.error and result.error.to_dict()
    return result


def wipe(context: PluginContext) -> None:
    """A fresh worker: the whole working dir (all dlt state and packages) is gone."""
    shutil.rmtree(context.work_dir)


def ids_in(catalog: Catalog) -> list[int]:
    return sorted(catalog.load_table(TABLE).scan().to_arrow().column("event_id").to_pylist())


def cursor_of(state: dict[str, Any]) -> Any:
    resources = state["sources"]["floe_events"]["resources"]
    return resources["events"]["incremental"]["updated_at"]["last_value"]


def stored_states(catalog: Catalog) -> list[str | None]:
    return [s.summary.get(STATE_PROPERTY) for s in catalog.load_table(TABLE).snapshots()]


@pytest.fixture
def entry(make_entry: Callable[..., IngestionConfig]) -> Callable[..., IngestionConfig]:
    def build(rows: list[dict[str, Any]], **kwargs: Any) -> IngestionConfig:
        return make_entry(
            "events",
            source="dlt_test_sources:rows",
            config={"rows": rows},
            incremental={"cursor_path": "UpdatedAt", "initial_value": "2024-01-01T00:00:00Z"},
            **kwargs,
        )

    return build


@pytest.mark.parametrize("disposition", ["append", "merge"])
def test_fresh_working_dir_continues_from_the_tables_state(
    plugin_context: PluginContext,
    entry: Callable[..., IngestionConfig],
    fresh_catalog: Callable[[], Catalog],
    disposition: str,
) -> None:
    hints: dict[str, Any] = {"write_disposition": disposition}
    if disposition == "merge":
        hints["primary_key"] = ["EventId"]
    first = succeeded(plugin_context, entry(events(1, 2, 3), **hints))
    assert first.rows_loaded == 3
    assert 0 < first.details["dlt_state_chars"] < 1000
    stored = decompress_state(stored_states(fresh_catalog())[-1] or "")
    assert cursor_of(stored) == "2024-01-03T00:00:00Z"
    assert "_local" not in stored  # dlt's destination encoding: no local paths

    wipe(plugin_context)
    second = succeeded(plugin_context, entry(events(1, 2, 3, 4, 5), **hints))

    assert second.rows_loaded == 2  # only the new rows were extracted
    assert second.details["restored_state"]["snapshot_id"] == first.snapshot_id
    assert second.details["restored_state"]["local_state_version"] == 0
    assert ids_in(fresh_catalog()) == [1, 2, 3, 4, 5]
    latest = decompress_state(stored_states(fresh_catalog())[-1] or "")
    assert cursor_of(latest) == "2024-01-05T00:00:00Z"

    # the working dir is now as new as the table: kept, nothing restored, nothing reloaded
    plugin = DltIngestionPlugin(plugin_context)
    handle = plugin.create_pipeline(entry(events(1, 2, 3, 4, 5), **hints))
    assert cursor_of(dict(handle.dlt_pipeline.state)) == "2024-01-05T00:00:00Z"
    third = plugin.run(handle)
    assert third.success and third.rows_loaded == 0
    assert "restored_state" not in third.details
    assert ids_in(fresh_catalog()) == [1, 2, 3, 4, 5]


def test_crash_after_commit_then_fresh_working_dir_is_exactly_once(
    plugin_context: PluginContext,
    entry: Callable[..., IngestionConfig],
    fresh_catalog: Callable[[], Catalog],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def crash(*_args: object) -> None:
        raise RuntimeError("simulated crash after commit")

    monkeypatch.setattr(plugin_module, "_retire_package", crash)
    crashed = run(plugin_context, entry(events(1, 2, 3)))
    assert not crashed.success
    assert ids_in(fresh_catalog()) == [1, 2, 3]  # the commit landed, the cleanup did not

    monkeypatch.undo()
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    wipe(plugin_context)  # ... and the worker (with the uncleaned package) is gone
    recovered = succeeded(plugin_context, entry(events(1, 2, 3, 4, 5)))

    assert "restored_state" in recovered.details
    assert recovered.rows_loaded == 2
    assert ids_in(fresh_catalog()) == [1, 2, 3, 4, 5]


def test_crash_before_commit_then_fresh_working_dir_is_exactly_once(
    plugin_context: PluginContext,
    entry: Callable[..., IngestionConfig],
    fresh_catalog: Callable[[], Catalog],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The local state had moved past 5 when the commit failed: the table's state (3) wins."""
    succeeded(plugin_context, entry(events(1, 2, 3)))

    def crash(self: Transaction) -> None:
        raise RuntimeError("simulated crash before commit")

    monkeypatch.setattr(Transaction, "commit_transaction", crash)
    assert not run(plugin_context, entry(events(1, 2, 3, 4, 5))).success
    monkeypatch.undo()
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    wipe(plugin_context)

    recovered = succeeded(plugin_context, entry(events(1, 2, 3, 4, 5, 6)))

    assert recovered.rows_loaded == 3
    assert ids_in(fresh_catalog()) == [1, 2, 3, 4, 5, 6]


def test_table_without_state_is_not_restored(
    plugin_context: PluginContext,
    entry: Callable[..., IngestionConfig],
    fresh_catalog: Callable[[], Catalog],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A table committed before the state was stored: the run proceeds as it always did."""
    monkeypatch.setattr(plugin_module, "package_state", lambda *_args: None)
    succeeded(plugin_context, entry(events(1, 2, 3)))
    monkeypatch.undo()
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    assert stored_states(fresh_catalog()) == [None]

    wipe(plugin_context)
    second = succeeded(plugin_context, entry(events(1, 2, 3, 4, 5)))

    assert "restored_state" not in second.details
    assert second.rows_loaded == 5  # from initial_value again, as before this feature
    assert ids_in(fresh_catalog()) == [1, 1, 2, 2, 3, 3, 4, 5]
    assert stored_states(fresh_catalog())[-1] is not None  # from now on the state is kept

    wipe(plugin_context)
    third = succeeded(plugin_context, entry(events(1, 2, 3, 4, 5)))
    assert "restored_state" in third.details and third.rows_loaded == 0


def test_each_commit_stores_the_state_of_its_own_package(
    plugin_context: PluginContext,
    entry: Callable[..., IngestionConfig],
    fresh_catalog: Callable[[], Catalog],
) -> None:
    """Two packages waiting (the local state is already past both): each snapshot gets the
    state extracted with its package, not the working dir's latest."""
    from plugins.dlt.options import DltOptions
    from plugins.dlt.sources import build_resource

    plugin = DltIngestionPlugin(plugin_context)
    for ids in ((1, 2, 3), (1, 2, 3, 4, 5)):
        config = entry(events(*ids))
        handle = plugin.create_pipeline(config)
        options = DltOptions.model_validate(dict(config.options))
        handle.dlt_pipeline.extract(
            build_resource(config, options, plugin_context.project_dir),
            loader_file_format="parquet",
        )
        handle.dlt_pipeline.normalize()
    assert len(handle.dlt_pipeline.list_normalized_load_packages()) == 2

    result = plugin.run(handle)

    assert result.success and len(result.details["recovered_load_ids"]) == 2
    cursors = [cursor_of(decompress_state(s or "")) for s in stored_states(fresh_catalog())]
    assert cursors == ["2024-01-03T00:00:00Z", "2024-01-05T00:00:00Z"]
    assert ids_in(fresh_catalog()) == [1, 2, 3, 4, 5]
