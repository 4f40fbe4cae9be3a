"""Column types and bad rows: every value fits its column's type before dlt sees it.

A column's type comes from, in this order: its declaration in ``dlt.columns`` (floe.yaml), the
Iceberg table (a column the table already has), or the first value the load sees (what dlt
would infer). A value that does not fit — ``abc`` in a bigint column, a missing required
value, a date after today in a declared date column — makes its row a *rejected row*: it is
kept out of the load and recorded (see ``rejects.py``) instead of landing as null beside a
new ``amount__v_text`` variant column, which is what dlt does with it.

Declared columns are also given to dlt as column hints (data type, nullable, precision), and
their text is parsed here: dlt cannot parse a Fitbit date (``8/3/2026``) on its own.

How text is parsed for a declared column (other values, e.g. a database's datetime, are
converted as dlt converts them):

* bigint: an optional sign and digits, within 64 bits; double: a decimal number (``1.5``,
  ``-2e3``); bool: true/false, yes/no, 1/0 (any case); decimal: a decimal number with at most
  ``precision`` digits and ``scale`` of them after the point.
* date, timestamp, time: ``format`` (strptime) when given, else ISO 8601. A date written with
  a time of day (``format`` ``%m/%d/%Y %I:%M:%S %p``) must be at midnight. A timestamp without
  a UTC offset is UTC.
* json: JSON text.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from dlt.common.data_types.type_helpers import coerce_value, py_type_to_sc_type
from pyiceberg.schema import Schema as IcebergSchema
from pyiceberg.types import (
    BinaryType,
    BooleanType,
    DateType,
    DecimalType,
    DoubleType,
    FixedType,
    FloatType,
    IcebergType,
    IntegerType,
    LongType,
    StringType,
    TimestampType,
    TimestamptzType,
    TimeType,
    UUIDType,
)

from plugins.dlt.options import ColumnSpec

INT64 = (-(2**63), 2**63 - 1)
_INTEGER = re.compile(r"\s*[+-]?\d+\s*\Z")
_NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*\Z")
_BOOLS = {
    "true": True,
    "false": False,
    "yes": True,
    "no": False,
    "1": True,
    "0": False,
}
RAW_CHARS = 2000
"""Raw values and records are kept up to this many characters in the rejects table."""
DLT_COLUMNS = frozenset({"_dlt_load_id", "_dlt_id"})
CONVERTED = frozenset({"bigint", "double", "bool", "text"})
"""Types an undeclared column's values are converted to before dlt (others are checked)."""


def utc_now() -> datetime:
    """Now, in UTC (a function so tests can fix the clock)."""
    return datetime.now(UTC)


def today_in(zone: str) -> date:
    return utc_now().astimezone(ZoneInfo(zone)).date()


@lru_cache(maxsize=4096)
def normalized(name: str) -> str:
    from plugins.dlt.sources import normalize_identifier

    return normalize_identifier(name)


class NotAFit(ValueError):
    """A value does not fit its column; the message is the rejected row's reason."""


# -- declared columns: text parsers and dlt hints ------------------------------------------


def _temporal(text: str, spec: ColumnSpec) -> datetime | date | time:
    stripped = text.strip()
    what = f"a {spec.data_type}" + (f" in the format {spec.format}" if spec.format else "")
    try:
        if spec.format is not None:
            parsed = datetime.strptime(stripped, spec.format)
            if spec.data_type == "date":
                if parsed.time() != time(0):
                    raise NotAFit(f"{text!r} is not a date: it has a time of day")
                return parsed.date()
            if spec.data_type == "time":
                return parsed.time()
            return parsed
        if spec.data_type == "date":
            return date.fromisoformat(stripped)
        if spec.data_type == "time":
            return time.fromisoformat(stripped)
        return datetime.fromisoformat(stripped)
    except ValueError as exc:
        if isinstance(exc, NotAFit):
            raise
        raise NotAFit(f"{text!r} is not {what}") from None


def _decimal(text: str, spec: ColumnSpec) -> Decimal:
    precision, scale = spec.decimal
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise NotAFit(f"{text!r} is not a decimal") from None
    if not value.is_finite():
        raise NotAFit(f"{text!r} is not a decimal")
    exponent = value.as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    if places > scale:
        # trailing zeros are not data: 1.50 fits a scale of 1
        value = value.normalize()
        exponent = value.as_tuple().exponent
        places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
        if places > scale:
            raise NotAFit(
                f"{text!r} has more than {scale} decimal places (decimal({precision}, {scale}))"
            )
    integral = len(value.as_tuple().digits) - places
    if integral > precision - scale:
        raise NotAFit(
            f"{text!r} has more than {precision - scale} digits before the point "
            f"(decimal({precision}, {scale}))"
        )
    return value.quantize(Decimal(1).scaleb(-scale))


