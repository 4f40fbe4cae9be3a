"""Landing-zone files through the dlt plugin: each row keeps its file, a changed file replaces
the rows it contributed before (never doubles them), the snapshot records the checksums."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pyiceberg.catalog import Catalog

from plugins.base import (
    LANDING_FILES_PROPERTY,
    IngestionConfig,
    IngestionResult,
    PluginContext,
    RunContext,
    SourceFiles,
)
from plugins.dlt import DltIngestionPlugin

pytestmark = pytest.mark.integration

TABLE = "bronze.daily_activity"


def land(
    context: PluginContext, config: IngestionConfig, folder: Path, *names: str
) -> IngestionResult:
    checksums = {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in names}
    plugin = DltIngestionPlugin(context)
    result = plugin.run(
        plugin.create_pipeline(config),
        run_context=RunContext(
            run_id="run-1", source_files=SourceFiles(checksums, prefix="wearable/")
        ),
    )
    assert result.success, result.error and result.error.to_dict()
    return result


def entry(make_entry: Callable[..., IngestionConfig], disposition: str) -> IngestionConfig:
    return make_entry(
        "activity",
        source="dlt.sources.filesystem",
        table="daily_activity",
        config={"bucket_url": "landing", "file_glob": "*.csv", "format": "csv"},
        write_disposition=disposition,
        primary_key=("Id", "ActivityDate") if disposition == "merge" else (),
    )


def rows(catalog: Catalog) -> list[tuple[Any, ...]]:
    data = catalog.load_table(TABLE).scan().to_arrow()
    return sorted(
        zip(
            data.column("id").to_pylist(),
            data.column("activity_date").to_pylist(),
            data.column("total_steps").to_pylist(),
            data.column("_floe_source_file").to_pylist(),
            strict=True,
        )
    )


@pytest.mark.parametrize("disposition", ["merge", "append"])
def test_a_changed_file_replaces_its_rows_and_leaves_the_others(
    disposition: str,
    plugin_context: PluginContext,
    project_dir: Path,
    make_entry: Callable[..., IngestionConfig],
    fresh_catalog: Callable[[], Catalog],
) -> None:
    folder = project_dir / "landing"
    folder.mkdir()
    header = "Id,ActivityDate,TotalSteps\n"
    (folder / "a.csv").write_text(header + "1,2026-01-01,10\n2,2026-01-01,20\n3,2026-01-01,30\n")
    (folder / "b.csv").write_text(header + "4,2026-01-01,40\n")
    config = entry(make_entry, disposition)
    first = land(plugin_context, config, folder, "a.csv", "b.csv")
    assert first.details["file_rows"] == {"wearable/a.csv": 3, "wearable/b.csv": 1}

    # a.csv changes: row 2 is gone, row 3 changed, row 5 is new; b.csv is not in this run
    (folder / "a.csv").write_text(header + "1,2026-01-01,10\n3,2026-01-01,33\n5,2026-01-01,50\n")
    second = land(plugin_context, config, folder, "a.csv")
    assert second.details["file_rows"] == {"wearable/a.csv": 3}
    assert [(r[0], r[2], r[3]) for r in rows(fresh_catalog())] == [
        (1, 10, "wearable/a.csv"),
        (3, 33, "wearable/a.csv"),
        (4, 40, "wearable/b.csv"),
        (5, 50, "wearable/a.csv"),
    ]
    snapshot = fresh_catalog().load_table(TABLE).current_snapshot()
    assert snapshot is not None
    recorded = json.loads(snapshot.summary[LANDING_FILES_PROPERTY])
    assert recorded == {
        "wearable/a.csv": hashlib.sha256((folder / "a.csv").read_bytes()).hexdigest()
    }


def test_a_row_that_moves_to_another_file_belongs_to_that_file(
    plugin_context: PluginContext,
    project_dir: Path,
    make_entry: Callable[..., IngestionConfig],
    fresh_catalog: Callable[[], Catalog],
) -> None:
    """Merge: b.csv re-sends a key of a.csv unchanged; when a.csv later drops that key, the
    row stays, because it is now b.csv's."""
    folder = project_dir / "landing"
    folder.mkdir()
    header = "Id,ActivityDate,TotalSteps\n"
    (folder / "a.csv").write_text(header + "1,2026-01-01,10\n2,2026-01-01,20\n")
    config = entry(make_entry, "merge")
    land(plugin_context, config, folder, "a.csv")
    (folder / "b.csv").write_text(header + "2,2026-01-01,20\n")
    land(plugin_context, config, folder, "b.csv")
    (folder / "a.csv").write_text(header + "1,2026-01-01,10\n")
    land(plugin_context, config, folder, "a.csv")
    assert [(r[0], r[3]) for r in rows(fresh_catalog())] == [
        (1, "wearable/a.csv"),
        (2, "wearable/b.csv"),
    ]
