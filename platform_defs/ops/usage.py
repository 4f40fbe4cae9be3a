"""Usage stats in the ops store: the two daily tables, the push log, producers and API keys.

Tables (docs/usage-api.md):

* ``output_port_query_stats_daily`` (date, output_port_id, consumer_id, query_count) and
  ``tech_asset_stats_daily`` (date, output_port_id, tech_asset_id, consumer_id,
  query_count), each row stamped with the ``push_id`` that wrote it;
* ``usage_pushes``: the push log, one row per committed push, with its increasing
  ``sequence`` (the ingestion sensor's cursor), the dates it covered and its
  ``Idempotency-Key``;
* ``usage_producers``, ``usage_api_keys`` and ``usage_api_key_ports`` (the ports a key may
  push to and read).

Ids are UUIDs: ``uuid`` on PostgreSQL, 36-character text on SQLite (:class:`UUIDText`).

:func:`record_push` writes a push: in the caller's ONE transaction it replaces, for every
date the push covers, the port's rows of that date in both tables and appends the push-log
row. Concurrency, across processes: on PostgreSQL a transaction-scoped advisory lock per
(port, date) makes concurrent pushes of the same slice run one after the other, so the last
committer's rows replace the first's whole, never a mix; another lock around the push-log
insert hands out ``sequence`` in commit order, so a sensor that has read up to N never
misses a push committed later with a smaller number. The Idempotency-Key is taken with
``pg_try_advisory_xact_lock``: a request finding it held answers "in progress" at once.
SQLite serialises writers itself (the store's sessions begin with ``BEGIN IMMEDIATE``), so
there the same key waits, then finds the first push committed. The unique constraint on
(output_port_id, idempotency_key) backs both. A crash mid-push rolls back everything, the
key included: the retry starts afresh.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    Dialect,
    ForeignKeyConstraint,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    TypeDecorator,
    UniqueConstraint,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.types import TypeEngine

from platform_defs.ops.models import OPS_SCHEMA, OpsBase, _status, utc_now


class UUIDText(TypeDecorator[uuid.UUID]):
    """A UUID: native ``uuid`` on PostgreSQL, the 36-character text form on SQLite."""

    impl = String(36)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.UUID(as_uuid=True))
        return dialect.type_descriptor(String(36))

    def process_bind_param(self, value: uuid.UUID | str | None, dialect: Dialect) -> object:
        if value is None:
            return None
        parsed = value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
        return parsed if dialect.name == "postgresql" else str(parsed)

    def process_result_value(self, value: object, dialect: Dialect) -> uuid.UUID | None:
        if value is None:
            return None
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


class PushStatus(enum.StrEnum):
    COMMITTED = "committed"
    """Its rows are in both tables (a push is logged only in the transaction that commits it)."""


class OutputPortQueryStatsDaily(OpsBase):
    """Queries per (day, output port, consumer): a query counts once, whatever it touched."""

    __tablename__ = "output_port_query_stats_daily"
    __table_args__ = (
        PrimaryKeyConstraint(
            "date", "output_port_id", "consumer_id", name="pk_output_port_query_stats_daily"
        ),
        # The charts read one port's window: (port, date) first.
        Index("ix_output_port_query_stats_daily_port_date", "output_port_id", "date"),
    )

    date: Mapped[date] = mapped_column(Date, comment="UTC day the queries ran")
    output_port_id: Mapped[uuid.UUID] = mapped_column(UUIDText())
    consumer_id: Mapped[uuid.UUID] = mapped_column(UUIDText())
    query_count: Mapped[int] = mapped_column(Integer)
    push_id: Mapped[uuid.UUID] = mapped_column(UUIDText(), comment="the push that wrote the row")


class TechAssetStatsDaily(OpsBase):
    """Query touches per (day, output port, technical asset, consumer)."""

    __tablename__ = "tech_asset_stats_daily"
    __table_args__ = (
        PrimaryKeyConstraint(
            "date",
            "output_port_id",
            "tech_asset_id",
            "consumer_id",
            name="pk_tech_asset_stats_daily",
        ),
        Index("ix_tech_asset_stats_daily_port_date", "output_port_id", "date"),
    )

    date: Mapped[date] = mapped_column(Date, comment="UTC day the queries ran")
    output_port_id: Mapped[uuid.UUID] = mapped_column(UUIDText())
    tech_asset_id: Mapped[uuid.UUID] = mapped_column(UUIDText())
    consumer_id: Mapped[uuid.UUID] = mapped_column(UUIDText())
    query_count: Mapped[int] = mapped_column(Integer)
    push_id: Mapped[uuid.UUID] = mapped_column(UUIDText(), comment="the push that wrote the row")


class UsagePush(OpsBase):
    """The push log: one row per committed push."""

    __tablename__ = "usage_pushes"
    __table_args__ = (
        PrimaryKeyConstraint("push_id", name="pk_usage_pushes"),
        UniqueConstraint("sequence", name="uq_usage_pushes_sequence"),
        # NULL keys (pushes sent without one) never collide: NULLs are distinct on both.
        UniqueConstraint(
            "output_port_id", "idempotency_key", name="uq_usage_pushes_idempotency_key"
        ),
    )

    push_id: Mapped[uuid.UUID] = mapped_column(UUIDText())
    sequence: Mapped[int] = mapped_column(
        BigInteger, comment="1, 2, ... in commit order: the ingestion sensor's cursor"
    )
    output_port_id: Mapped[uuid.UUID] = mapped_column(UUIDText())
    producer: Mapped[str] = mapped_column(String(255))
    key_id: Mapped[str | None] = mapped_column(String(32), comment="the API key that pushed")
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(
        String(64), comment="SHA-256 of the canonical body, hex"
    )
    status: Mapped[PushStatus] = mapped_column(_status(PushStatus, "ck_usage_pushes_status"))
    dates: Mapped[list[str]] = mapped_column(JSON, comment="ISO dates covered, ascending")
    query_stats_rows: Mapped[int] = mapped_column(Integer)
    asset_stats_rows: Mapped[int] = mapped_column(Integer)
    request_id: Mapped[str | None] = mapped_column(String(128))
    received_at: Mapped[datetime]
    committed_at: Mapped[datetime]


class UsageProducer(OpsBase):
    """A system that pushes usage stats (a warehouse account, a team's pipeline)."""

    __tablename__ = "usage_producers"
    __table_args__ = (PrimaryKeyConstraint("producer", name="pk_usage_producers"),)

    producer: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]


