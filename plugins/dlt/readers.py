"""floe's file readers for ``dlt.sources.filesystem``: rows with their file and line.

dlt's own CSV reader (pandas) fails the whole run on one line with too many fields, and keeps
no line numbers; its JSONL reader fails on one bad line. These read line by line, so that a
malformed line is a rejected row (file, line, the raw line, the reason) and the rest of the
file — and every other file — still lands. Each row is then checked by the run's
:class:`~plugins.dlt.columns.RowChecker` (declared types, the table's types, required values).

* CSV (Python's ``csv`` module): the first non-blank line is the header; an empty field (or one
  of ``na_values``) is null; a line with more or fewer fields than the header is rejected; a
  column neither declared nor in the table gets the type pandas would give its values in the
  first chunk that has any (bigint, double, bool, else text), and keeps it for the load.
* JSONL: one JSON object per line; anything else on a line is rejected.
* Parquet: dlt's reader; declared columns are converted (dict rows and Arrow batches alike).
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from dlt.common import json as dlt_json

from plugins.base import PermanentIngestionError
from plugins.dlt.columns import Origin, Problem, Reject, RowChecker, infer_text_type, normalized
from plugins.dlt.rejects import RejectSink

DEFAULT_CHUNK = 10_000


class _Lines:
    """The decoded lines of a binary file, read a block at a time (a file object's own line
    iteration costs a Python call per line through fsspec), kept until the reader has checked
    them (the raw text of a rejected record), with the numbers of lines that do not decode."""

    def __init__(self, stream: Any, encoding: str, block: int = 1 << 20) -> None:
        self.kept: list[str] = []
        self.first_kept = 1
        """The line number of ``kept[0]``."""
        self.undecodable: set[int] = set()
        # split on b"\n" only where the encoding writes "\n" as that byte (not UTF-16/32)
        ascii_lines = "\n".encode(encoding) == b"\n"
        self._lines = (
            self._blocks(stream, encoding, block)
            if ascii_lines
            else iter(codecs.getreader(encoding)(stream))
        )
        self._number = 0

    def __iter__(self) -> Iterator[str]:
        for number, line in enumerate(self._lines, start=1):
            if number == 1:
                line = line.removeprefix("\ufeff")  # a UTF-8 byte order mark
            self._number = number
            self.kept.append(line)
            yield line

    def _blocks(self, stream: Any, encoding: str, block: int) -> Iterator[str]:
        rest = b""
        number = 0
        while True:
            data = stream.read(block)
            buffer = rest + data if data else rest
            cut = buffer.rfind(b"\n") + 1 if data else len(buffer)
            head, rest = buffer[:cut], buffer[cut:]
            if head:
                try:
                    lines = head.decode(encoding).split("\n")
                except UnicodeDecodeError:
                    lines = []
                    for offset, raw in enumerate(head.split(b"\n"), start=1):
                        try:
                            lines.append(raw.decode(encoding))
                        except UnicodeDecodeError:
                            lines.append(raw.decode(encoding, errors="replace"))
                            self.undecodable.add(number + offset)
                if lines[-1] == "":
                    lines.pop()  # after the last newline
                    yield from (line + "\n" for line in lines)
                else:  # the end of the file, without a newline
                    yield from (line + "\n" for line in lines[:-1])
                    yield lines[-1]
                number += len(lines)
            if not data:
                return

    def raw(self, first: int, last: int) -> str:
        """The text of lines `first`..`last` (one record), without the final newline."""
        start = first - self.first_kept
        return "".join(self.kept[start : last - self.first_kept + 1]).rstrip("\r\n")

    def bad(self, first: int, last: int) -> bool:
        return bool(self.undecodable) and any(
            number in self.undecodable for number in range(first, last + 1)
        )

    def release(self, through: int) -> None:
        """Forget the lines up to `through` (checked)."""
        del self.kept[: through - self.first_kept + 1]
        self.first_kept = through + 1


def _file_name(item: Mapping[str, Any]) -> str:
    return str(item.get("file_url") or item.get("file_name"))


Record = tuple[list[str], int, int, int]
"""A CSV record's fields, its number, its first and last line."""


