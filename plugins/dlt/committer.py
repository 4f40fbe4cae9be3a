"""Commit one normalized dlt load package to an Iceberg table in ONE transaction.

Why not dlt's own Iceberg path: it reads all of a table's load files into one Arrow table and
pyiceberg rewrites them, so memory grows with the load and data is written twice. Here dlt's
parquet files (already rotated at ``file_max_items`` rows) are registered as they are with
``add_files`` — zero rewrite, constant memory — together with the schema evolution (and, for
``replace``, the delete) in a single atomic commit tagged with the dlt load id. Only ``merge``
reads the increment into memory, because pyiceberg's upsert needs it as one Arrow table.

Exactly once: a snapshot whose summary carries ``floe.load_id == <load id>`` means the package
is already in the table (we crashed after the commit, before the cleanup), so it is skipped.
Commit conflicts are retried by reloading the table and re-applying the same metadata change;
the data files are placed once and never rewritten.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import stamina
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import CommitFailedException, NoSuchTableError, TableAlreadyExistsError
from pyiceberg.expressions import AlwaysTrue
from pyiceberg.io import FileIO, load_file_io
from pyiceberg.table import Table, Transaction

from plugins.base import PermanentIngestionError, WriteDisposition

log = logging.getLogger(__name__)

LOAD_ID_PROPERTY = "floe.load_id"
PIPELINE_PROPERTY = "floe.pipeline"
STATE_PROPERTY = "floe.dlt_state"
"""dlt's pipeline state after the committed package, as dlt encodes it (see ``state.py``)."""


@dataclass
class CommitOutcome:
    """What committing one package did to the table."""

    load_id: str
    rows: int = 0
    snapshot_id: int | None = None
    table_created: bool = False
    already_committed: bool = False
    files: list[str] = field(default_factory=list)
    rows_updated: int | None = None
    rows_inserted: int | None = None
    rows_in_files: int = 0


def _iceberg_ready_type(data_type: pa.DataType) -> pa.DataType | None:
    """The type Iceberg can hold for `data_type`, or None when it already fits as it is."""
    if pa.types.is_unsigned_integer(data_type):
        return pa.int32() if data_type.bit_width < 32 else pa.int64()
    if pa.types.is_timestamp(data_type) and data_type.unit == "ns":
        return pa.timestamp("us", tz=data_type.tz)
    if pa.types.is_timestamp(data_type) and data_type.unit in ("s", "ms"):
        return pa.timestamp("us", tz=data_type.tz)
    if pa.types.is_float16(data_type):
        return pa.float32()
    if pa.types.is_date64(data_type):
        return pa.date32()
    if pa.types.is_time32(data_type):
        return pa.time64("us")
    if pa.types.is_null(data_type):
        return pa.string()
    return None


def _needs_cast(schema: pa.Schema) -> bool:
    return any(_iceberg_ready_type(f.type) is not None for f in schema)


def _cast_schema(schema: pa.Schema) -> pa.Schema:
    return pa.schema(
        [
            f.with_type(_iceberg_ready_type(f.type) or f.type)
            for f in schema  # keep nullability: the file's own schema
        ]
    )


def table_schema_for(schemas: Sequence[pa.Schema]) -> pa.Schema:
    """The Arrow schema to create/evolve the table with: all columns optional (a later load may
    lack a column; Iceberg refuses to add required ones), dictionary-encoded as plain."""
    unified = pa.unify_schemas(list(schemas), promote_options="permissive")
    fields = []
    for f in unified:
        data_type = f.type.value_type if pa.types.is_dictionary(f.type) else f.type
        data_type = _iceberg_ready_type(data_type) or data_type
        fields.append(pa.field(f.name, data_type, nullable=True))
    return pa.schema(fields)


def _local_path(location: str) -> Path | None:
    parsed = urlparse(location)
    if parsed.scheme in ("", "file"):
        return Path(unquote(parsed.path))
    return None


