"""Checks that an Iceberg table reads the same in any reader, not only in pyiceberg (issue #6).

Iceberg readers find a data file's columns by Parquet field id. pyiceberg falls back to the
table's name mapping (``schema.name-mapping.default``) for files without ids; other readers do
not (daft 0.7 refuses such files, others read every column as null). So every data file must
carry the field ids of the table's schema, and a second reader (daft) must read what pyiceberg
reads. Both checks go over every snapshot, not only the current one, so a file that a later
commit rewrote (a merge) or dropped (a replace) is still checked.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from pyiceberg.schema import Schema
from pyiceberg.table import Table
from pyiceberg.types import IcebergType, ListType, MapType, StructType

# daft reports its import and runs to a telemetry service unless told not to
os.environ.setdefault("DAFT_ANALYTICS_ENABLED", "0")
os.environ.setdefault("DO_NOT_TRACK", "1")

FIELD_ID_KEY = b"PARQUET:field_id"


def snapshot_ids(table: Table) -> list[int]:
    return [snapshot.snapshot_id for snapshot in table.snapshots()]


def _schema_at(table: Table, snapshot_id: int) -> Schema:
    snapshot = table.snapshot_by_id(snapshot_id)
    schema_id = snapshot.schema_id if snapshot is not None else None
    return next((s for s in table.schemas().values() if s.schema_id == schema_id), table.schema())


def _relative(table: Table, path: str) -> str:
    return path.removeprefix(table.location().rstrip("/") + "/")


def _field_id(field: pa.Field) -> int | None:
    value = (field.metadata or {}).get(FIELD_ID_KEY)
    return int(value) if value is not None else None


def _children(
    field: pa.Field, iceberg_type: IcebergType, column: str
) -> Iterator[tuple[pa.Field, int | None, IcebergType | None, str]]:
    """One level down: (arrow child, its Iceberg field id and type, its column path)."""
    arrow_type = field.type
    if isinstance(iceberg_type, StructType) and pa.types.is_struct(arrow_type):
        by_name = {f.name: f for f in iceberg_type.fields}
        for child in arrow_type:
            nested = by_name.get(child.name)
            yield (
                child,
                nested.field_id if nested else None,
                nested.field_type if nested else None,
                f"{column}.{child.name}",
            )
    elif isinstance(iceberg_type, ListType) and (
        pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type)
    ):
        element = arrow_type.value_field
        yield element, iceberg_type.element_id, iceberg_type.element_type, f"{column}.element"
    elif isinstance(iceberg_type, MapType) and pa.types.is_map(arrow_type):
        yield arrow_type.key_field, iceberg_type.key_id, iceberg_type.key_type, f"{column}.key"
        item = arrow_type.item_field
        yield item, iceberg_type.value_id, iceberg_type.value_type, f"{column}.value"


def _column_problems(
    field: pa.Field, expected: int | None, iceberg_type: IcebergType | None, column: str
) -> Iterator[str]:
    """What is wrong with one file column's field id (and its nested columns')."""
    if expected is None or iceberg_type is None:
        yield f"{column} (not in the table schema)"
        return
    actual = _field_id(field)
    if actual is None:
        yield f"{column} (no field id; Iceberg id {expected})"
    elif actual != expected:
        yield f"{column} (field id {actual}; Iceberg id {expected})"
    if not iceberg_type.is_primitive:
        for child, child_id, child_type, path in _children(field, iceberg_type, column):
            yield from _column_problems(child, child_id, child_type, path)


def field_id_problems(table: Table, name: str) -> list[str]:
    """One line per data file (of any snapshot) whose columns, nested ones included, lack the
    Parquet field id of the same-named column in the Iceberg schema, or carry another one."""
    problems: list[str] = []
    seen: set[str] = set()
    for snapshot_id in snapshot_ids(table):
        by_name = {f.name: f for f in _schema_at(table, snapshot_id).fields}
        for task in table.scan(snapshot_id=snapshot_id).plan_files():
            path = task.file.file_path
            if path in seen:
                continue
            seen.add(path)
            with table.io.new_input(path).open() as handle:
                file_schema = pq.read_schema(handle)
            wrong = [
                problem
                for field in file_schema
                for problem in _column_problems(
                    field,
                    by_name[field.name].field_id if field.name in by_name else None,
                    by_name[field.name].field_type if field.name in by_name else None,
                    field.name,
                )
            ]
            if wrong:
                problems.append(
                    f"{name}: file {_relative(table, path)} (snapshot {snapshot_id}): "
                    f"{len(wrong)} column(s) without the Iceberg field id: " + ", ".join(wrong)
                )
    return problems


def _sort_keys(data: pa.Table) -> list[tuple[str, str]]:
    """Every column of a type Arrow can sort on: enough for a deterministic row order."""
    return [
        (f.name, "ascending")
        for f in data.schema
        if not pa.types.is_nested(f.type) and not pa.types.is_dictionary(f.type)
    ]


def _sorted_rows(data: pa.Table, columns: list[str]) -> list[dict[str, Any]]:
    data = data.select(columns)
    return data.sort_by(_sort_keys(data)).to_pylist()


def read_with_daft(table: Table, snapshot_id: int | None = None) -> pa.Table:
    import daft

    return daft.read_iceberg(table, snapshot_id=snapshot_id).to_arrow()


def _snapshot_mismatches(table: Table, name: str, snapshot_id: int) -> list[str]:
    where = f"{name} (snapshot {snapshot_id})"
    try:
        expected = table.scan(snapshot_id=snapshot_id).to_arrow()
    except Exception as exc:
        return [f"{where}: pyiceberg cannot read the table: {type(exc).__name__}: {exc}"]
    try:
        actual = read_with_daft(table, snapshot_id)
    except Exception as exc:  # the reader refusing the table is the finding
        return [f"{where}: daft cannot read the table: {type(exc).__name__}: {exc}"]
    if actual.column_names != expected.column_names:
        return [
            f"{where}: daft reads columns {actual.column_names}, pyiceberg {expected.column_names}"
        ]
    if actual.num_rows != expected.num_rows:
        return [f"{where}: daft reads {actual.num_rows} rows, pyiceberg {expected.num_rows}"]
    columns = expected.column_names
    problems = []
    for index, (got, want) in enumerate(
        zip(_sorted_rows(actual, columns), _sorted_rows(expected, columns), strict=True)
    ):
        differing = [c for c in columns if got[c] != want[c]]
        if differing:
            values = ", ".join(f"{c}: daft {got[c]!r}, pyiceberg {want[c]!r}" for c in differing)
            problems.append(f"{where}: sorted row {index} differs: {values}")
    return problems


def reader_mismatches(table: Table, name: str) -> list[str]:
    """How daft's read of the table differs from pyiceberg's, at every snapshot: columns, row
    count, and every value once both are sorted on all their sortable columns."""
    return [
        problem
        for snapshot_id in snapshot_ids(table)
        for problem in _snapshot_mismatches(table, name, snapshot_id)
    ]