def read_csv(
    item: Any,
    checker: RowChecker,
    sink: RejectSink,
    *,
    sep: str = ",",
    delimiter: str | None = None,
    quotechar: str = '"',
    escapechar: str | None = None,
    doublequote: bool = True,
    skipinitialspace: bool = False,
    encoding: str = "utf-8",
    na_values: Iterable[str] = ("",),
    chunksize: int = DEFAULT_CHUNK,
) -> Iterator[list[dict[str, Any]]]:
    name = _file_name(item)
    nulls = frozenset(na_values) | {""}
    with item.open(mode="rb") as stream:
        lines = _Lines(stream, encoding)
        reader = csv.reader(
            iter(lines),
            delimiter=delimiter or sep,
            quotechar=quotechar,
            escapechar=escapechar,
            doublequote=doublequote,
            skipinitialspace=skipinitialspace,
        )
        header: list[str] | None = None
        for fields in reader:
            if fields:
                header = fields
                break
        if header is None:  # an empty file: nothing, not even columns
            return
        names = [normalized(column) for column in header]
        _unique(names, header, name)
        sink.columns(names)
        width = len(names)
        lines.release(reader.line_num)
        chunk: list[Record] = []
        rejects: list[Reject] = []
        record = 0
        last = reader.line_num
        while True:
            first = last + 1
            try:
                fields = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                last = reader.line_num
                record += 1
                raw = lines.raw(first, last)
                problem = Problem(None, raw, f"malformed line: {exc}")
                rejects.append(Reject.of(Origin(name, record, first), [problem], raw))
                continue
            last = reader.line_num
            if not fields:
                continue  # a blank line
            record += 1
            if len(fields) != width or lines.bad(first, last):
                raw = lines.raw(first, last)
                reason = (
                    f"malformed line: not valid {encoding}"
                    if lines.bad(first, last)
                    else f"malformed line: {len(fields)} fields, the header has {width}"
                )
                problem = Problem(None, raw, reason)
                rejects.append(Reject.of(Origin(name, record, first), [problem], raw))
            else:
                chunk.append((fields, record, first, last))
            if len(chunk) >= chunksize:
                yield from _checked(chunk, names, nulls, checker, sink, rejects, lines, name)
                lines.release(last)
                chunk, rejects = [], []
        yield from _checked(chunk, names, nulls, checker, sink, rejects, lines, name)


def _unique(names: list[str], header: list[str], file_name: str) -> None:
    seen: dict[str, str] = {}
    for column, original in zip(names, header, strict=True):
        if column in seen:
            raise PermanentIngestionError(
                "SOURCE_UNREADABLE",
                f"cannot read {file_name}: header columns {seen[column]!r} and {original!r} "
                f"are the same column {column!r}",
                source=file_name,
                details={"file": file_name},
            )
        seen[column] = original


def _checked(
    chunk: list[Record],
    names: list[str],
    nulls: frozenset[str],
    checker: RowChecker,
    sink: RejectSink,
    rejects: list[Reject],
    lines: _Lines,
    file_name: str,
) -> Iterator[list[dict[str, Any]]]:
    """Type the chunk's undecided columns, check every row, keep the rejects."""
    for position, column in enumerate(names):
        if checker.column(column).data_type is None:
            data_type = infer_text_type(
                value for fields, *_ in chunk if (value := fields[position]) not in nulls
            )
            if data_type is not None:
                checker.pin(column, data_type)
                checker.forget_parsers()
    good = []
    for fields, record, first, last in chunk:
        out, problems = checker.check_fields(names, fields, nulls)
        if problems:
            raw = lines.raw(first, last)
            rejects.append(Reject.of(Origin(file_name, record, first), problems, raw))
        else:
            good.append(out)
    rejects.sort(key=lambda reject: reject.record_number or 0)
    if rejects:
        sink.add(rejects)
    if good:
        yield good  # type: ignore[misc]


