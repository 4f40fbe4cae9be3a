"""A floe project in a temp dir, run from its YAML: what a data engineer writes, end to end.

Helpers for the tests that check a documented key from `floe.yaml` to a committed Iceberg
table: the real loader (line-numbered validation, the installed dlt plugin and its models),
the real plugin run, a real SQLite catalog.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from pyiceberg.catalog import load_catalog

from platform_defs.config import Project, load_project
from plugins.base import IngestionResult
from plugins.dlt import DltIngestionPlugin

MANIFEST = """\
catalog:
  uri: sqlite:///.floe/catalog.db
  warehouse: .floe/warehouse
landing_zone:
  root: sample_data  # as the repository's manifest, for its landing_zone pipelines
"""


def write_project(root: Path, floe_yaml: str, files: dict[str, str] | None = None) -> Path:
    """floe.yaml (dedented), the default manifest, and data files relative to `root`."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "floe.yaml").write_text(textwrap.dedent(floe_yaml), encoding="utf-8")
    (root / "platform-manifest.yaml").write_text(MANIFEST, encoding="utf-8")
    for name, text in (files or {}).items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def run_pipeline(project: Project, name: str) -> IngestionResult:
    """One run of the entry, as the ingestion asset runs it (secrets resolved)."""
    plugin = DltIngestionPlugin(project.plugin_context("dlt"))
    return plugin.run(plugin.create_pipeline(project.ingestion_config(name)))


def land(root: Path, name: str = "orders") -> tuple[IngestionResult, Project]:
    """Validate the project like `floe validate`, then run `name`; the run must succeed."""
    project = load_project(root)
    result = run_pipeline(project, name)
    assert result.success, result.error and result.error.to_dict()
    return result, project


def table_rows(project: Project, destination: str, *columns: str) -> list[dict[str, Any]]:
    """The committed rows (through a fresh catalog client), only `columns`, sorted."""
    context = project.plugin_context("dlt")
    table = load_catalog(context.catalog_name, **dict(context.catalog_properties)).load_table(
        destination
    )
    data = table.scan().to_arrow()
    rows = data.select(list(columns) or data.column_names).to_pylist()
    return sorted(rows, key=lambda row: [str(value) for value in row.values()])


def table_columns(project: Project, destination: str) -> list[str]:
    context = project.plugin_context("dlt")
    catalog = load_catalog(context.catalog_name, **dict(context.catalog_properties))
    return [field.name for field in catalog.load_table(destination).schema().fields]
