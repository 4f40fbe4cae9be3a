"""Entry-point discovery: a plugin installed by any package is found by its `type:` name."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from plugins.base import IngestionPlugin
from plugins.registry import PluginNotFoundError, discover_plugins, get_plugin_class

from ..conftest import install_distribution

pytestmark = pytest.mark.unit


def _install_dist_info(site: Path, group_line: str) -> None:
    install_distribution(site, "floe-echo-plugin", f"[floe.ingestion]\n{group_line}\n")


def test_the_dlt_plugin_is_registered() -> None:
    from plugins.dlt import DltIngestionPlugin

    assert discover_plugins()["dlt"] is DltIngestionPlugin
    assert get_plugin_class("dlt") is DltIngestionPlugin


def test_a_plugin_from_another_distribution_is_discovered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install_dist_info(tmp_path / "site", "echo = dlt_test_plugins:EchoIngestionPlugin")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    importlib.invalidate_caches()

    plugins = discover_plugins()

    assert "dlt" in plugins
    echo = plugins["echo"]
    assert issubclass(echo, IngestionPlugin) and echo.name == "echo"
    assert get_plugin_class("echo") is echo


def test_an_entry_point_that_is_not_a_plugin_is_rejected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install_dist_info(tmp_path / "site", "bogus = dlt_test_sources:rows")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    importlib.invalidate_caches()

    with pytest.raises(TypeError, match="bogus"):
        discover_plugins()


def test_unknown_type_names_the_installed_ones() -> None:
    with pytest.raises(PluginNotFoundError, match="installed: .*dlt"):
        get_plugin_class("fivetran")


def test_destination_config_never_shows_credentials(tmp_path: Path) -> None:
    from plugins.base import PluginContext
    from plugins.dlt import DltIngestionPlugin

    context = PluginContext(
        catalog_name="floe",
        catalog_properties={
            "type": "sql",
            "uri": "postgresql+psycopg://floe:hunter2@db:5432/catalog",
            "warehouse": "s3://lake/warehouse",
            "s3.secret-access-key": "abc123",
        },
        work_dir=tmp_path,
    )

    shown = DltIngestionPlugin(context).get_destination_config()

    assert shown["catalog"] == {
        "type": "sql",
        "uri": "postgresql+psycopg://floe:***@db:5432/catalog",
        "warehouse": "s3://lake/warehouse",
    }
    assert "hunter2" not in repr(context) and "abc123" not in repr(context)
