"""Changed-rows-only merge: which rows of a load are new or changed, which files hold the rows
they replace.

pyiceberg's ``upsert`` compares whole rows, so columns that differ on every load (dlt's
``_dlt_load_id``/``_dlt_id``, a landing file's name) make every matched row look changed and it
rewrites the table each run. Here only the *business* columns are compared: a row whose
business columns are unchanged is not rewritten, a load with nothing new commits nothing, and
only the data files that hold a replaced row are rewritten (copy-on-write at file granularity;
files whose key range cannot overlap the load are not even read).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.expressions import (
    AlwaysTrue,
    And,
    BooleanExpression,
    GreaterThanOrEqual,
    LessThanOrEqual,
    Or,
)
from pyiceberg.expressions.visitors import bind, extract_field_ids
from pyiceberg.io.pyarrow import expression_to_pyarrow
from pyiceberg.table import FileScanTask, Table
from pyiceberg.types import DoubleType, FloatType, IntegerType, LongType, StringType

from plugins.iceberg.files import read_data_files

_ROW = "__floe_row"
_POS = "__floe_pos"
_PRUNABLE = (IntegerType, LongType, FloatType, DoubleType, StringType)


@dataclass
class MergePlan:
    """What merging a load into the table's current snapshot takes."""

    rows_to_write: pa.Table
    """The load's rows that are new or changed (the others are already in the table)."""
    rewrites: list[tuple[FileScanTask, pa.Array]] = field(default_factory=list)
    """Data files holding rows the load replaces, with the positions of those rows."""
    rows_inserted: int = 0
    rows_updated: int = 0
    rows_unchanged: int = 0
    rows_deleted: int = 0
    """Rows inside the load's ``replace_filter`` whose key the load no longer has."""
    files_read: int = 0

    @property
    def is_noop(self) -> bool:
        return self.rows_to_write.num_rows == 0 and not self.rewrites


def _positions(count: int) -> pa.Array:
    return pa.array(np.arange(count, dtype=np.int64))


def last_row_wins(rows: pa.Table, keys: Sequence[str]) -> pa.Table:
    """Drop all but the last row of each primary key (the order the source produced them)."""
    if rows.num_rows == 0:
        return rows
    indexed = rows.append_column(_ROW, _positions(rows.num_rows))
    last = indexed.group_by(list(keys), use_threads=False).aggregate([(_ROW, "max")])
    if last.num_rows == rows.num_rows:
        return rows
    positions = last.column(f"{_ROW}_max")
    return rows.take(pc.take(positions, pc.sort_indices(positions)))


def key_range_filter(table: Table, rows: pa.Table, keys: Sequence[str]) -> BooleanExpression:
    """min <= key <= max for each orderable key column: lets the scan skip data files whose
    column statistics show they cannot hold any of the load's keys."""
    schema = table.schema()
    expression: BooleanExpression = AlwaysTrue()
    for key in keys:
        try:
            field_type = schema.find_field(key).field_type
        except ValueError:
            continue
        if not isinstance(field_type, _PRUNABLE) or rows.column(key).null_count:
            continue
        bounds = pc.min_max(rows.column(key))
        low, high = bounds["min"].as_py(), bounds["max"].as_py()
        if low is None or high is None:
            continue
        expression = And(expression, GreaterThanOrEqual(key, low), LessThanOrEqual(key, high))
    return expression


def _same(left: pa.ChunkedArray, right: pa.ChunkedArray) -> pa.Array:
    """Row-wise equality where null equals null."""
    if right.type != left.type:
        right = right.cast(left.type)
    try:
        equal = pc.fill_null(pc.equal(left, right), False)
        both_null = pc.and_(pc.is_null(left), pc.is_null(right))
        return pc.or_(equal, both_null)
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):  # nested types: compare values
        return pa.array(
            [a == b for a, b in zip(left.to_pylist(), right.to_pylist(), strict=True)], pa.bool_()
        )


