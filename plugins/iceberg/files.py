"""Writing and reading a table's data files.

Every data file floe commits is written here: streamed record batch by record batch (memory
stays bounded by the batch, not the load), cast to the types the table holds, with the
table's Parquet field ids, at the path the table's location provider chooses
(``write.data.path``, object-store layout), through the table's FileIO (so credentials a REST
catalog vends are used).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from pyiceberg.expressions import AlwaysTrue
from pyiceberg.io import FileIO
from pyiceberg.io.pyarrow import (
    ArrowScan,
    _get_parquet_writer_kwargs,  # no public accessor for the table's parquet write options
    parquet_file_to_data_file,
)
from pyiceberg.manifest import DataFile
from pyiceberg.table import FileScanTask, TableProperties
from pyiceberg.table.locations import load_location_provider
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.utils.properties import property_as_int

log = logging.getLogger(__name__)

WRITE_BATCH_ROWS = 64 * 1024


@dataclass
class WrittenFile:
    data_file: DataFile
    rows: int
    bytes: int


def _aligned(
    batch: pa.RecordBatch, schema: pa.Schema, constants: Mapping[str, str]
) -> pa.RecordBatch:
    """`batch` with exactly `schema`'s columns (missing ones null, constants set), cast to
    its types."""
    columns = []
    for field in schema:
        if field.name in constants:
            columns.append(pa.repeat(constants[field.name], batch.num_rows).cast(field.type))
            continue
        index = batch.schema.get_field_index(field.name)
        if index < 0:
            columns.append(pa.nulls(batch.num_rows, field.type))
            continue
        column = batch.column(index)
        if pa.types.is_dictionary(column.type):
            column = column.dictionary_decode()
        columns.append(column if column.type == field.type else column.cast(field.type))
    return pa.RecordBatch.from_arrays(columns, schema=schema)


class DataFileWriter:
    """Writes data files for one table (its metadata as of the transaction in progress)."""

    def __init__(self, io: FileIO, metadata: TableMetadata, name_prefix: str) -> None:
        self.io = io
        self.metadata = metadata
        self.name_prefix = name_prefix
        self._provider = load_location_provider(metadata.location, metadata.properties)
        self._count = 0
        self.written: list[WrittenFile] = []
        # the table's write properties (codec, page sizes), read the way pyiceberg reads them
        self._writer_options = _get_parquet_writer_kwargs(metadata.properties)
        self._row_group_rows = (
            property_as_int(
                metadata.properties,
                TableProperties.PARQUET_ROW_GROUP_LIMIT,
                TableProperties.PARQUET_ROW_GROUP_LIMIT_DEFAULT,
            )
            or TableProperties.PARQUET_ROW_GROUP_LIMIT_DEFAULT
        )

    @property
    def locations(self) -> list[str]:
        return [w.data_file.file_path for w in self.written]

    def write(
        self,
        batches: Iterable[pa.RecordBatch],
        schema: pa.Schema,
        constants: Mapping[str, str] | None = None,
    ) -> WrittenFile | None:
        """One data file from `batches` in `schema` (which carries the field ids); None when
        there are no rows (no empty files)."""
        iterator = iter(batches)
        first = next((b for b in iterator if b.num_rows), None)
        if first is None:
            return None
        name = f"{self.name_prefix}-{self._count:05d}.parquet"
        self._count += 1
        location = self._provider.new_data_location(data_file_name=name)
        rows = 0
        pending: list[pa.RecordBatch] = []
        pending_rows = 0
        output = self.io.new_output(location)
        with output.create(overwrite=True) as stream:
            with pq.ParquetWriter(
                stream, schema, store_decimal_as_integer=True, **self._writer_options
            ) as writer:
                # row groups of the table's `write.parquet.row-group-limit`, as pyiceberg's own
                # writer makes them: memory is bounded by one row group, not the load
                for batch in _chain(first, iterator):
                    if not batch.num_rows:
                        continue
                    pending.append(_aligned(batch, schema, constants or {}))
                    pending_rows += batch.num_rows
                    rows += batch.num_rows
                    if pending_rows >= self._row_group_rows:
                        writer.write_table(pa.Table.from_batches(pending, schema=schema))
                        pending, pending_rows = [], 0
                if pending:
                    writer.write_table(pa.Table.from_batches(pending, schema=schema))
        data_file = parquet_file_to_data_file(self.io, self.metadata, location)
        written = WrittenFile(data_file, rows, data_file.file_size_in_bytes)
        self.written.append(written)
        return written

    def remove_all(self) -> None:
        """Delete every file written so far: only for a commit known not to have landed."""
        for location in self.locations:
            try:
                self.io.delete(location)
            except Exception:  # an orphan is harmless; maintenance sweeps it later
                log.warning("could not remove uncommitted data file %s", location)
        self.written.clear()


def _chain(first: pa.RecordBatch, rest: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    yield first
    yield from rest


def parquet_batches(path: Path, batch_rows: int = WRITE_BATCH_ROWS) -> Iterator[pa.RecordBatch]:
    """A local parquet file's rows, streamed."""
    # pre_buffer=False: with pre-buffering pyarrow keeps every row group it read in memory
    yield from pq.ParquetFile(path, pre_buffer=False).iter_batches(batch_size=batch_rows)


def read_data_files(
    metadata: TableMetadata, io: FileIO, tasks: Sequence[FileScanTask], columns: Sequence[str]
) -> pa.Table:
    """Rows of the given data files in the table's current schema, projected on `columns`,
    whatever the files hold (field ids, name mapping, columns added later read as null)."""
    schema = metadata.schema()
    projected = schema.select(*columns) if columns else schema
    return ArrowScan(metadata, io, projected, AlwaysTrue()).to_table(tasks)
