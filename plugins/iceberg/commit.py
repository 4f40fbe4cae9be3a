"""The one Iceberg write path: commit a load (local parquet files) to a table exactly once.

Every writer — the dlt plugin, the landing-zone sensor, the usage push, a snapshot registered
through the lineage API — commits through :class:`TableCommitter`. One load is one
transaction and at most one snapshot:

* ``append``: the load's rows are added.
* ``replace``: the load's rows replace the whole table.
* ``replace_where``: the load's rows replace the rows matching ``Load.replace_filter``
  (a partition, the rows one landing file contributed before).
* ``merge``: changed-rows-only upsert on ``Load.primary_key`` (see ``merge.py``): unchanged
  rows are not rewritten and a load with nothing new commits nothing.

Schema evolution (new columns, safe promotions) is part of the same transaction; data files
are written with the table's field ids through its location provider and FileIO.

Exactly once: the snapshot summary carries ``floe.load_id``. Each commit *attempt* reloads the
table and stops if that load id is already there, and pyiceberg's own commit retry (which
rebases an append onto a concurrent commit *without* that check) is switched off for our
commits, so no retry — ours, pyiceberg's, Dagster's, an operator's — can commit a load twice.

Never lose a file: data files written for an attempt are deleted only when the commit is known
not to have landed (the catalog refused it, or the table reloaded without the load id). When
the outcome is unknown (the catalog cannot be reached after an error) they are kept: an
orphan file is swept by table maintenance, a missing file breaks the table.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import stamina
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import (
    CommitFailedException,
    CommitStateUnknownException,
    NoSuchTableError,
    TableAlreadyExistsError,
    ValidationException,
)
from pyiceberg.expressions import BooleanExpression
from pyiceberg.expressions.visitors import bind
from pyiceberg.io import FileIO
from pyiceberg.io.pyarrow import expression_to_pyarrow
from pyiceberg.table import Table, TableProperties, Transaction

from plugins.base import PermanentIngestionError
from plugins.iceberg.files import DataFileWriter, parquet_batches, read_data_files
from plugins.iceberg.merge import (
    describe,
    evaluate_predicate,
    last_row_wins,
    plan_merge,
    remaining_rows,
)
from plugins.iceberg.schema import evolve_schema, iceberg_ready_schema, with_field_ids

log = logging.getLogger(__name__)

WriteMode = Literal["append", "replace", "replace_where", "merge"]

LOAD_ID_PROPERTY = "floe.load_id"
WRITER_PROPERTY = "floe.pipeline"
"""The floe pipeline (or other writer) that committed the snapshot."""

RETRYABLE_COMMIT_ERRORS: tuple[type[Exception], ...] = (
    CommitFailedException,  # a concurrent commit moved the table: reload and re-apply
    ValidationException,  # a concurrent delete/overwrite conflicts with ours: same
    TableAlreadyExistsError,  # a concurrent first load created the table
    CommitStateUnknownException,  # only retried after the reload showed it did not land
)


@dataclass(frozen=True)
class Load:
    """One unit of work for a table: a set of local parquet files and how they apply."""

    load_id: str
    """Unique per load and stable across retries: the idempotency key."""
    files: Sequence[Path]
    mode: WriteMode
    primary_key: Sequence[str] = ()
    """Merge key (merge only)."""
    ignore_in_comparison: Sequence[str] = ()
    """Columns that change on every load (dlt's ``_dlt_load_id``): a merge does not count a
    row as changed when only these differ."""
    replace_filter: BooleanExpression | None = None
    """The rows the load replaces: for ``replace_where`` all of them; for ``merge`` those whose
    key the load does not have (a landing file's earlier rows), others merge by key."""
    properties: Mapping[str, str] = field(default_factory=dict)
    """Extra snapshot summary properties (state, source files and checksums)."""
    constant_columns: Mapping[str, str] = field(default_factory=dict)
    """String columns set to the same value on every row of the load (its load id, the
    landing file it came from), added while the files are written."""
    schema: pa.Schema | None = None
    """For a load without files: the columns the writer knows (declared, a file's header).
    A first such load creates the table with them and no snapshot, so readers find an empty
    table instead of none; once the table exists it is a no-op."""


@dataclass
class CommitOutcome:
    """What committing one load did to the table."""

    load_id: str
    rows: int = 0
    """Rows the load added or replaced (for merge: inserted + updated)."""
    rows_in_load: int = 0
    snapshot_id: int | None = None
    table_created: bool = False
    already_committed: bool = False
    noop: bool = False
    """Nothing to commit (a merge of unchanged rows, an empty load)."""
    files: list[str] = field(default_factory=list)
    """Data files the commit added (new rows and rewritten remainders)."""
    bytes_written: int = 0
    files_removed: int = 0
    rows_inserted: int | None = None
    rows_updated: int | None = None
    rows_unchanged: int | None = None
    rows_deleted: int | None = None
    """Merge with a replace filter: rows of the replaced slice the load no longer has."""
    attempts: int = 0

    def as_details(self) -> dict[str, Any]:
        details: dict[str, Any] = {
            "load_id": self.load_id,
            "rows": self.rows,
            "rows_in_load": self.rows_in_load,
            "snapshot_id": self.snapshot_id,
            "files_written": len(self.files),
            "bytes_written": self.bytes_written,
            "files_removed": self.files_removed,
            "attempts": self.attempts,
        }
        if self.already_committed:
            details["already_committed"] = True
        if self.noop:
            details["noop"] = True
        if self.rows_updated is not None:
            details["rows_inserted"] = self.rows_inserted
            details["rows_updated"] = self.rows_updated
            details["rows_unchanged"] = self.rows_unchanged
        if self.rows_deleted:
            details["rows_deleted"] = self.rows_deleted
        return details


def find_committed_snapshot(table: Table, load_id: str) -> int | None:
    """The snapshot that committed `load_id`, if one did (table metadata only)."""
    for snapshot in table.snapshots():
        summary = snapshot.summary
        if summary is not None and summary.get(LOAD_ID_PROPERTY) == load_id:
            return snapshot.snapshot_id
    return None


def _without_pyiceberg_retries(table: Table) -> Table:
    """`table` whose in-memory properties switch off pyiceberg's commit retry.

    pyiceberg retries a conflicting commit by rebasing the snapshot onto the new head, after
    our load-id check ran: two processes committing the same load both land. Our retry
    reloads and checks first. In memory only: the catalog applies our updates to the table
    it loads itself, so other writers keep their retry settings."""
    properties = {**table.metadata.properties, TableProperties.COMMIT_NUM_RETRIES: "0"}
    table.metadata = table.metadata.model_copy(update={"properties": properties})
    return table


class TableCommitter:
    """Commits loads to one Iceberg table of the platform catalog."""

    def __init__(
        self,
        catalog: Catalog,
        identifier: str,
        *,
        writer: str,
        attempts: int = 5,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.catalog = catalog
        self.identifier = identifier
        self.writer = writer
        self.attempts = attempts
        self._progress = progress or (lambda _message: None)

    def load_table(self) -> Table | None:
        try:
            return self.catalog.load_table(self.identifier)
        except NoSuchTableError:
            return None

    # -- public -------------------------------------------------------------------------

    def commit(self, load: Load) -> CommitOutcome:
        """Commit `load` exactly once; see the module docstring for the guarantees."""
        outcome = CommitOutcome(load_id=load.load_id)
        files = [Path(p) for p in load.files]
        if not files:
            if load.schema is not None and len(load.schema):
                self._create_empty(load.schema, outcome)
            outcome.noop = not outcome.table_created
            return outcome
        metadata = [pq.read_metadata(path) for path in files]
        load_schema = iceberg_ready_schema(m.schema.to_arrow_schema() for m in metadata)
        for name in load.constant_columns:
            field_ = pa.field(name, pa.string(), nullable=True)
            index = load_schema.get_field_index(name)
            load_schema = (
                load_schema.set(index, field_) if index >= 0 else load_schema.append(field_)
            )
        outcome.rows_in_load = sum(m.num_rows for m in metadata)
        increment = self._increment(load, files, load_schema) if load.mode == "merge" else None

        for attempt in stamina.retry_context(
            on=RETRYABLE_COMMIT_ERRORS,
            attempts=self.attempts,
            wait_initial=0.05,
            wait_max=2.0,
            timeout=300.0,
        ):
            with attempt:
                outcome.attempts = attempt.num
                self._attempt(load, files, load_schema, increment, outcome)
        return outcome

    def _ensure_namespace(self) -> None:
        namespace = self.identifier.rsplit(".", 1)[0]
        try:
            self.catalog.create_namespace_if_not_exists(namespace)
        except Exception:
            # pyiceberg's SQL catalog checks, then inserts: a concurrent first load into
            # the same new namespace loses that race with an IntegrityError
            if not self.catalog.namespace_exists(namespace):
                raise

    def _create_empty(self, schema: pa.Schema, outcome: CommitOutcome) -> None:
        """Create the table with `schema` and no snapshot, unless it exists (a first load
        without rows). Idempotent by the table's existence: there is no snapshot to carry
        the load id, and no data file to lose."""
        ready = iceberg_ready_schema([schema])
        for attempt in stamina.retry_context(
            on=RETRYABLE_COMMIT_ERRORS,
            attempts=self.attempts,
            wait_initial=0.05,
            wait_max=2.0,
            timeout=300.0,
        ):
            with attempt:
                outcome.attempts = attempt.num
                if self.load_table() is not None:
                    return  # created by an earlier load, attempt or a concurrent writer
                self._ensure_namespace()
                self.catalog.create_table_transaction(
                    self.identifier, schema=ready
                ).commit_transaction()
                outcome.table_created = True
                self._progress(f"created table {self.identifier} (no rows yet)")

    # -- one attempt --------------------------------------------------------------------

    def _attempt(
        self,
        load: Load,
        files: Sequence[Path],
        load_schema: pa.Schema,
        increment: pa.Table | None,
        outcome: CommitOutcome,
    ) -> None:
        table = self.load_table()
        if table is not None:
            done = find_committed_snapshot(table, load.load_id)
            if done is not None:  # an earlier run, attempt or process committed this load
                outcome.already_committed, outcome.snapshot_id = True, done
                return
            txn = _without_pyiceberg_retries(table).transaction()
        else:
            self._ensure_namespace()
            txn = self.catalog.create_table_transaction(self.identifier, schema=load_schema)
        evolve_schema(txn, load_schema, identifier=self.identifier, writer=self.writer)
        # the staged table's FileIO: for a new table on a REST catalog it carries the
        # credentials the catalog vended with the create response (no public accessor)
        io: FileIO = txn._table.io
        # unique per attempt and process: a writer only ever deletes files it wrote itself
        prefix = f"floe-{load.load_id}-{uuid.uuid4().hex[:12]}"
        writer = DataFileWriter(io, txn.table_metadata, prefix)
        reached_catalog = False
        try:
            has_data = table is not None and table.current_snapshot() is not None
            if not self._stage(
                txn,
                table if has_data else None,
                load,
                files,
                load_schema,
                increment,
                writer,
                outcome,
            ):
                outcome.noop = True
                return
            reached_catalog = True
            committed = txn.commit_transaction()
        except (CommitFailedException, ValidationException, TableAlreadyExistsError):
            writer.remove_all()  # the catalog refused the commit: it did not land
            raise
        except CommitStateUnknownException:
            if self._landed(load.load_id, outcome) is False:
                writer.remove_all()
                raise  # retried: known not to have landed
            if outcome.snapshot_id is not None:
                self._finish(outcome, writer, table_created=table is None)
                return
            raise  # unknown: keep the files
        except BaseException:
            # an interrupt, a crash of ours: delete only what the catalog never saw, or what
            # a reload proves it did not take
            if not reached_catalog or self._landed(load.load_id, outcome) is False:
                writer.remove_all()
            raise
        snapshot = committed.current_snapshot()
        outcome.snapshot_id = snapshot.snapshot_id if snapshot else None
        self._finish(outcome, writer, table_created=table is None)

    def _finish(
        self, outcome: CommitOutcome, writer: DataFileWriter, *, table_created: bool
    ) -> None:
        outcome.files = writer.locations
        outcome.bytes_written = sum(w.bytes for w in writer.written)
        outcome.table_created = table_created
        if table_created:
            self._progress(f"created table {self.identifier}")

    def _landed(self, load_id: str, outcome: CommitOutcome) -> bool | None:
        """Reload the table: did the load land? None when that cannot be known now."""
        try:
            table = self.load_table()
        except Exception:  # the catalog is unreachable: the outcome is unknown
            log.warning("cannot tell whether load %s landed: keeping its files", load_id)
            return None
        snapshot_id = find_committed_snapshot(table, load_id) if table is not None else None
        if snapshot_id is None:
            return False
        outcome.snapshot_id = snapshot_id
        return True

    def _properties(self, load: Load) -> dict[str, str]:
        return {**load.properties, LOAD_ID_PROPERTY: load.load_id, WRITER_PROPERTY: self.writer}

    def _stage(
        self,
        txn: Transaction,
        table: Table | None,
        load: Load,
        files: Sequence[Path],
        load_schema: pa.Schema,
        increment: pa.Table | None,
        writer: DataFileWriter,
        outcome: CommitOutcome,
    ) -> bool:
        """Write the data files and stage the snapshot in `txn`. `table` is the table as
        loaded when it has data, else None. False: nothing to commit."""
        file_schema = with_field_ids(load_schema, txn.table_metadata.schema())
        removed: list[Any] = []  # DataFiles the snapshot removes
        if load.mode == "merge" and table is not None:
            assert increment is not None
            plan = plan_merge(
                table,
                increment,
                load.primary_key,
                load.ignore_in_comparison,
                replace_filter=load.replace_filter,
            )
            details = describe(plan)
            outcome.rows_inserted = plan.rows_inserted
            outcome.rows_updated = plan.rows_updated
            outcome.rows_unchanged = plan.rows_unchanged
            outcome.rows_deleted = plan.rows_deleted
            outcome.rows = plan.rows_inserted + plan.rows_updated
            self._progress(
                f"merge into {self.identifier}: {details['rows_inserted']:,} new, "
                f"{details['rows_updated']:,} changed, {details['rows_unchanged']:,} unchanged "
                f"rows; {details['files_rewritten']} of {details['files_read']} files rewritten"
            )
            if plan.is_noop:
                return False
            writer.write(plan.rows_to_write.to_batches(), file_schema)
            for task, positions in plan.rewrites:
                rest = remaining_rows(table, task, positions)
                rest_schema = with_field_ids(
                    iceberg_ready_schema([rest.schema]), txn.table_metadata.schema()
                )
                writer.write(rest.to_batches(), rest_schema)
                removed.append(task.file)
        elif load.mode == "merge":  # the first load of a merge table: nothing to compare
            assert increment is not None
            writer.write(increment.to_batches(), file_schema)
            outcome.rows = outcome.rows_inserted = increment.num_rows
            outcome.rows_updated = outcome.rows_unchanged = 0
        else:
            for path in files:
                writer.write(parquet_batches(path), file_schema, load.constant_columns)
            outcome.rows = outcome.rows_in_load
            if table is not None and load.mode == "replace":
                removed = [task.file for task in table.scan().plan_files()]
            elif table is not None and load.mode == "replace_where":
                removed = self._replace_where(table, txn, load, writer)
        if not writer.written and not removed:
            return False
        properties = self._properties(load)
        if removed:
            with txn.update_snapshot(snapshot_properties=properties).overwrite() as overwrite:
                for data_file in removed:
                    overwrite.delete_data_file(data_file)
                for written in writer.written:
                    overwrite.append_data_file(written.data_file)
        else:
            with txn.update_snapshot(snapshot_properties=properties).fast_append() as append:
                for written in writer.written:
                    append.append_data_file(written.data_file)
        outcome.files_removed = len(removed)
        return True

    def _replace_where(
        self, table: Table, txn: Transaction, load: Load, writer: DataFileWriter
    ) -> list[Any]:
        """Stage the removal of the rows matching the load's filter: files wholly inside it
        are dropped, files partly inside it are rewritten without those rows."""
        if load.replace_filter is None:
            raise PermanentIngestionError(
                "INVALID_LOAD",
                f"replace_where into {self.identifier} needs a replace_filter",
                source=self.writer,
            )
        metadata = txn.table_metadata
        predicate = expression_to_pyarrow(bind(table.schema(), load.replace_filter, True))
        removed = []
        for task in table.scan(row_filter=load.replace_filter).plan_files():
            rows = read_data_files(metadata, table.io, [task], [])
            matches = pc.fill_null(evaluate_predicate(rows, predicate), False)
            if not pc.any(matches).as_py():
                continue
            rest = rows.filter(pc.invert(matches))
            if rest.num_rows:
                rest_schema = with_field_ids(iceberg_ready_schema([rest.schema]), metadata.schema())
                writer.write(rest.to_batches(), rest_schema)
            removed.append(task.file)
        return removed

    # -- merge input --------------------------------------------------------------------

    def _increment(self, load: Load, files: Sequence[Path], load_schema: pa.Schema) -> pa.Table:
        """The load's rows, last row per primary key. Held in memory: the comparison needs
        the load's keys at hand (the table is read one data file at a time)."""
        if not load.primary_key:
            raise PermanentIngestionError(
                "PRIMARY_KEY_MISSING",
                f"merge into {self.identifier} needs a primary_key",
                source=self.writer,
            )
        missing = [key for key in load.primary_key if key not in load_schema.names]
        if missing:
            raise PermanentIngestionError(
                "PRIMARY_KEY_MISSING",
                f"primary key column(s) {missing} not in the data of {self.identifier} "
                f"(columns: {load_schema.names})",
                source=self.writer,
            )
        parts = []
        for path in files:
            part = pq.read_table(path)
            columns = [
                pa.repeat(load.constant_columns[f.name], part.num_rows).cast(f.type)
                if f.name in load.constant_columns
                else part.column(f.name).cast(f.type)
                if f.name in part.column_names
                else pa.nulls(part.num_rows, f.type)  # an earlier file predates a new column
                for f in load_schema
            ]
            parts.append(pa.Table.from_arrays(columns, schema=load_schema))
        return last_row_wins(pa.concat_tables(parts), load.primary_key)
