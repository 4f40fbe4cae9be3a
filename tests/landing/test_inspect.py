"""Whole-file checks of landing files (platform_defs/landing/inspect.py)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from platform_defs.landing.inspect import file_problem

pytestmark = pytest.mark.unit

GOOD = b"Id,Day\n1,2026-01-01\n"


def problem(tmp_path: Path, content: bytes, fmt: str = "csv", **kwargs: object) -> str | None:
    path = tmp_path / "file"
    path.write_bytes(content)
    return file_problem(path, fmt, required_columns=["id", "day"], normalize=str.lower, **kwargs)  # type: ignore[arg-type]


def test_a_good_file_and_its_gzip_pass(tmp_path: Path) -> None:
    assert problem(tmp_path, GOOD) is None
    assert problem(tmp_path, gzip.compress(GOOD * 1000)) is None
    assert problem(tmp_path, "\ufeff".encode() + GOOD) is None  # a byte order mark


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param(b"", "is empty (0 bytes)", id="empty"),
        pytest.param(b"\n\n", "has no header line", id="blank"),
        pytest.param(b"Id,Day\n", "has a header but no data rows", id="header-only"),
        pytest.param(b"Id,Date\n1,2026-01-01\n", "declared column(s) day missing", id="header"),
        pytest.param(b"Id,Day,id\n1,2,3\n", "column(s) id appear twice", id="duplicate"),
        pytest.param(b"Id,Day\n1,caf\xe9\n", "is not valid utf-8", id="latin-1"),
        pytest.param(b"Id,Day\n1,\xe2\x82", "ends inside a character", id="cut-utf-8"),
        pytest.param(gzip.compress(GOOD * 1000)[:-12], "truncated or corrupt gzip", id="gzip"),
    ],
)
def test_a_bad_file_says_why(tmp_path: Path, content: bytes, expected: str) -> None:
    found = problem(tmp_path, content)
    assert found is not None and expected in found


def test_a_non_utf8_byte_deep_in_a_big_file_is_found(tmp_path: Path) -> None:
    content = GOOD + b"2,2026-01-02\n" * 200_000 + b"3,\xff\n"
    found = problem(tmp_path, content)
    assert found is not None and "not valid utf-8" in found


def test_parquet(tmp_path: Path) -> None:
    path = tmp_path / "data.parquet"
    pq.write_table(pa.table({"id": [1]}), path)
    assert file_problem(path, "parquet") is None
    pq.write_table(pa.table({"id": pa.array([], pa.int64())}), path)
    assert file_problem(path, "parquet") == "has no records"
    path.write_bytes(b"not parquet at all")
    assert "not a readable Parquet file" in (file_problem(path, "parquet") or "")
