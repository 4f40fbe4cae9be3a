"""Rejected rows: kept with their load package, committed beside the bronze table.

A row that does not fit (see ``columns.py``) or a malformed line is recorded during extract in
the **load package's state** (dlt's ``load_package_state.json``, saved with the package at the
end of extract). So the rejects belong to exactly one load id and travel with its package
through normalize, a crash and the recovery run: they are committed once, like the rows.

They land in ``<namespace>.<table>__rejected`` through the same write path
(``plugins.iceberg.TableCommitter``), as an append tagged with the package's load id: a retry or
a recovery finds that load id in the rejects table and commits nothing twice. The rejects are
committed before the package's rows, so by the time a load's rows are visible its rejects are
too.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import dlt
import pyarrow as pa
import pyarrow.parquet as pq
from dlt.common.storages.exceptions import CurrentLoadPackageStateNotAvailable
from dlt.common.storages.load_package import load_package_state

from plugins.dlt.columns import Reject

REJECTS_SUFFIX = "__rejected"
REJECTS_KEY = "floe_rejects"
COLUMNS_KEY = "floe_columns"
"""Column names seen in file headers: what an empty first load creates its table with."""
SAMPLE_SIZE = 10

REJECTS_SCHEMA = pa.schema(
    [
        pa.field("source_file", pa.string()),
        pa.field("line", pa.int64()),
        pa.field("record_number", pa.int64()),
        pa.field("column_name", pa.string()),
        pa.field("raw_value", pa.string()),
        pa.field("reason", pa.string()),
        pa.field("raw_record", pa.string()),
        pa.field("rejected_at", pa.timestamp("us", tz="UTC")),
    ]
)
"""The rejects table's columns (plus ``_dlt_load_id``, the load the rows were rejected from)."""


def rejects_table(destination: str) -> str:
    """``bronze.sleep`` -> ``bronze.sleep__rejected``."""
    return f"{destination}{REJECTS_SUFFIX}"


class RejectSink:
    """Where the checks put rejected rows and header columns during extract: the state of
    the load package being extracted (kept in memory when there is none, e.g. a resource
    iterated outside a dlt pipeline)."""

    def __init__(self) -> None:
        self.outside_extract: dict[str, list[Any]] = {}

    def _list(self, key: str) -> list[Any]:
        try:
            state = load_package_state()["state"]
        except CurrentLoadPackageStateNotAvailable:
            return self.outside_extract.setdefault(key, [])
        return state.setdefault(key, [])  # type: ignore[misc]  # our own keys

    def add(self, rejects: Iterable[Reject]) -> None:
        self._list(REJECTS_KEY).extend(reject.as_dict() for reject in rejects)

    def columns(self, names: Iterable[str]) -> None:
        known = self._list(COLUMNS_KEY)
        known.extend(name for name in names if name not in known)


def package_rejects(pipeline: dlt.Pipeline, load_id: str) -> list[dict[str, Any]]:
    return list(pipeline.get_load_package_state(load_id).get(REJECTS_KEY) or [])  # type: ignore[call-overload]


def package_columns(pipeline: dlt.Pipeline, load_id: str) -> list[str]:
    return list(pipeline.get_load_package_state(load_id).get(COLUMNS_KEY) or [])  # type: ignore[call-overload]


def write_rejects(records: list[dict[str, Any]], path: Path) -> Path:
    """The rejects as one local parquet file for the commit."""
    rows = [
        {**{name: record.get(name) for name in REJECTS_SCHEMA.names}, "rejected_at": _when(record)}
        for record in records
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=REJECTS_SCHEMA), path)
    return path


def _when(record: dict[str, Any]) -> datetime | None:
    value = record.get("rejected_at")
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def sample(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The first rejects, for run metadata (the raw record left out: it can be long)."""
    return [
        {key: value for key, value in record.items() if key != "raw_record"}
        for record in records[:SAMPLE_SIZE]
    ]
