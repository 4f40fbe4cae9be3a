"""Build bronze Iceberg tables from the sample CSVs the way the dlt plugin lands them.

A stand-in for the ingestion layer in dbt tests and in bench/transform.py: pandas `read_csv`,
dlt's snake_case column names, the `_dlt_load_id` column (the plugin does not add
`_dlt_id` to Arrow/pandas rows), one Iceberg table per
CSV in namespace `bronze` of a pyiceberg catalog.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import pyarrow as pa
from pyiceberg.catalog import Catalog, load_catalog

NAMESPACE = "bronze"
LOAD_ID = "1793491200.000001"  # dlt load ids are "<unix time>.<fraction>" strings

# bronze table -> CSV path relative to a sample_data directory
CSV_FILES: dict[str, str] = {
    "daily_activity": "wearable/daily_activity.csv",
    "sleep": "wearable/sleep.csv",
    "output_port_query_stats_daily": "usage/output_port_query_stats_daily.csv",
    "tech_asset_stats_daily": "usage/tech_asset_stats_daily.csv",
}


def snake_case(name: str) -> str:
    """dlt's column naming for these headers: `TotalMinutesAsleep` -> `total_minutes_asleep`."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def bronze_frame(csv_path: Path, load_id: str = LOAD_ID) -> pd.DataFrame:
    frame = pd.read_csv(csv_path)
    frame.columns = [snake_case(column) for column in frame.columns]
    frame["_dlt_load_id"] = load_id
    return frame


def open_catalog(properties: Mapping[str, str], name: str = "floe") -> Catalog:
    return load_catalog(name, **properties)


def write_table(catalog: Catalog, table: str, frame: pd.DataFrame) -> None:
    """Create (or replace) `bronze.<table>` with the frame's rows."""
    catalog.create_namespace_if_not_exists(NAMESPACE)
    identifier = f"{NAMESPACE}.{table}"
    if catalog.table_exists(identifier):
        catalog.drop_table(identifier)
    if "date" in frame.columns:  # the usage tables' DATE column, as their bronze holds it
        frame = frame.assign(date=pd.to_datetime(frame["date"]).dt.date)
    arrow = pa.Table.from_pandas(frame, preserve_index=False)
    iceberg_table = catalog.create_table(identifier, schema=arrow.schema)
    iceberg_table.append(arrow)


def load_sample_bronze(
    catalog: Catalog, sample_dir: Path, skip: frozenset[str] = frozenset()
) -> dict[str, pd.DataFrame]:
    """Write every sample CSV as a bronze table (except `skip`); returns the frames written."""
    frames = {}
    for table, relative in CSV_FILES.items():
        if table in skip:
            continue
        frames[table] = bronze_frame(sample_dir / relative)
        write_table(catalog, table, frames[table])
    return frames