def read_jsonl(
    item: Any,
    checker: RowChecker,
    sink: RejectSink,
    *,
    encoding: str = "utf-8",
    chunksize: int = 1000,
) -> Iterator[list[dict[str, Any]]]:
    name = _file_name(item)
    good: list[dict[str, Any]] = []
    rejects: list[Reject] = []
    record = 0
    with item.open(mode="rb") as stream:
        for line, data in enumerate(stream, start=1):
            text = data.decode(encoding, errors="replace").rstrip("\r\n")
            if line == 1:
                text = text.removeprefix("\ufeff")
            if not text.strip():
                continue
            record += 1
            origin = Origin(name, record, line)
            try:
                row = dlt_json.loads(text)
            except ValueError as exc:
                reason = f"malformed line: {str(exc).splitlines()[0] if str(exc) else exc}"
                rejects.append(Reject.of(origin, [Problem(None, text, reason)], text))
                continue
            if not isinstance(row, dict):
                problem = Problem(None, text, "malformed line: not a JSON object")
                rejects.append(Reject.of(origin, [problem], text))
                continue
            out, problems = checker.check(row)
            if problems:
                rejects.append(Reject.of(origin, problems, text))
            else:
                good.append(out)  # type: ignore[arg-type]
            if len(good) >= chunksize:
                sink.add(rejects)
                yield good
                good, rejects = [], []
    sink.add(rejects)
    if good:
        yield good


def read_parquet(item: Any, checker: RowChecker, sink: RejectSink, **options: Any) -> Iterator[Any]:
    from dlt.sources.filesystem.readers import _read_parquet

    name = _file_name(item)
    offset = 0
    for batch in _read_parquet([item], **options):
        if isinstance(batch, list):
            good = []
            rejects = []
            for position, row in enumerate(batch, start=offset + 1):
                out, problems = checker.check(row)
                if problems:
                    rejects.append(Reject.of(Origin(name, position), problems, row))
                else:
                    good.append(out)
            offset += len(batch)
            sink.add(rejects)
            if good:
                yield good
            continue
        rows = batch.num_rows
        if checker.is_active:
            table, rejects = checker.check_arrow(batch, _numbered(name, offset))
            sink.add(rejects)
            batch = table
        offset += rows
        if batch.num_rows:
            yield batch


def _numbered(file_name: str | None, offset: int) -> Callable[[int], Origin]:
    """Origins of an Arrow item's rows: record numbers continue from `offset`."""

    def origin(position: int) -> Origin:
        return Origin(file_name, offset + position + 1)

    return origin


READERS: dict[str, Callable[..., Iterator[Any]]] = {
    "csv": read_csv,
    "jsonl": read_jsonl,
    "parquet": read_parquet,
}


def checking_step(checker: RowChecker, sink: RejectSink) -> Callable[[Any], Any]:
    """The check as a step of a resource that is not a file (custom, rest_api,
    sql_database), numbering the records it sees."""
    counter = [0]

    def check(items: Any) -> Any:
        return check_items(items, checker, sink, counter)

    return check


def check_items(items: Any, checker: RowChecker, sink: RejectSink, counter: list[int]) -> Any:
    """The checks for a source that is not a file (custom, rest_api, sql_database): a dlt
    step over each item the resource yields; ``counter`` numbers the records."""
    if isinstance(items, dict):
        rows: list[Any] = [items]
    elif isinstance(items, list):
        rows = items
    else:
        return _check_table(items, checker, sink, counter)
    good = []
    rejects = []
    for row in rows:
        counter[0] += 1
        if not isinstance(row, dict):
            good.append(row)
            continue
        out, problems = checker.check(row)
        if problems:
            rejects.append(Reject.of(Origin(None, counter[0]), problems, row))
        else:
            good.append(out)
    sink.add(rejects)
    if isinstance(items, dict):
        return good[0] if good else None
    return good or None


def _check_table(item: Any, checker: RowChecker, sink: RejectSink, counter: list[int]) -> Any:
    import pyarrow as pa

    if not checker.is_active:
        rows = getattr(item, "num_rows", None)
        counter[0] += rows if isinstance(rows, int) else 0
        return item
    if hasattr(item, "to_arrow") and not isinstance(item, pa.Table | pa.RecordBatch):
        item = item.to_arrow()
    elif type(item).__module__.startswith("pandas"):
        item = pa.Table.from_pandas(item, preserve_index=False)
    if not isinstance(item, pa.Table | pa.RecordBatch):
        return item
    start = counter[0]
    counter[0] += item.num_rows
    table, rejects = checker.check_arrow(item, _numbered(None, start))
    sink.add(rejects)
    return table if table.num_rows else None
