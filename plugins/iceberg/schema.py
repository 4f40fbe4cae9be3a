"""Arrow schemas as Iceberg can hold them, schema evolution, and Parquet field ids.

Three jobs, all about the schema of a load before it touches the table:

* :func:`iceberg_ready_schema` casts what Iceberg has no type for (unsigned ints, nanosecond
  or second timestamps, float16, date64, time32, null) — at every nesting level, so a uint32
  inside a struct becomes ``long`` just like a top-level one.
* :func:`evolve_schema` adds new columns and applies the safe promotions Iceberg allows
  (int→long, float→double, widening decimals) in the load's own transaction, and turns an
  unsafe change into ``PERMANENT/SCHEMA_MISMATCH`` naming the column and both types.
* :func:`with_field_ids` puts the table's field ids on the Arrow schema the data files are
  written with, so any Iceberg reader (not only those that honour the name mapping) reads
  them by id.
"""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import ResolveError, ValidationError
from pyiceberg.io.pyarrow import schema_to_pyarrow
from pyiceberg.schema import Schema, promote
from pyiceberg.table import Transaction
from pyiceberg.types import IcebergType, ListType, MapType, NestedField, StructType

from plugins.base import PermanentIngestionError

FIELD_ID_KEY = b"PARQUET:field_id"


def _ready_type(data_type: pa.DataType) -> pa.DataType:
    """`data_type` with every part Iceberg cannot hold replaced by the nearest one it can."""
    if pa.types.is_dictionary(data_type):
        return _ready_type(data_type.value_type)
    if pa.types.is_unsigned_integer(data_type):
        return pa.int32() if data_type.bit_width < 32 else pa.int64()
    if pa.types.is_int8(data_type) or pa.types.is_int16(data_type):
        return pa.int32()
    if pa.types.is_timestamp(data_type) and data_type.unit != "us":
        return pa.timestamp("us", tz=data_type.tz)
    if pa.types.is_float16(data_type):
        return pa.float32()
    if pa.types.is_date64(data_type):
        return pa.date32()
    if pa.types.is_time32(data_type) or (pa.types.is_time64(data_type) and data_type.unit != "us"):
        return pa.time64("us")
    if pa.types.is_null(data_type):
        return pa.string()
    if pa.types.is_large_string(data_type):
        return pa.string()
    if pa.types.is_large_binary(data_type):
        return pa.binary()
    if pa.types.is_struct(data_type):
        return pa.struct([_ready_field(data_type.field(i)) for i in range(data_type.num_fields)])
    if pa.types.is_list(data_type) or pa.types.is_large_list(data_type):
        return pa.list_(_ready_field(data_type.value_field))
    if pa.types.is_map(data_type):
        return pa.map_(_ready_type(data_type.key_type), _ready_field(data_type.item_field))
    return data_type


def _ready_field(field: pa.Field) -> pa.Field:
    return pa.field(field.name, _ready_type(field.type), nullable=True)


def iceberg_ready_schema(schemas: Iterable[pa.Schema]) -> pa.Schema:
    """One schema for all files of a load: unified (a later file may add a column), all
    columns optional (a later load may lack one; Iceberg refuses to add required columns),
    and only types Iceberg has."""
    unified = pa.unify_schemas(list(schemas), promote_options="permissive")
    return pa.schema([_ready_field(field) for field in unified])


def _mismatch(
    identifier: str, writer: str, message: str, **details: str
) -> PermanentIngestionError:
    return PermanentIngestionError(
        "SCHEMA_MISMATCH",
        f"load does not fit table {identifier}: {message}",
        source=writer,
        details=details,
    )


def check_compatible(
    table_schema: Schema, load_schema: pa.Schema, *, identifier: str, writer: str
) -> None:
    """Refuse a load whose column types cannot evolve the table's, naming column and types.

    Allowed: the same type, a narrower one (the load is cast up), or one of Iceberg's safe
    promotions of the table's type (int→long, float→double, wider decimal)."""
    table_names = {field.name for field in table_schema.fields}
    # new columns are added by the evolution; nested ones not in the table likewise
    known = pa.schema([field for field in load_schema if field.name in table_names])
    for field in _iceberg_schema(known).fields:  # compared by name: ids do not matter
        existing = table_schema.find_field(field.name)
        _check_type(existing.field_type, field.field_type, field.name, identifier, writer)


def _iceberg_schema(schema: pa.Schema) -> Schema:
    """The Iceberg types of an Arrow schema (fresh ids). pyiceberg's own converter for a
    schema without field ids, as its catalogs use when creating a table from Arrow."""
    return Catalog._convert_schema_if_needed(schema)


