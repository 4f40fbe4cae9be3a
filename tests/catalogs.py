"""A real Iceberg SQL catalog in a temp dir, shared by the tests and the benchmarks."""

from __future__ import annotations

from pathlib import Path


def local_catalog_properties(root: Path) -> dict[str, str]:
    """pyiceberg properties for a SQLite catalog with a local warehouse under `root`."""
    warehouse = root / "warehouse"
    warehouse.mkdir(parents=True, exist_ok=True)
    return {
        "type": "sql",
        "uri": f"sqlite:///{root / 'catalog.db'}",
        "warehouse": warehouse.as_uri(),
    }
