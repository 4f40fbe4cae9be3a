"""The production path: the same load into a pyiceberg SQL catalog on PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pyiceberg.catalog import load_catalog

from plugins.base import IngestionConfig, PluginContext
from plugins.dlt import DltIngestionPlugin

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


@pytest.fixture
def postgres_context(postgres_dsn: str, tmp_path: Path) -> Iterator[PluginContext]:
    """A catalog name of its own per test, so parallel runs never see each other's tables."""
    properties = {
        "type": "sql",
        "uri": postgres_dsn.replace("postgresql://", "postgresql+psycopg://", 1),
        "warehouse": (tmp_path / "warehouse").as_uri(),
    }
    (tmp_path / "project").mkdir()
    context = PluginContext(
        catalog_name=f"floe_test_{uuid.uuid4().hex[:12]}",
        catalog_properties=properties,
        work_dir=tmp_path / "work",
        project_dir=tmp_path / "project",
    )
    yield context
    catalog = load_catalog(context.catalog_name, **properties)
    for namespace in catalog.list_namespaces():
        for identifier in catalog.list_tables(namespace):
            catalog.drop_table(identifier)
        catalog.drop_namespace(namespace)
    catalog.engine.dispose()


def test_load_append_and_merge_on_postgres_catalog(
    postgres_context: PluginContext, make_entry: Callable[..., IngestionConfig]
) -> None:
    plugin = DltIngestionPlugin(postgres_context)
    rows = [{"Id": i, "Plan": "free"} for i in range(3)]
    config = make_entry(
        "accounts",
        source="dlt_test_sources:rows",
        config={"rows": rows},
        write_disposition="merge",
        primary_key=("Id",),
    )

    first = plugin.run(plugin.create_pipeline(config))
    changed = make_entry(
        "accounts",
        source="dlt_test_sources:rows",
        config={"rows": [{"Id": 1, "Plan": "pro"}, {"Id": 7, "Plan": "team"}]},
        write_disposition="merge",
        primary_key=("Id",),
    )
    second = plugin.run(plugin.create_pipeline(changed))

    assert first.success and second.success, (first.error, second.error)
    assert first.tables_created == ["bronze.accounts"]
    catalog = load_catalog(postgres_context.catalog_name, **postgres_context.catalog_properties)
    table = catalog.load_table("bronze.accounts")
    assert table.current_snapshot().snapshot_id == second.snapshot_id
    data = table.scan().to_arrow()
    plans = dict(zip(data.column("id").to_pylist(), data.column("plan").to_pylist(), strict=True))
    assert plans == {0: "free", 1: "pro", 2: "free", 7: "team"}
