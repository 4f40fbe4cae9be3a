"""`floe packages list | retry | discard` on a real project whose merge pipeline wedged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pyiceberg.catalog import load_catalog

from platform_defs import cli
from platform_defs.config import load_project
from plugins.dlt import DltIngestionPlugin

pytestmark = pytest.mark.integration

FLOE = """\
ingestion:
  - name: activity
    destination: bronze.daily_activity
    write_disposition: merge
    primary_key: [Id]
    dlt:
      source: dlt.sources.filesystem
      config: {bucket_url: landing, file_glob: "*.csv", format: csv}
"""
MANIFEST = """\
catalog:
  name: floe
  uri: sqlite:///.floe/catalog.db
  warehouse: .floe/warehouse
storage:
  root: .floe
"""


def test_a_set_aside_package_is_listed_retried_after_a_fix_and_discarded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "floe.yaml").write_text(FLOE)
    (tmp_path / "platform-manifest.yaml").write_text(MANIFEST)
    landing = tmp_path / "landing"
    landing.mkdir()
    project = load_project(tmp_path)
    plugin = DltIngestionPlugin(project.plugin_context("dlt"))
    config = project.ingestion_config("activity")

    def run() -> bool:
        return plugin.run(plugin.create_pipeline(config)).success

    (landing / "a.csv").write_text("Id,Steps\n1,10\n2,20\n")
    assert run()
    # declared double: long -> double is refused (undeclared, 10.5 would be a rejected row)
    (tmp_path / "floe.yaml").write_text(FLOE + "      columns: {Steps: {data_type: double}}\n")
    (landing / "a.csv").write_text("Id,Steps\n1,10.5\n2,20\n")
    fractional = load_project(tmp_path).ingestion_config("activity")
    assert not plugin.run(plugin.create_pipeline(fractional)).success
    (tmp_path / "floe.yaml").write_text(FLOE)
    (landing / "a.csv").write_text("Id,Steps\n1,11\n2,20\n")
    assert run()  # not wedged

    args = ["packages", "list", "--project-dir", str(tmp_path), "--json"]
    assert cli.main(args) == 0
    (package,) = json.loads(capsys.readouterr().out)
    assert (package["pipeline"], package["code"], package["rows"]) == (
        "activity",
        "SCHEMA_MISMATCH",
        2,
    )
    assert "steps" in package["message"]

    # the retry fails the same way while the table cannot take it, and keeps the package
    retry = ["packages", "retry", "activity", package["load_id"], "--project-dir", str(tmp_path)]
    assert cli.main(retry) == 1
    assert "SCHEMA_MISMATCH" in capsys.readouterr().err
    assert cli.main(["packages", "list", "--project-dir", str(tmp_path)]) == 0
    assert package["load_id"] in capsys.readouterr().out

    discard = [
        "packages",
        "discard",
        "activity",
        package["load_id"],
        "--project-dir",
        str(tmp_path),
    ]
    assert cli.main(discard) == 0
    assert cli.main(["packages", "list", "--project-dir", str(tmp_path)]) == 0
    assert "no set-aside packages" in capsys.readouterr().out
    assert cli.main(discard) == 1  # gone

    catalog = load_catalog("floe", **project.plugin_context("dlt").catalog_properties)
    rows = catalog.load_table("bronze.daily_activity").scan().to_arrow().sort_by("id")
    assert rows.column("steps").to_pylist() == [11, 20]