def plan_merge(
    table: Table,
    increment: pa.Table,
    keys: Sequence[str],
    ignore_in_comparison: Sequence[str] = (),
    replace_filter: BooleanExpression | None = None,
) -> MergePlan:
    """Compare `increment` (one row per key, in table-compatible types) with the table.

    With `replace_filter` (e.g. "the rows of these landing files"), the table's rows inside
    it whose key is not in the increment are deleted too: the load replaces that slice,
    and merges by key everywhere else.

    Memory: the increment and, one data file at a time, the key and business columns of a
    candidate file."""
    metadata, io = table.metadata, table.io
    table_columns = {f.name for f in table.schema().fields}
    compared = [
        name
        for name in increment.column_names
        if name in table_columns and name not in keys and name not in ignore_in_comparison
    ]
    # a column new to the table: a matched row with a value there has changed
    added = [
        name
        for name in increment.column_names
        if name not in table_columns and name not in keys and name not in ignore_in_comparison
    ]
    scope: BooleanExpression = key_range_filter(table, increment, keys)
    predicate = None
    if replace_filter is not None:
        scope = Or(scope, replace_filter) if increment.num_rows else replace_filter
        predicate = expression_to_pyarrow(bind(table.schema(), replace_filter, True))
    filter_columns = _filter_columns(table, replace_filter)
    tasks = list(table.scan(row_filter=scope).plan_files())
    plan = MergePlan(rows_to_write=increment, files_read=len(tasks))
    if not tasks or (increment.num_rows == 0 and predicate is None):
        plan.rows_inserted = increment.num_rows
        return plan

    read = list(dict.fromkeys([*keys, *compared, *filter_columns]))
    right_keys = increment.select(list(keys)).append_column(_ROW, _positions(increment.num_rows))
    matched: list[pa.Array] = []
    changed: list[pa.Array] = []
    for task in tasks:
        existing = read_data_files(metadata, io, [task], read)
        if existing.num_rows == 0:
            continue
        left_keys = existing.select(list(keys)).append_column(_POS, _positions(existing.num_rows))
        # join on the keys alone (Arrow joins carry no nested columns), in the table's types
        for key in keys:
            target = left_keys.schema.field(key).type
            if right_keys.schema.field(key).type != target:
                index = right_keys.schema.get_field_index(key)
                right_keys = right_keys.set_column(index, key, right_keys.column(key).cast(target))
        pairs = left_keys.join(right_keys, keys=list(keys), join_type="inner", use_threads=False)
        replaced = pa.array([], pa.int64())
        if pairs.num_rows:
            positions, rows = pairs.column(_POS), pairs.column(_ROW)
            differs = pa.repeat(False, pairs.num_rows)
            for column in compared:
                before = existing.column(column).take(positions)
                after = increment.column(column).take(rows)
                differs = pc.or_(differs, pc.invert(_same(before, after)))
            for column in added:
                differs = pc.or_(differs, pc.is_valid(increment.column(column).take(rows)))
            matched.append(rows.combine_chunks())
            changed.append(pc.filter(rows, differs).combine_chunks())
            replaced = pc.filter(positions, differs).combine_chunks()
        if predicate is not None:
            # rows of the replaced slice the load no longer has: gone from the source
            kept_keys = pairs.column(_POS) if pairs.num_rows else pa.array([], pa.int64())
            all_positions = _positions(existing.num_rows)
            in_slice = pc.fill_null(evaluate_predicate(existing, predicate), False)
            unmatched = pc.invert(pc.is_in(all_positions, value_set=kept_keys))
            gone = pc.filter(all_positions, pc.and_(in_slice, unmatched))
            if len(gone):
                plan.rows_deleted += len(gone)
                replaced = pc.unique(pa.concat_arrays([replaced, gone.combine_chunks()]))
        if len(replaced):
            plan.rewrites.append((task, replaced))

    matched_rows = pc.unique(pa.concat_arrays(matched)) if matched else pa.array([], pa.int64())
    changed_rows = pc.unique(pa.concat_arrays(changed)) if changed else pa.array([], pa.int64())
    all_rows = _positions(increment.num_rows)
    new_rows = pc.filter(all_rows, pc.invert(pc.is_in(all_rows, value_set=matched_rows)))
    write = pc.sort_indices(pa.concat_arrays([new_rows, changed_rows]))
    write_rows = pc.take(pa.concat_arrays([new_rows, changed_rows]), write)
    plan.rows_to_write = increment.take(write_rows)
    plan.rows_inserted = len(new_rows)
    plan.rows_updated = len(changed_rows)
    plan.rows_unchanged = len(matched_rows) - len(changed_rows)
    return plan


def _filter_columns(table: Table, expression: BooleanExpression | None) -> list[str]:
    """The table columns `expression` reads (read with the keys, to evaluate it)."""
    if expression is None:
        return []
    schema = table.schema()
    field_ids = extract_field_ids(bind(schema, expression, True))
    return [name for i in sorted(field_ids) if (name := schema.find_column_name(i))]


def evaluate_predicate(rows: pa.Table, predicate: Any) -> pa.ChunkedArray:
    """`predicate` (a pyarrow compute expression) evaluated row by row."""
    import pyarrow.dataset as ds

    return ds.dataset(rows).to_table(columns={"m": predicate}).column("m")


def remaining_rows(table: Table, task: FileScanTask, drop_positions: pa.Array) -> pa.Table:
    """All columns of one data file (current schema) without the rows at `drop_positions`."""
    rows = read_data_files(table.metadata, table.io, [task], [])
    keep = pc.invert(pc.is_in(_positions(rows.num_rows), value_set=drop_positions))
    return rows.filter(keep)


def describe(plan: MergePlan) -> dict[str, Any]:
    return {
        "rows_inserted": plan.rows_inserted,
        "rows_updated": plan.rows_updated,
        "rows_unchanged": plan.rows_unchanged,
        "files_read": plan.files_read,
        "files_rewritten": len(plan.rewrites),
    }