class UsageApiKey(OpsBase):
    """An API key: only the SHA-256 of its secret is kept."""

    __tablename__ = "usage_api_keys"
    __table_args__ = (
        PrimaryKeyConstraint("key_id", name="pk_usage_api_keys"),
        ForeignKeyConstraint(
            ["producer"], ["usage_producers.producer"], name="fk_usage_api_keys_producer"
        ),
    )

    key_id: Mapped[str] = mapped_column(String(32))
    producer: Mapped[str] = mapped_column(String(255))
    key_hash: Mapped[str] = mapped_column(String(64), comment="SHA-256 of the secret, hex")
    prefix: Mapped[str] = mapped_column(String(64), comment="what lists show of the key")
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class UsageApiKeyPort(OpsBase):
    """The output ports a key may push to and read (its scopes)."""

    __tablename__ = "usage_api_key_ports"
    __table_args__ = (
        PrimaryKeyConstraint("key_id", "output_port_id", name="pk_usage_api_key_ports"),
        ForeignKeyConstraint(
            ["key_id"], ["usage_api_keys.key_id"], name="fk_usage_api_key_ports_key_id"
        ),
    )

    key_id: Mapped[str] = mapped_column(String(32))
    output_port_id: Mapped[uuid.UUID] = mapped_column(UUIDText())


# -- API keys ------------------------------------------------------------------------------

KEY_PREFIX = "floe"


