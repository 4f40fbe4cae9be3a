"""`floe maintenance [--dry-run]`: the same functions, printed."""

from __future__ import annotations

from pathlib import Path

import pytest

from platform_defs import cli
from platform_defs.catalog import open_catalog
from platform_defs.config import load_project

from .conftest import SCHEMA, age, append, files_under, local_dir, write_project

pytestmark = pytest.mark.integration


def test_dry_run_prints_what_would_go_then_the_run_removes_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_project(tmp_path, ["bronze.events"])
    catalog = open_catalog(load_project(root, check_plugins=False).plugin_context())
    catalog.create_namespace("bronze")
    table = catalog.create_table("bronze.events", schema=SCHEMA)
    for batch in range(10):
        append(table, batch)
    orphan = local_dir(table.location()) / "data" / "left-over.parquet"
    orphan.write_bytes(b"x" * 5)
    age(orphan, hours=48)
    files = files_under(table, "data") | files_under(table, "metadata")

    assert cli.main(["maintenance", "--project-dir", str(root), "--dry-run", "-v"]) == 0
    out = capsys.readouterr().out
    assert "bronze.events: " in out and "would remove" in out
    assert "1 orphan files (5 bytes)" in out and "compacted 10 -> ? files" in out
    assert f"would remove {orphan.as_uri()}" in out
    assert files_under(table, "data") | files_under(table, "metadata") == files

    assert cli.main(["maintenance", "--project-dir", str(root)]) == 0
    out = capsys.readouterr().out
    assert "removed 0 data files" in out and "compacted 10 -> 1 files" in out
    assert not orphan.exists()


def test_unknown_table_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = write_project(tmp_path, ["bronze.events"])
    assert cli.main(["maintenance", "--project-dir", str(root), "--table", "bronze.nope"]) == 2
    # the floe.yaml destination, its rejects, and the platform's usage tables (pushed days)
    known = (
        "bronze.events, bronze.events__rejected, bronze.output_port_query_stats_daily, "
        "bronze.tech_asset_stats_daily"
    )
    assert (
        f"not a bronze table floe maintains: bronze.nope (known: {known})"
        in capsys.readouterr().err
    )
