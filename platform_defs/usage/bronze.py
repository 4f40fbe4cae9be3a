"""The two bronze usage tables, fed from the committed pushes one day at a time.

``bronze.output_port_query_stats_daily`` and ``bronze.tech_asset_stats_daily`` hold the ops
store's tables of the same names (docs/usage-api.md), Iceberg-partitioned by ``day(date)``.
A day is written by :func:`commit_day`: the day's current rows, all ports, replace that
day's partition through the shared commit (``plugins.iceberg``, mode ``replace_where`` on
``date``), so only that day's data files are removed and added.

The load id is the day's *version*: the sequence numbers of the pushes whose rows the day
holds, over both tables (:func:`read_day`). A push covering a day always leaves at least one
row of its own in one of the two tables for that day (its dates are the dates of its rows),
and a later push of the same (port, day) replaces the earlier one's rows in both tables, so
the version moves forward with every push that touches the day and never repeats: the same
state commits once (a re-run finds its load id and commits nothing), a new push always
commits. docs/usage-ingestion.md has the design.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError, TableAlreadyExistsError
from pyiceberg.expressions import EqualTo
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table import Table
from pyiceberg.transforms import DayTransform
from pyiceberg.types import DateType, LongType, NestedField, StringType
from sqlalchemy import select, text, union
from sqlalchemy.orm import Session

from platform_defs.ops.usage import OutputPortQueryStatsDaily, TechAssetStatsDaily, UsagePush
from plugins.iceberg import CommitOutcome, Load, TableCommitter

NAMESPACE = "bronze"
WRITER = "usage_pushes"
"""The writer named in every snapshot the usage ingestion commits (``floe.pipeline``)."""
PARTITION_FIELD = "date_day"
DATE_PROPERTY = "floe.usage.date"
VERSION_PROPERTY = "floe.usage.max_sequence"
PUSHES_PROPERTY = "floe.usage.pushes"

UsageModel = type[OutputPortQueryStatsDaily] | type[TechAssetStatsDaily]


@dataclass(frozen=True)
class UsageTable:
    """One of the two usage tables: its ops model and its bronze table."""

    name: str
    model: UsageModel
    keys: tuple[str, ...]
    """Columns after ``date`` in the table's primary key, in order."""
    description: str

    @property
    def identifier(self) -> str:
        return f"{NAMESPACE}.{self.name}"

    @property
    def columns(self) -> tuple[str, ...]:
        return ("date", *self.keys, "query_count", "push_id")

    def arrow_schema(self) -> pa.Schema:
        return pa.schema(
            [
                pa.field("date", pa.date32()),
                *(pa.field(key, pa.string()) for key in self.keys),
                pa.field("query_count", pa.int64()),
                pa.field("push_id", pa.string()),
            ]
        )

    def iceberg_schema(self) -> Schema:
        # All optional, as the shared commit writes them (its files' fields are nullable);
        # the dbt source tests check the keys are not null.
        fields = [NestedField(1, "date", DateType(), required=False, doc="UTC day")]
        for index, key in enumerate(self.keys, start=2):
            fields.append(NestedField(index, key, StringType(), required=False))
        count_id = len(self.keys) + 2
        fields.append(NestedField(count_id, "query_count", LongType(), required=False))
        fields.append(
            NestedField(
                count_id + 1,
                "push_id",
                StringType(),
                required=False,
                doc="the push that wrote the row (ops.usage_pushes)",
            )
        )
        return Schema(*fields)


QUERY_STATS = UsageTable(
    name="output_port_query_stats_daily",
    model=OutputPortQueryStatsDaily,
    keys=("output_port_id", "consumer_id"),
    description="Daily unique queries per output port and consumer, as producers pushed them.",
)
ASSET_STATS = UsageTable(
    name="tech_asset_stats_daily",
    model=TechAssetStatsDaily,
    keys=("output_port_id", "tech_asset_id", "consumer_id"),
    description="Daily query touches per output port, tech asset and consumer, as pushed.",
)
TABLES: tuple[UsageTable, ...] = (QUERY_STATS, ASSET_STATS)


def day_partition_spec(schema: Schema) -> PartitionSpec:
    date_field = schema.find_field("date")
    return PartitionSpec(
        PartitionField(
            source_id=date_field.field_id,
            field_id=1000,
            transform=DayTransform(),
            name=PARTITION_FIELD,
        )
    )


def _is_day_partitioned(table: Table) -> bool:
    date_id = table.schema().find_field("date").field_id
    return any(
        f.source_id == date_id and isinstance(f.transform, DayTransform)
        for f in table.spec().fields
    )