@dataclass(frozen=True)
class ApiKeyInfo:
    """A key as lists show it: never the secret."""

    key_id: str
    producer: str
    prefix: str
    output_port_ids: tuple[uuid.UUID, ...]
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class NewApiKey:
    """A key just created: ``token`` is shown this once and stored nowhere."""

    info: ApiKeyInfo
    token: str


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def split_token(token: str) -> tuple[str, str] | None:
    """``floe_<key_id>_<secret>`` -> (key_id, secret); None when it is not that shape."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def create_api_key(
    session: Session, producer: str, output_port_ids: Iterable[uuid.UUID | str]
) -> NewApiKey:
    """A new random key for ``producer`` scoped to the ports; the producer is created if new."""
    ports = tuple(dict.fromkeys(uuid.UUID(str(port)) for port in output_port_ids))
    if not producer.strip():
        raise ValueError("the producer name is empty")
    if not ports:
        raise ValueError("a key needs at least one output port")
    now = utc_now()
    if session.get(UsageProducer, producer) is None:
        session.add(UsageProducer(producer=producer, created_at=now))
        session.flush()
    key_id = secrets.token_hex(8)  # hex: never holds the "_" that separates the parts
    secret = secrets.token_urlsafe(32)
    token = f"{KEY_PREFIX}_{key_id}_{secret}"
    prefix = f"{KEY_PREFIX}_{key_id}_{secret[:4]}…"
    session.add(
        UsageApiKey(
            key_id=key_id,
            producer=producer,
            key_hash=hash_secret(secret),
            prefix=prefix,
            created_at=now,
        )
    )
    session.flush()
    session.add_all(UsageApiKeyPort(key_id=key_id, output_port_id=port) for port in ports)
    info = ApiKeyInfo(key_id, producer, prefix, ports, now, None)
    return NewApiKey(info=info, token=token)


_DUMMY_HASH = hash_secret("not a key")


def authenticate_token(session: Session, token: str) -> ApiKeyInfo | None:
    """The live key ``token`` is, or None (unknown, wrong secret, revoked)."""
    parts = split_token(token)
    key_id, secret = parts if parts is not None else ("", "")
    row = session.get(UsageApiKey, key_id) if key_id else None
    # Compared in constant time, and compared even for an unknown id.
    expected = row.key_hash if row is not None else _DUMMY_HASH
    matches = hmac.compare_digest(expected, hash_secret(secret))
    if row is None or not matches or row.revoked_at is not None:
        return None
    return _info(session, row)


def list_api_keys(session: Session, *, include_revoked: bool = True) -> list[ApiKeyInfo]:
    query = select(UsageApiKey).order_by(UsageApiKey.created_at, UsageApiKey.key_id)
    if not include_revoked:
        query = query.where(UsageApiKey.revoked_at.is_(None))
    return [_info(session, row) for row in session.scalars(query)]


def revoke_api_key(session: Session, key_id: str, *, at: datetime | None = None) -> bool:
    """Revoke a key; False when there is no such key. Revoking twice keeps the first time."""
    row = session.get(UsageApiKey, key_id)
    if row is None:
        return False
    session.execute(
        update(UsageApiKey)
        .where(UsageApiKey.key_id == key_id, UsageApiKey.revoked_at.is_(None))
        .values(revoked_at=at or utc_now())
    )
    return True


def _info(session: Session, row: UsageApiKey) -> ApiKeyInfo:
    ports = session.scalars(
        select(UsageApiKeyPort.output_port_id)
        .where(UsageApiKeyPort.key_id == row.key_id)
        .order_by(UsageApiKeyPort.output_port_id)
    )
    return ApiKeyInfo(
        row.key_id, row.producer, row.prefix, tuple(ports), row.created_at, row.revoked_at
    )


# -- pushes --------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueryStatRow:
    date: date
    consumer_id: uuid.UUID
    query_count: int


@dataclass(frozen=True)
class AssetStatRow:
    date: date
    tech_asset_id: uuid.UUID
    consumer_id: uuid.UUID
    query_count: int


@dataclass(frozen=True)
class PushRecord:
    """A push as the log holds it: what a retry with the same key is answered."""

    push_id: uuid.UUID
    sequence: int
    output_port_id: uuid.UUID
    dates: tuple[date, ...]
    query_stats_rows: int
    asset_stats_rows: int
    committed_at: datetime

    @classmethod
    def of(cls, row: UsagePush) -> PushRecord:
        return cls(
            push_id=row.push_id,
            sequence=row.sequence,
            output_port_id=row.output_port_id,
            dates=tuple(date.fromisoformat(day) for day in row.dates),
            query_stats_rows=row.query_stats_rows,
            asset_stats_rows=row.asset_stats_rows,
            committed_at=row.committed_at,
        )


@dataclass(frozen=True)
class PushOutcome:
    record: PushRecord
    replayed: bool
    """True when the Idempotency-Key named a push already committed: nothing was written."""


class PushInProgressError(Exception):
    """Another request with the same Idempotency-Key is being committed right now."""


class IdempotencyKeyReusedError(Exception):
    """The Idempotency-Key was used before for a different body."""

    def __init__(self, existing: PushRecord) -> None:
        super().__init__(f"the Idempotency-Key was used by push {existing.push_id}")
        self.existing = existing


def request_hash(canonical_body: bytes) -> str:
    return hashlib.sha256(canonical_body).hexdigest()


def _copy_rows(session: Session, schema: str, table: str, rows: list[dict[str, Any]]) -> None:
    """COPY `rows` (dicts with the same keys) into ``schema.table`` on the session's own
    PostgreSQL connection, inside its transaction."""
    columns = list(rows[0])
    driver = session.connection().connection.driver_connection
    names = ", ".join(f'"{name}"' for name in columns)
    with driver.cursor() as cursor:  # type: ignore[union-attr]
        with cursor.copy(f'COPY "{schema}"."{table}" ({names}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row([row[name] for name in columns])


def record_push(
    session: Session,
    *,
    output_port_id: uuid.UUID,
    producer: str,
    query_stats: Sequence[QueryStatRow],
    asset_stats: Sequence[AssetStatRow],
    body_hash: str,
    idempotency_key: str | None = None,
    key_id: str | None = None,
    request_id: str | None = None,
    received_at: datetime | None = None,
) -> PushOutcome:
    """Replace the (port, date) slices the rows cover and log the push, in ``session``'s
    transaction (the caller commits; see the module docstring for the locks).

    With an ``idempotency_key`` already used on this port: the same ``body_hash`` returns
    the first push (``replayed``, nothing written), another raises
    :class:`IdempotencyKeyReusedError`. Raises :class:`PushInProgressError` when a
    concurrent transaction holds the key. The rows are expected valid (the API checks them).
    """
    received = received_at or utc_now()
    postgres = session.get_bind().dialect.name == "postgresql"
    schema = _schema_of(session)
    port = uuid.UUID(str(output_port_id))
    if idempotency_key is not None:
        if postgres and not _try_lock(session, schema, "key", str(port), idempotency_key):
            raise PushInProgressError(idempotency_key)
        existing = session.scalar(
            select(UsagePush).where(
                UsagePush.output_port_id == port, UsagePush.idempotency_key == idempotency_key
            )
        )
        if existing is not None:
            record = PushRecord.of(existing)
            if not hmac.compare_digest(existing.request_hash, body_hash):
                raise IdempotencyKeyReusedError(record)
            return PushOutcome(record, replayed=True)

    dates = sorted({row.date for row in query_stats} | {row.date for row in asset_stats})
    if not dates:
        raise ValueError("a push needs at least one row")
    if postgres:
        for day in dates:  # always in date order: two pushes never wait on each other's locks
            _lock(session, schema, "slice", str(port), day.isoformat())
    push_id = uuid.uuid4()
    for model in (OutputPortQueryStatsDaily, TechAssetStatsDaily):
        session.execute(delete(model).where(model.output_port_id == port, model.date.in_(dates)))
    query_rows = [
        {
            "date": row.date,
            "output_port_id": port,
            "consumer_id": row.consumer_id,
            "query_count": row.query_count,
            "push_id": push_id,
        }
        for row in query_stats
    ]
    asset_rows = [
        {
            "date": row.date,
            "output_port_id": port,
            "tech_asset_id": row.tech_asset_id,
            "consumer_id": row.consumer_id,
            "query_count": row.query_count,
            "push_id": push_id,
        }
        for row in asset_stats
    ]
    for model, rows in ((OutputPortQueryStatsDaily, query_rows), (TechAssetStatsDaily, asset_rows)):
        if not rows:
            continue
        if postgres:
            # COPY in the push's own transaction: an executemany of single-row INSERTs spent
            # ~5x the time of COPY on a realistic day (bench/push.py)
            _copy_rows(session, schema, model.__tablename__, rows)
        else:
            session.execute(insert(model), rows)

    if postgres:  # held to the commit: sequences are handed out in commit order
        _lock(session, schema, "sequence")
    sequence = (session.scalar(select(func.max(UsagePush.sequence))) or 0) + 1
    committed = utc_now()
    push = UsagePush(
        push_id=push_id,
        sequence=sequence,
        output_port_id=port,
        producer=producer,
        key_id=key_id,
        idempotency_key=idempotency_key,
        request_hash=body_hash,
        status=PushStatus.COMMITTED,
        dates=[day.isoformat() for day in dates],
        query_stats_rows=len(query_stats),
        asset_stats_rows=len(asset_stats),
        request_id=request_id,
        received_at=received,
        committed_at=committed,
    )
    session.add(push)
    try:
        session.flush()
    except IntegrityError as exc:  # the key's unique constraint: a racing duplicate won
        raise PushInProgressError(idempotency_key or "") from exc
    return PushOutcome(PushRecord.of(push), replayed=False)


@dataclass(frozen=True)
class CommittedPush:
    """What the ingestion sensor needs of a push: which slices changed, in which order."""

    push_id: uuid.UUID
    output_port_id: uuid.UUID
    dates: tuple[date, ...]
    sequence: int


def committed_pushes_after(
    session: Session, sequence: int, limit: int = 100
) -> list[CommittedPush]:
    """Committed pushes with ``sequence`` greater than the cursor, oldest first.

    Sequences are handed out in commit order, so a cursor at the last one returned never
    skips a push committed later. A slice may have been replaced by a later push since:
    read the slice's current rows (:func:`slice_rows`), not the push's.
    """
    rows = session.scalars(
        select(UsagePush)
        .where(UsagePush.sequence > sequence, UsagePush.status == PushStatus.COMMITTED)
        .order_by(UsagePush.sequence)
        .limit(limit)
    )
    return [
        CommittedPush(
            push_id=row.push_id,
            output_port_id=row.output_port_id,
            dates=tuple(date.fromisoformat(day) for day in row.dates),
            sequence=row.sequence,
        )
        for row in rows
    ]


def slice_rows(
    session: Session, output_port_id: uuid.UUID, dates: Iterable[date]
) -> tuple[list[OutputPortQueryStatsDaily], list[TechAssetStatsDaily]]:
    """The current rows of both tables for the port's ``dates`` (ordered by their keys)."""
    days = sorted(set(dates))
    query_rows = session.scalars(
        select(OutputPortQueryStatsDaily)
        .where(
            OutputPortQueryStatsDaily.output_port_id == output_port_id,
            OutputPortQueryStatsDaily.date.in_(days),
        )
        .order_by(OutputPortQueryStatsDaily.date, OutputPortQueryStatsDaily.consumer_id)
    )
    asset_rows = session.scalars(
        select(TechAssetStatsDaily)
        .where(
            TechAssetStatsDaily.output_port_id == output_port_id,
            TechAssetStatsDaily.date.in_(days),
        )
        .order_by(
            TechAssetStatsDaily.date,
            TechAssetStatsDaily.tech_asset_id,
            TechAssetStatsDaily.consumer_id,
        )
    )
    return list(query_rows), list(asset_rows)


