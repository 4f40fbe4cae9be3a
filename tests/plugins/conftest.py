"""Fixtures for plugin tests: a plugin context on the real temp SQLite catalog."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pyiceberg.catalog import Catalog, load_catalog

from plugins.base import IngestionConfig, PluginContext

# no network from dlt in tests, whatever imports dlt first
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

HERE = Path(__file__).resolve().parent
CATALOG_NAME = "floe"


@pytest.fixture(autouse=True)
def _test_sources_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    """`dlt_test_sources:<fn>` resolves like a user's package.module:function source."""
    monkeypatch.syspath_prepend(str(HERE))


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    path = tmp_path / "project"
    path.mkdir()
    return path


@pytest.fixture
def plugin_context(
    tmp_path: Path, catalog_properties: dict[str, str], project_dir: Path
) -> PluginContext:
    return PluginContext(
        catalog_name=CATALOG_NAME,
        catalog_properties=catalog_properties,
        work_dir=tmp_path / "work",
        project_dir=project_dir,
    )


@pytest.fixture
def fresh_catalog(catalog_properties: dict[str, str]) -> Callable[[], Catalog]:
    """A brand-new catalog client on the same properties: proves data is in *our* catalog."""
    return lambda: load_catalog(CATALOG_NAME, **catalog_properties)


def _entry(
    name: str = "people",
    *,
    source: str = "dlt_test_sources:people",
    table: str | None = None,
    config: dict[str, Any] | None = None,
    **kwargs: Any,
) -> IngestionConfig:
    """An ingestion entry as the platform hands it to the plugin."""
    options = {"config": config or {}, **kwargs.pop("options", {})}
    return IngestionConfig(
        name=name,
        source=source,
        destination_table=f"bronze.{table or name}",
        options=options,
        **kwargs,
    )


@pytest.fixture
def make_entry() -> Callable[..., IngestionConfig]:
    """Build an IngestionConfig: ``make_entry("name", source=..., config={...}, ...)``."""
    return _entry