def ensure_table(catalog: Catalog, table: UsageTable) -> Table:
    """The bronze table, created empty and partitioned by ``day(date)`` if missing.

    A table left by an earlier floe (the sample-CSV pipelines wrote it unpartitioned) gets
    the partition field added: new days are written partitioned, and replacing a day
    rewrites the old files that hold rows of it."""
    try:
        existing = catalog.load_table(table.identifier)
    except NoSuchTableError:
        try:
            catalog.create_namespace_if_not_exists(NAMESPACE)
        except Exception:
            if not catalog.namespace_exists(NAMESPACE):  # lost a race to create it: fine
                raise
        schema = table.iceberg_schema()
        try:
            return catalog.create_table(
                table.identifier, schema=schema, partition_spec=day_partition_spec(schema)
            )
        except TableAlreadyExistsError:  # a concurrent first run created it
            existing = catalog.load_table(table.identifier)
    if not _is_day_partitioned(existing):
        date_type = existing.schema().find_field("date").field_type
        if not isinstance(date_type, DateType):
            raise ValueError(
                f"{table.identifier}.date is {date_type}, not a date: the table was written by "
                "an earlier floe (or by hand); drop it (make clean) so the pushed days rebuild it"
            )
        with existing.update_spec() as spec:
            spec.add_field("date", DayTransform(), PARTITION_FIELD)
        existing = catalog.load_table(table.identifier)
    return existing


@dataclass(frozen=True)
class DayState:
    """One day of one usage table as the ops store holds it, all ports."""

    table: UsageTable
    day: date
    pushes: tuple[tuple[int, uuid.UUID], ...]
    """(sequence, push id) of the pushes whose rows the day holds in either table, by
    sequence: the day's version."""
    rows: pa.Table

    @property
    def max_sequence(self) -> int:
        return self.pushes[-1][0] if self.pushes else 0

    @property
    def load_id(self) -> str:
        """Stable for one version of the day, new for every later one (module docstring)."""
        sequences = ",".join(str(sequence) for sequence, _ in self.pushes)
        digest = hashlib.sha256(sequences.encode()).hexdigest()[:24]
        return f"usage:{self.day.isoformat()}:{self.max_sequence}:{digest}"


def read_day(session: Session, table: UsageTable, day: date) -> DayState:
    """The day's rows of ``table`` and the day's version, read in one snapshot.

    On PostgreSQL the transaction is made REPEATABLE READ (it must be ``session``'s first
    statement): a push committing between the two reads would otherwise pair one version's
    id with another's rows. SQLite transactions see one snapshot anyway."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
    present = union(
        select(OutputPortQueryStatsDaily.push_id).where(OutputPortQueryStatsDaily.date == day),
        select(TechAssetStatsDaily.push_id).where(TechAssetStatsDaily.date == day),
    ).subquery()
    pushes = session.execute(
        select(UsagePush.sequence, UsagePush.push_id)
        .where(UsagePush.push_id.in_(select(present.c.push_id)))
        .order_by(UsagePush.sequence)
    ).all()
    model = table.model
    columns = [getattr(model, name) for name in table.columns]
    rows = session.execute(
        select(*columns)
        .where(model.date == day)
        .order_by(*(getattr(model, key) for key in table.keys))
    ).all()
    data = {name: [row[index] for row in rows] for index, name in enumerate(table.columns)}
    for name in (*table.keys, "push_id"):  # UUIDs as their text form
        data[name] = [str(value) for value in data[name]]
    return DayState(
        table=table,
        day=day,
        pushes=tuple((int(sequence), push_id) for sequence, push_id in pushes),
        rows=pa.Table.from_pydict(data, schema=table.arrow_schema()),
    )


def day_filter(day: date) -> EqualTo:
    # pyiceberg 0.12's pydantic model hides EqualTo(term, literal) from mypy
    return EqualTo("date", day.isoformat())  # type: ignore[call-arg, misc, arg-type]


def commit_day(catalog: Catalog, state: DayState, work_dir: Path) -> CommitOutcome:
    """Replace the day's partition of the bronze table with ``state``'s rows, exactly once.

    A day without rows (every port's latest push of it had none for this table) still
    commits: an empty file makes the shared commit remove the day's files and add none."""
    table = state.table
    ensure_table(catalog, table)
    path = work_dir / f"{table.name}-{state.day.isoformat()}.parquet"
    pq.write_table(state.rows, path)
    committer = TableCommitter(catalog, table.identifier, writer=WRITER)
    return committer.commit(
        Load(
            load_id=state.load_id,
            files=[path],
            mode="replace_where",
            replace_filter=day_filter(state.day),
            properties={
                DATE_PROPERTY: state.day.isoformat(),
                VERSION_PROPERTY: str(state.max_sequence),
                PUSHES_PROPERTY: str(len(state.pushes)),
            },
        )
    )


def bronze_rows(catalog: Catalog, table: UsageTable, days: Sequence[date] = ()) -> pa.Table:
    """The bronze table's rows (of ``days`` only, when given), sorted by its key."""
    iceberg = catalog.load_table(table.identifier)
    data = iceberg.scan().to_arrow().select(list(table.columns))
    if days:
        data = data.filter(pc.is_in(data["date"], pa.array(days, pa.date32())))
    return data.sort_by([("date", "ascending"), *((key, "ascending") for key in table.keys)])