def _schema_of(session: Session) -> str:
    translate = session.connection().get_execution_options().get("schema_translate_map") or {}
    return str(translate.get(OPS_SCHEMA, OPS_SCHEMA))


def _lock_key(schema: str, *parts: str) -> int:
    digest = hashlib.sha256("\x1f".join(("floe.usage", schema, *parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _lock(session: Session, schema: str, *parts: str) -> None:
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key(schema, *parts)})


def _try_lock(session: Session, schema: str, *parts: str) -> bool:
    return bool(
        session.scalar(
            text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": _lock_key(schema, *parts)}
        )
    )


__all__ = [
    "ApiKeyInfo",
    "AssetStatRow",
    "CommittedPush",
    "IdempotencyKeyReusedError",
    "NewApiKey",
    "OutputPortQueryStatsDaily",
    "PushInProgressError",
    "PushOutcome",
    "PushRecord",
    "PushStatus",
    "QueryStatRow",
    "TechAssetStatsDaily",
    "UUIDText",
    "UsageApiKey",
    "UsageApiKeyPort",
    "UsageProducer",
    "UsagePush",
    "authenticate_token",
    "committed_pushes_after",
    "create_api_key",
    "hash_secret",
    "list_api_keys",
    "record_push",
    "request_hash",
    "revoke_api_key",
    "slice_rows",
    "split_token",
]