Parse = Callable[[str], Any]
"""Text to a column's value, or NotAFit with the reason."""


def _bigint(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        raise NotAFit(f"{text!r} is not a bigint") from None
    if "_" in text:  # int() takes 1_000; a CSV does not mean it
        raise NotAFit(f"{text!r} is not a bigint")
    if not INT64[0] <= number <= INT64[1]:
        raise NotAFit(f"{text!r} is out of range for a bigint")
    return number


def _double(text: str) -> float:
    try:
        number = float(text)
    except ValueError:
        raise NotAFit(f"{text!r} is not a double") from None
    if "_" in text or not math.isfinite(number):
        raise NotAFit(f"{text!r} is not a double")
    return number


def _bool(text: str) -> bool:
    flag = _BOOLS.get(text.strip().lower())
    if flag is None:
        raise NotAFit(f"{text!r} is not a bool (true/false, yes/no, 1/0)")
    return flag


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        raise NotAFit(f"{text!r} is not JSON") from None


def _text(text: str) -> str:
    return text


def _cached(parse: Parse, size: int = 65_536) -> Parse:
    """`parse` remembering its answers: a day column repeats a few hundred values a million
    times, and strptime is the slowest part of a load."""
    answers: dict[str, Any] = {}

    def cached(text: str) -> Any:
        value = answers.get(text)
        if value is None:
            value = parse(text)
            if len(answers) < size:
                answers[text] = value
        return value

    return cached


def declared_parser(spec: ColumnSpec) -> Parse:
    """How the text of a column declared as `spec` becomes its value."""
    data_type = spec.data_type
    if data_type in ("date", "timestamp", "time"):

        def temporal(text: str) -> Any:
            value = _temporal(text, spec)
            if isinstance(value, datetime):  # a timestamp without an offset is UTC
                return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
            return value

        return _cached(temporal)
    if data_type == "decimal":
        return lambda text: _decimal(text, spec)
    return {"text": _text, "bigint": _bigint, "double": _double, "bool": _bool, "json": _json}[
        data_type
    ]


def column_hints(declared: Mapping[str, ColumnSpec]) -> dict[str, dict[str, Any]]:
    """dlt column hints for the declared columns (by table name)."""
    hints: dict[str, dict[str, Any]] = {}
    for name, spec in declared.items():
        hint: dict[str, Any] = {"name": name, "data_type": spec.data_type}
        hint["nullable"] = spec.nullable
        if spec.data_type == "decimal":
            hint["precision"], hint["scale"] = spec.decimal
        hints[name] = hint
    return hints


def arrow_type(spec: ColumnSpec) -> pa.DataType:
    """The Arrow type dlt's parquet writer gives a column of this declaration."""
    return {
        "text": pa.string(),
        "bigint": pa.int64(),
        "double": pa.float64(),
        "bool": pa.bool_(),
        "date": pa.date32(),
        "timestamp": pa.timestamp("us", tz="UTC"),
        "time": pa.time64("us"),
        "json": pa.string(),
    }.get(spec.data_type) or pa.decimal128(*spec.decimal)


def table_types(schema: IcebergSchema | None) -> dict[str, str]:
    """The dlt data type of each column the Iceberg table has (dlt's own columns left out)."""
    if schema is None:
        return {}
    mapping: list[tuple[tuple[type[IcebergType], ...], str]] = [
        ((IntegerType, LongType), "bigint"),
        ((FloatType, DoubleType), "double"),
        ((BooleanType,), "bool"),
        ((StringType,), "text"),
        ((DecimalType,), "decimal"),
        ((DateType,), "date"),
        ((TimestampType, TimestamptzType), "timestamp"),
        ((TimeType,), "time"),
        ((BinaryType, FixedType, UUIDType), "binary"),
    ]
    types: dict[str, str] = {}
    for column in schema.fields:
        if column.name in DLT_COLUMNS:
            continue
        found = next(
            (dlt_type for classes, dlt_type in mapping if isinstance(column.field_type, classes)),
            "json",  # struct, list, map: nested data
        )
        types[column.name] = found
    return types


# -- rejected rows -------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    column: str | None
    raw: Any
    reason: str


@dataclass(frozen=True)
class Origin:
    """Where a row came from: the file and line (file sources), its number in the file or
    the source's stream."""

    source_file: str | None
    record_number: int
    line: int | None = None


@dataclass(frozen=True)
class Reject:
    """One rejected row, as the rejects table holds it."""

    source_file: str | None
    line: int | None
    record_number: int | None
    column_name: str | None
    raw_value: str | None
    reason: str
    raw_record: str | None
    rejected_at: str

    @classmethod
    def of(cls, origin: Origin, problems: list[Problem], raw_record: Any) -> Reject:
        first = problems[0]
        reason = first.reason
        if len(problems) > 1:
            others = "; ".join(f"{p.column}: {p.reason}" for p in problems[1:])
            reason = f"{reason} (also {others})"
        return cls(
            source_file=origin.source_file,
            line=origin.line,
            record_number=origin.record_number,
            column_name=first.column,
            raw_value=raw_text(first.raw),
            reason=reason,
            raw_record=raw_text(raw_record),
            rejected_at=utc_now().isoformat(),
        )

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def raw_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        text = value
    elif isinstance(value, dict | list):
        text = json.dumps(value, default=str)
    else:
        text = str(value)
    return text if len(text) <= RAW_CHARS else text[:RAW_CHARS] + "…"


# -- the checker -----------------------------------------------------------------------------


@dataclass
class Column:
    """One column of the load and how its values are made to fit its type."""

    name: str
    data_type: str | None
    """None until the first value decides (a column neither declared nor in the table)."""
    spec: ColumnSpec | None = None
    origin: str = "inferred"
    """declared | table | source | inferred: where the type comes from (named in reasons)."""
    table: str = ""
    future: tuple[date, str] | None = None
    """(today, its time zone) for a declared date column that rejects later dates."""
    _parse: Parse | None = field(default=None, repr=False)

    def text(self, text: str) -> Any:
        """The column's value for `text` (a CSV field, a JSON string), or NotAFit."""
        return self.parser()(text)

    def parser(self) -> Parse:
        """`text` as a plain function, for a reader calling it per field."""
        if self._parse is None:
            self._parse = self._compile()
        return self._parse

    def convert(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        converted = self._coerce(value)
        if self.spec is not None:
            return self._not_later(converted)
        # an undeclared column's value becomes a number, bool or text, as pandas made a CSV's;
        # one of another type is only checked: dlt converts it when it normalizes, as before
        # (an incremental cursor compares the values as the source gave them)
        return converted if self.data_type in CONVERTED else value

    def decided(self) -> None:
        """The type changed (was pinned): compile the parser again."""
        self._parse = None

    def _compile(self) -> Parse:
        if self.spec is not None:
            parse = declared_parser(self.spec)
            if self.future is None:
                return parse

            def not_later(text: str) -> Any:
                return self._not_later(parse(text))

            return not_later
        if self.data_type in (None, "text"):
            return _text
        if self.data_type in ("bigint", "double", "bool"):
            fast: Parse = {"bigint": _bigint, "double": _double, "bool": _bool}[self.data_type]
        else:  # checked as dlt will convert it, passed on as it is (see `convert`)
            check = _cached(self._coerce)

            def fast(text: str) -> Any:
                check(text)
                return text

        suffix = self._why_this_type()

        def with_reason(text: str) -> Any:
            try:
                return fast(text)
            except NotAFit as exc:
                raise NotAFit(f"{exc}{suffix}") from None

        return with_reason

    def _not_later(self, day: Any) -> Any:
        if self.future is not None and day is not None and day > self.future[0]:
            today, zone = self.future
            raise NotAFit(
                f"date in the future: {day.isoformat()} is after today, "
                f"{today.isoformat()} in {zone}"
            )
        return day

    def _coerce(self, value: Any) -> Any:
        """dlt's own conversion (what its normalizer does before making a variant column)."""
        data_type = self.data_type
        assert data_type is not None
        try:
            from_type = py_type_to_sc_type(type(value))
        except TypeError:
            return value  # a type dlt itself will decide about
        if from_type == data_type:
            return value
        try:
            return coerce_value(data_type, from_type, value)  # type: ignore[arg-type]
        except (ValueError, TypeError, ArithmeticError):
            raise NotAFit(
                f"{raw_text(value)!r} is not a {data_type}{self._why_this_type()}"
            ) from None

    def _why_this_type(self) -> str:
        if self.origin == "table":
            return f" (the type of {self.name} in {self.table})"
        if self.origin == "source":
            return f" (the type of {self.name} in the source)"
        if self.origin == "inferred":
            return f" (the type of {self.name} in the rows before: declare its type in dlt.columns)"
        return ""


@dataclass
class RowChecker:
    """Makes each row fit its columns' types, or says why it cannot."""

    declared: Mapping[str, ColumnSpec]
    table_types: Mapping[str, str] = field(default_factory=dict)
    primary_key: Iterable[str] = ()
    table: str = ""
    today: date = field(default_factory=lambda: today_in("UTC"))
    time_zone: str = "UTC"

    def __post_init__(self) -> None:
        self.columns: dict[str, Column] = {}
        self._by_key: dict[str, Column] = {}
        self._parsers_for: dict[tuple[str, ...], list[Parse]] = {}
        for name, spec in self.declared.items():
            future = (
                (self.today, self.time_zone)
                if spec.data_type == "date" and not spec.allow_future
                else None
            )
            self.columns[name] = Column(name, spec.data_type, spec, "declared", self.table, future)
        for name, data_type in self.table_types.items():
            self.columns.setdefault(name, Column(name, data_type, None, "table", self.table))
        self.required: dict[str, str] = dict.fromkeys(
            (normalized(key) for key in self.primary_key), "missing required value (primary key)"
        )
        for name, spec in self.declared.items():
            if not spec.nullable:
                self.required[name] = "missing required value"

    @property
    def is_active(self) -> bool:
        """Whether Arrow items need checking (declared or required columns)."""
        return bool(self.declared or self.required)

    def column(self, key: str) -> Column:
        """The column a row key (any spelling) names, created on first sight."""
        column = self._by_key.get(key)
        if column is None:
            name = normalized(key)
            column = self.columns.get(name)
            if column is None:
                column = self.columns[name] = Column(name, None, None, "inferred", self.table)
            self._by_key[key] = column
        return column

    def pin(self, key: str, data_type: str, origin: str = "inferred") -> None:
        """Decide the type of a column that has none yet: the CSV reader's inference, or the
        type a source declares (``origin="source"``)."""
        column = self.column(key)
        if column.data_type is None or (origin == "source" and column.origin == "inferred"):
            column.data_type, column.origin = data_type, origin
            column.decided()

    def check(self, row: Mapping[str, Any]) -> tuple[dict[str, Any] | None, list[Problem]]:
        """The row with every value converted to its column's type, or the problems."""
        problems: list[Problem] = []
        out: dict[str, Any] = {}
        for key, value in row.items():
            column = self._by_key.get(key) or self.column(key)
            if value is None:
                out[key] = None
                continue
            if column.data_type is None:
                try:
                    column.data_type = py_type_to_sc_type(type(value))
                except TypeError:
                    out[key] = value
                    continue
                column.decided()
            try:
                out[key] = column.convert(value)
            except NotAFit as exc:
                problems.append(Problem(column.name, value, str(exc)))
        return self._finish(row, out, problems)

    def check_fields(
        self, names: list[str], fields: Iterable[str], nulls: frozenset[str] = frozenset({""})
    ) -> tuple[dict[str, Any] | None, list[Problem]]:
        """`check` for a CSV record: its fields in header order; one in `nulls` is null."""
        problems: list[Problem] = []
        out: dict[str, Any] = {}
        parsers = self._parsers(names)
        for name, parse, value in zip(names, parsers, fields, strict=True):
            if value in nulls:
                out[name] = None
                continue
            try:
                out[name] = parse(value)
            except NotAFit as exc:
                problems.append(Problem(name, value, str(exc)))
        return self._finish(out, out, problems)

    def _parsers(self, names: list[str]) -> list[Parse]:
        key = tuple(names)
        parsers = self._parsers_for.get(key)
        if parsers is None:
            parsers = self._parsers_for[key] = [self.column(name).parser() for name in names]
        return parsers

    def forget_parsers(self) -> None:
        """After pinning types: the CSV parsers are looked up again."""
        self._parsers_for = {}

    def _finish(
        self, row: Mapping[str, Any], out: dict[str, Any], problems: list[Problem]
    ) -> tuple[dict[str, Any] | None, list[Problem]]:
        if self.required:
            failed = {p.column for p in problems}
            for name, reason in self.required.items():
                if name not in failed and self._value(out, name) is None:
                    problems.append(Problem(name, None, reason))
        if problems:
            order = {name: index for index, name in enumerate(self._row_names(row))}
            problems.sort(key=lambda p: order.get(p.column or "", len(order)))
            return None, problems
        return out, []

    def _value(self, out: Mapping[str, Any], name: str) -> Any:
        if name in out:
            return out[name]
        for key, value in out.items():  # a source spelling of the column (OrderId)
            if self.column(key).name == name:
                return value
        return None

    def _row_names(self, row: Mapping[str, Any]) -> list[str]:
        names = [self.column(key).name for key in row]
        return names + [name for name in self.required if name not in names]

    # -- Arrow items -----------------------------------------------------------------------

    def check_arrow(
        self, item: pa.Table | pa.RecordBatch, origin_of: Callable[[int], Origin]
    ) -> tuple[pa.Table, list[Reject]]:
        """Declared and required columns of an Arrow item: converted, and rows that do not
        fit taken out (as rejects). Other columns are dlt's, as Arrow types them. A column
        already of its declared type is checked vectorized; one to convert (text dates) is
        converted value by value."""
        table = item if isinstance(item, pa.Table) else pa.Table.from_batches([item])
        names = {normalized(name): index for index, name in enumerate(table.column_names)}
        rows = table.num_rows
        problems: dict[int, list[Problem]] = {}

        def found(positions: Iterable[int], name: str, reason: str, values: Any = None) -> None:
            for position in positions:
                raw = None if values is None else values[position].as_py()
                problems.setdefault(position, []).append(Problem(name, raw, reason))

        for name in dict.fromkeys([*self.declared, *self.required]):
            index = names.get(name)
            if index is None:
                if name in self.required:
                    found(range(rows), name, self.required[name])
                continue
            spec = self.declared.get(name)
            values = table.column(index)
            if spec is None or values.type == arrow_type(spec):
                if name in self.required:
                    found(_true(pc.is_null(values)), name, self.required[name])
                column = self.columns.get(name)
                if column is not None and column.future is not None:
                    later = pc.fill_null(pc.greater(values, pa.scalar(self.today)), False)
                    for position in _true(later):
                        try:
                            column.convert(values[position].as_py())
                        except NotAFit as exc:
                            found([position], name, str(exc), values)
                continue
            table = table.set_column(
                index, table.field(index).name, self._converted(name, values, problems)
            )
        rejects = [
            Reject.of(origin_of(position), found_here, table.slice(position, 1).to_pylist()[0])
            for position, found_here in sorted(problems.items())
        ]
        if problems:
            keep = np.ones(rows, dtype=bool)
            keep[list(problems)] = False
            table = table.filter(pa.array(keep))
        return table, rejects

    def _converted(
        self, name: str, values: pa.ChunkedArray, problems: dict[int, list[Problem]]
    ) -> pa.Array:
        """A declared column converted value by value (text to its type)."""
        column = self.columns[name]
        assert column.spec is not None
        converted: list[Any] = []
        for position, value in enumerate(values.to_pylist()):
            result = None
            if value is None:
                if name in self.required:
                    problems.setdefault(position, []).append(
                        Problem(name, None, self.required[name])
                    )
            else:
                try:
                    result = column.convert(value)
                except NotAFit as exc:
                    problems.setdefault(position, []).append(Problem(name, value, str(exc)))
            converted.append(result)
        return pa.array(converted, type=arrow_type(column.spec))


def _true(mask: pa.ChunkedArray | pa.Array) -> list[int]:
    """Positions where a boolean mask is true."""
    return np.flatnonzero(mask.to_numpy(zero_copy_only=False)).tolist()


def infer_text_type(values: Iterable[str]) -> str | None:
    """The type of a text column from its values (a CSV chunk), as pandas would read it:
    bigint, double, bool or text; None when there is no value to tell."""
    candidates = {"bigint", "double", "bool"}
    seen = False
    for text in values:
        seen = True
        if "bigint" in candidates and not (
            _INTEGER.match(text) and INT64[0] <= int(text) <= INT64[1]
        ):
            candidates.discard("bigint")
        if "double" in candidates and not _NUMBER.match(text):
            candidates.discard("double")
        if "bool" in candidates and text.strip().lower() not in ("true", "false"):
            candidates.discard("bool")
        if not candidates:
            return "text"
    if not seen:
        return None
    for data_type in ("bigint", "double", "bool"):
        if data_type in candidates:
            return data_type
    return "text"