class IcebergCommitter:
    """Commits dlt load packages for one floe pipeline into one Iceberg table."""

    def __init__(
        self,
        catalog: Catalog,
        identifier: str,
        *,
        write_disposition: WriteDisposition,
        primary_key: Sequence[str],
        pipeline_name: str,
        staging_dir: Path,
        commit_attempts: int = 5,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.catalog = catalog
        self.identifier = identifier
        self.write_disposition = write_disposition
        self.primary_key = list(primary_key)
        self.pipeline_name = pipeline_name
        self.staging_dir = staging_dir
        self.commit_attempts = commit_attempts
        self._progress = progress or (lambda _message: None)

    # -- public -------------------------------------------------------------------------

    def commit(
        self, load_id: str, files: Sequence[Path], *, state: str | None = None
    ) -> CommitOutcome:
        """Commit `files` (one package's parquet for this table) exactly once.

        The table itself is created in the same transaction as the first data, so a failed
        first run leaves no empty table behind either. `state` (dlt's encoded pipeline state
        after this package) goes into the same snapshot summary: data and cursor land
        together or not at all."""
        outcome = CommitOutcome(load_id=load_id)
        if not files:
            return outcome
        table = self.load_table()
        done = self.find_committed_snapshot(table, load_id) if table is not None else None
        if done is not None:
            outcome.already_committed, outcome.snapshot_id = True, done
            return outcome

        staging = self.staging_dir / load_id
        try:
            prepared = [self._iceberg_ready_file(path, staging) for path in files]
            arrow_schema = table_schema_for([pq.read_schema(path) for path in prepared])
            outcome.rows = sum(pq.ParquetFile(path).metadata.num_rows for path in prepared)
            outcome.rows_in_files = outcome.rows
            increment = None
            if self.write_disposition == "merge":
                increment = self._merge_increment(prepared, arrow_schema)
                outcome.rows = increment.num_rows
            self._commit_with_retries(
                load_id, prepared, arrow_schema, increment, outcome, state=state
            )
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        if outcome.table_created:
            self._progress(f"created table {self.identifier}")
        return outcome

    @staticmethod
    def find_committed_snapshot(table: Table, load_id: str) -> int | None:
        """The snapshot that committed `load_id`, if one did (cheap: table metadata only)."""
        for snapshot in table.snapshots():
            summary = snapshot.summary
            if summary is not None and summary.get(LOAD_ID_PROPERTY) == load_id:
                return snapshot.snapshot_id
        return None

    # -- table ---------------------------------------------------------------------------

    def load_table(self) -> Table | None:
        try:
            return self.catalog.load_table(self.identifier)
        except NoSuchTableError:
            return None

    def _begin(self, table: Table | None, arrow_schema: pa.Schema) -> Transaction:
        """A transaction on the table, or one that creates it (location from the warehouse)."""
        if table is not None:
            return table.transaction()
        namespace = self.identifier.rsplit(".", 1)[0]
        self.catalog.create_namespace_if_not_exists(namespace)
        return self.catalog.create_table_transaction(self.identifier, schema=arrow_schema)

    # -- files ---------------------------------------------------------------------------

    def _iceberg_ready_file(self, path: Path, staging: Path) -> Path:
        """`path` itself, or a copy with types Iceberg lacks cast (e.g. unsigned ints).

        dlt already writes microsecond UTC timestamps, so this is the rare path; it streams
        record batches so memory stays bounded."""
        parquet = pq.ParquetFile(path)
        schema = parquet.schema_arrow
        if not _needs_cast(schema):
            return path
        target_schema = _cast_schema(schema)
        staging.mkdir(parents=True, exist_ok=True)
        target = staging / path.name
        with pq.ParquetWriter(target, target_schema) as writer:
            for batch in parquet.iter_batches():
                writer.write_batch(batch.cast(target_schema))
        return target

    def _place_files(
        self, io: FileIO, location: str, load_id: str, files: Sequence[Path]
    ) -> list[str]:
        """Put the package's files under the table's data dir, named after the load id.

        Local warehouse: a hard link (instant; dlt's package keeps its own link until the
        commit is done, so a failed commit can be re-tried from it). Remote: a streamed copy
        through the table's FileIO."""
        data_location = f"{location.rstrip('/')}/data"
        placed: list[str] = []
        local_dir = _local_path(data_location)
        for index, source in enumerate(files):
            name = f"floe-{load_id}-{index:05d}-{source.name}"
            uri = f"{data_location}/{name}"
            if local_dir is not None:
                local_dir.mkdir(parents=True, exist_ok=True)
                target = local_dir / name
                target.unlink(missing_ok=True)  # left over by an earlier crashed attempt
                try:
                    os.link(source, target)
                except OSError:
                    shutil.copyfile(source, target)
            else:
                output = io.new_output(uri)
                with open(source, "rb") as src, output.create(overwrite=True) as dst:
                    shutil.copyfileobj(src, dst, length=8 * 1024 * 1024)
            placed.append(uri)
        return placed

    @staticmethod
    def _remove_files(io: FileIO, uris: Sequence[str]) -> None:
        for uri in uris:
            try:
                io.delete(uri)
            except Exception:  # best effort: an orphan file is harmless, the commit is not
                log.warning("could not remove uncommitted file %s", uri)

    # -- commits -------------------------------------------------------------------------

    def _properties(self, load_id: str, state: str | None) -> dict[str, str]:
        properties = {LOAD_ID_PROPERTY: load_id, PIPELINE_PROPERTY: self.pipeline_name}
        if state:
            properties[STATE_PROPERTY] = state
        return properties

    def _evolve_schema(self, txn: Transaction, arrow_schema: pa.Schema) -> None:
        try:
            with txn.update_schema() as update:
                update.union_by_name(arrow_schema)
        except (ValueError, TypeError) as exc:
            raise PermanentIngestionError(
                "SCHEMA_MISMATCH",
                f"load does not fit table {self.identifier}: {exc}",
                source=self.pipeline_name,
                details={"exception_type": type(exc).__name__},
            ) from exc

    def _commit_with_retries(
        self,
        load_id: str,
        files: Sequence[Path],
        arrow_schema: pa.Schema,
        increment: pa.Table | None,
        outcome: CommitOutcome,
        *,
        state: str | None = None,
    ) -> None:
        """One atomic commit; on a conflict reload the table and re-apply the same change.

        Files are placed once per table location and removed again if no commit lands."""
        io: FileIO | None = None
        placed: list[str] = []
        placed_at: str | None = None
        try:
            for attempt in stamina.retry_context(
                on=(CommitFailedException, TableAlreadyExistsError),
                attempts=self.commit_attempts,
                wait_initial=0.05,
                wait_max=2.0,
                timeout=300.0,
            ):
                with attempt:
                    table = self.load_table()
                    done = self.find_committed_snapshot(table, load_id) if table else None
                    if done is not None:  # an earlier attempt's commit did land after all
                        outcome.snapshot_id = done
                        return
                    txn = self._begin(table, arrow_schema)
                    properties = self._properties(load_id, state)
                    register_files = increment is None or (
                        (table is None or table.current_snapshot() is None)
                        and increment.num_rows == outcome.rows_in_files
                    )
                    if register_files:
                        location = txn.table_metadata.location
                        if placed_at != location:
                            if io is not None:
                                self._remove_files(io, placed)
                            io = table.io if table is not None else self._file_io(txn)
                            placed, placed_at = (
                                self._place_files(io, location, load_id, files),
                                location,
                            )
                    self._evolve_schema(txn, arrow_schema)
                    if increment is not None and not register_files:
                        result = txn.upsert(
                            increment, join_cols=self.primary_key, snapshot_properties=properties
                        )
                        outcome.rows_updated = result.rows_updated
                        outcome.rows_inserted = result.rows_inserted
                    else:
                        if self.write_disposition == "replace" and table is not None:
                            txn.delete(AlwaysTrue(), snapshot_properties=properties)
                        # no duplicate-file scan: file names carry the load id, checked above
                        txn.add_files(
                            placed, snapshot_properties=properties, check_duplicate_files=False
                        )
                        if increment is not None:  # a merge into an empty table
                            outcome.rows_updated, outcome.rows_inserted = 0, increment.num_rows
                    committed = txn.commit_transaction()
                    outcome.table_created = table is None
        except BaseException:
            if io is not None:
                self._remove_files(io, placed)
            raise
        outcome.files = placed
        snapshot = committed.current_snapshot()
        outcome.snapshot_id = snapshot.snapshot_id if snapshot else None

    def _file_io(self, txn: Transaction) -> FileIO:
        metadata = txn.table_metadata
        properties = {**self.catalog.properties, **metadata.properties}
        return load_file_io(properties, metadata.location)

    def _merge_increment(self, files: Sequence[Path], arrow_schema: pa.Schema) -> pa.Table:
        """The package's rows, last row per primary key. Held in memory: pyiceberg's upsert
        needs one Arrow table."""
        if not self.primary_key:
            raise PermanentIngestionError(
                "PRIMARY_KEY_MISSING",
                f"merge into {self.identifier} needs a primary_key",
                source=self.pipeline_name,
            )
        increment = _read_increment(files, arrow_schema)
        missing = [key for key in self.primary_key if key not in increment.column_names]
        if missing:
            raise PermanentIngestionError(
                "PRIMARY_KEY_MISSING",
                f"primary key column(s) {missing} not in the data of {self.identifier} "
                f"(columns: {increment.column_names})",
                source=self.pipeline_name,
            )
        return _last_row_wins(increment, self.primary_key)


def _read_increment(files: Sequence[Path], arrow_schema: pa.Schema) -> pa.Table:
    """All rows of the package as one table in the table schema's column types."""
    tables = []
    for path in files:
        part = pq.read_table(path)
        columns = []
        for f in arrow_schema:
            if f.name in part.column_names:
                columns.append(part.column(f.name).cast(f.type))
            else:  # an earlier file of the package predates a new column
                columns.append(pa.nulls(part.num_rows, f.type))
        tables.append(pa.Table.from_arrays(columns, schema=arrow_schema))
    return pa.concat_tables(tables)


def _last_row_wins(increment: pa.Table, keys: Sequence[str]) -> pa.Table:
    """Drop all but the last row of each primary key (the order dlt extracted them)."""
    if increment.num_rows == 0:
        return increment
    indexed = increment.append_column("__floe_row", pa.array(range(increment.num_rows), pa.int64()))
    last = indexed.group_by(list(keys), use_threads=False).aggregate([("__floe_row", "max")])
    if last.num_rows == increment.num_rows:
        return increment
    keep = pc.sort_indices(last.column("__floe_row_max"))
    return increment.take(pc.take(last.column("__floe_row_max"), keep))
