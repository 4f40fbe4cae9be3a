"""Whole-file checks of a landing-zone file before its run loads it.

A landing file is the unit the manifest records: one that cannot be read as a whole — empty,
a header without the declared columns, not in its encoding, a truncated gzip, not Parquet — is
refused whole (its manifest row says ``failed`` and why) while the other files of the run
still land. Row-level problems (a bad value, a short line) stay rejected *rows*
(``<table>__rejected``), decided by the plugin's readers.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import zlib
from collections.abc import Collection, Iterator
from pathlib import Path

import pyarrow.parquet as pq

GZIP_MAGIC = b"\x1f\x8b"
BLOCK_BYTES = 1 << 20


def file_problem(
    path: Path,
    fmt: str,
    *,
    encoding: str = "utf-8",
    delimiter: str = ",",
    quotechar: str = '"',
    required_columns: Collection[str] = (),
    normalize: object = None,
) -> str | None:
    """Why `path` cannot be loaded as a whole, or None. `required_columns` (table names, as
    the declared ``columns`` give them) must all be in a CSV header; `normalize` maps a
    header name to its table name (the plugin's identifier normalization)."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"
    if size == 0:
        return "is empty (0 bytes)"
    if fmt == "parquet":
        return _parquet_problem(path)
    try:
        decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    except LookupError:
        return f"names an unknown encoding {encoding!r}"
    header: str | None = None
    data_lines = 0
    pending = ""
    offset = 0
    try:
        for block in _content_blocks(path):
            try:
                text = decoder.decode(block)
            except UnicodeDecodeError as exc:
                return f"is not valid {encoding} (byte {offset + exc.start:,}): {exc.reason}"
            offset += len(block)
            if data_lines:
                continue  # the header and a row are known: the rest is only decoded
            *complete, pending = (pending + text).split("\n")
            for line in complete:
                if not line.strip():
                    continue
                if header is None and fmt == "csv":
                    header = line
                else:
                    data_lines += 1
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        return f"is not valid {encoding} (it ends inside a character): {exc.reason}"
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        return f"is a truncated or corrupt gzip file: {exc}"
    if not data_lines and pending.strip():
        if header is None and fmt == "csv":
            header = pending
        else:
            data_lines += 1
    if header is None and fmt == "csv":
        return "has no header line (only blank lines)"
    if fmt == "csv" and header is not None:
        problem = _header_problem(header, delimiter, quotechar, required_columns, normalize)
        if problem:
            return problem
    if data_lines == 0:
        return "has a header but no data rows" if fmt == "csv" else "has no records"
    return None


def _content_blocks(path: Path) -> Iterator[bytes]:
    """The file's bytes, gunzipped when it is a gzip file (by its magic bytes)."""
    with path.open("rb") as raw:
        gzipped = raw.read(2) == GZIP_MAGIC
        raw.seek(0)
        stream: io.BufferedIOBase = gzip.GzipFile(fileobj=raw) if gzipped else raw  # type: ignore[assignment]
        while block := stream.read(BLOCK_BYTES):
            yield block


def _header_problem(
    header: str,
    delimiter: str,
    quotechar: str,
    required: Collection[str],
    normalize: object,
) -> str | None:
    names = next(
        csv.reader(
            [header.removeprefix("\ufeff").rstrip("\r")], delimiter=delimiter, quotechar=quotechar
        )
    )
    names = [name.strip() for name in names]
    if not any(names):
        return "has an empty header line"
    as_table = [normalize(name) if callable(normalize) else name for name in names]
    missing = [column for column in required if column not in as_table]
    if missing:
        return (
            f"has a wrong header: declared column(s) {', '.join(missing)} missing "
            f"(header: {', '.join(names)})"
        )
    duplicated = sorted({name for name in as_table if as_table.count(name) > 1})
    if duplicated:
        return f"has a wrong header: column(s) {', '.join(duplicated)} appear twice"
    return None


def _parquet_problem(path: Path) -> str | None:
    try:
        metadata = pq.read_metadata(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid/OSError for a non-Parquet file
        return f"is not a readable Parquet file: {exc}"
    if metadata.num_rows == 0:
        return "has no records"
    return None