def _check_type(
    table_type: IcebergType, load_type: IcebergType, path: str, identifier: str, writer: str
) -> None:
    if table_type == load_type:
        return
    if table_type.is_primitive and load_type.is_primitive:
        for file_type, read_type in ((load_type, table_type), (table_type, load_type)):
            try:
                promote(file_type, read_type)
                return  # narrower (cast up) or a safe promotion (table evolves)
            except ResolveError:
                continue
        raise _mismatch(
            identifier,
            writer,
            f"column {path!r} is {table_type} in the table but {load_type} in the load, "
            "and Iceberg cannot safely convert between them",
            column=path,
            table_type=str(table_type),
            load_type=str(load_type),
        )
    if isinstance(table_type, StructType) and isinstance(load_type, StructType):
        for child in load_type.fields:
            match = next((f for f in table_type.fields if f.name == child.name), None)
            if match is not None:
                _check_type(
                    match.field_type, child.field_type, f"{path}.{child.name}", identifier, writer
                )
        return
    if isinstance(table_type, ListType) and isinstance(load_type, ListType):
        _check_type(
            table_type.element_type, load_type.element_type, f"{path}.element", identifier, writer
        )
        return
    if isinstance(table_type, MapType) and isinstance(load_type, MapType):
        _check_type(table_type.key_type, load_type.key_type, f"{path}.key", identifier, writer)
        _check_type(
            table_type.value_type, load_type.value_type, f"{path}.value", identifier, writer
        )
        return
    raise _mismatch(
        identifier,
        writer,
        f"column {path!r} is {table_type} in the table but {load_type} in the load",
        column=path,
        table_type=str(table_type),
        load_type=str(load_type),
    )


def evolve_schema(
    txn: Transaction, load_schema: pa.Schema, *, identifier: str, writer: str
) -> None:
    """Add the load's new columns and apply safe promotions, inside `txn`."""
    check_compatible(txn.table_metadata.schema(), load_schema, identifier=identifier, writer=writer)
    try:
        with txn.update_schema() as update:
            update.union_by_name(load_schema)
    except (ValidationError, ValueError, TypeError) as exc:  # what check_compatible missed
        raise _mismatch(identifier, writer, str(exc), exception_type=type(exc).__name__) from exc


def _with_ids(data_type: pa.DataType, iceberg_type: IcebergType) -> pa.DataType:
    if isinstance(iceberg_type, StructType) and pa.types.is_struct(data_type):
        return pa.struct(
            [_field_with_id(data_type.field(i), iceberg_type) for i in range(data_type.num_fields)]
        )
    if isinstance(iceberg_type, ListType) and pa.types.is_list(data_type):
        element = data_type.value_field
        return pa.list_(
            element.with_type(_with_ids(element.type, iceberg_type.element_type)).with_metadata(
                {FIELD_ID_KEY: str(iceberg_type.element_id).encode()}
            )
        )
    if isinstance(iceberg_type, MapType) and pa.types.is_map(data_type):
        key = pa.field(
            "key",
            _with_ids(data_type.key_type, iceberg_type.key_type),
            nullable=False,
            metadata={FIELD_ID_KEY: str(iceberg_type.key_id).encode()},
        )
        item = data_type.item_field
        value = item.with_type(_with_ids(item.type, iceberg_type.value_type)).with_metadata(
            {FIELD_ID_KEY: str(iceberg_type.value_id).encode()}
        )
        return pa.map_(key, value)
    return data_type


def _field_with_id(field: pa.Field, parent: StructType) -> pa.Field:
    iceberg_field: NestedField | None = next(
        (f for f in parent.fields if f.name == field.name), None
    )
    if iceberg_field is None:
        raise ValueError(f"column {field.name!r} is not in the table schema")
    return pa.field(
        field.name,
        _with_ids(field.type, iceberg_field.field_type),
        nullable=field.nullable,
        metadata={FIELD_ID_KEY: str(iceberg_field.field_id).encode()},
    )


def with_field_ids(load_schema: pa.Schema, table_schema: Schema) -> pa.Schema:
    """`load_schema` (its own column types, cast up to the table's where the table's are
    wider) with the table's Parquet field ids on every column, nested ones included."""
    fields = []
    for field in load_schema:
        iceberg_field = table_schema.find_field(field.name)
        field_type = field.type
        if iceberg_field.field_type.is_primitive:
            # the table may be wider (long vs int): write what the table holds
            field_type = _primitive_arrow_type(iceberg_field.field_type)
        fields.append(
            _field_with_id(
                pa.field(field.name, field_type, nullable=True), table_schema.as_struct()
            )
        )
    return pa.schema(fields)


def _primitive_arrow_type(iceberg_type: IcebergType) -> pa.DataType:
    """The Arrow type files hold for an Iceberg primitive: pyiceberg's mapping, with the
    small string/binary layouts (Parquet does not tell them apart)."""
    return _ready_type(schema_to_pyarrow(iceberg_type, include_field_ids=False))
