"""The platform's Iceberg catalog, opened from the manifest, and table facts for metadata."""

from __future__ import annotations

from typing import Any

import dagster as dg
from pyiceberg.catalog import Catalog, load_catalog
from pyiceberg.table import Table

from plugins.base import PluginContext

PREVIEW_ROWS = 5


def open_catalog(context: PluginContext) -> Catalog:
    """The manifest's catalog (the one every plugin writes to), from a project's
    `plugin_context()` so that callers holding one do not resolve it twice."""
    return load_catalog(context.catalog_name, **context.catalog_properties)


def table_schema(table: Table) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name=field.name, type=str(field.field_type), description=field.doc)
            for field in table.schema().fields
        ]
    )


def table_preview(table: Table, rows: int = PREVIEW_ROWS) -> dg.TableMetadataValue:
    """The first rows of the current snapshot, as a Dagster table (values as strings)."""
    head = table.scan(limit=rows).to_arrow()
    records = [
        dg.TableRecord(data={key: _display(value) for key, value in row.items()})
        for row in head.to_pylist()
    ]
    text_schema = dg.TableSchema(
        columns=[dg.TableColumn(name=name, type="string") for name in head.column_names]
    )
    return dg.MetadataValue.table(records=records, schema=text_schema)


def _display(value: Any) -> str | None:
    return None if value is None else str(value)


def table_metadata(table: Table) -> dict[str, Any]:
    """Snapshot id, location, schema, total rows and a preview of an Iceberg table."""
    snapshot = table.current_snapshot()
    summary = snapshot.summary if snapshot else None
    total_rows = int(summary.get("total-records") or 0) if summary else 0
    metadata: dict[str, Any] = {
        "iceberg/table": dg.MetadataValue.text(".".join(table.name())),
        "iceberg/snapshot_id": dg.MetadataValue.text(str(snapshot.snapshot_id) if snapshot else ""),
        "iceberg/location": dg.MetadataValue.path(table.location()),
        "dagster/row_count": dg.MetadataValue.int(total_rows),
        "dagster/column_schema": table_schema(table),
        "preview": table_preview(table),
    }
    return metadata
