"""The files under a table's location: comparable keys, listing with their age, deletion.

Orphan removal compares what the table references (URIs from its metadata) with what storage
holds (paths from a listing), so both are reduced to one key. A local warehouse is listed with
the standard library; object storage through the pyarrow filesystem behind pyiceberg's
``PyArrowFileIO``; any other FileIO cannot be listed here (:class:`ListingUnsupportedError`).
"""

from __future__ import annotations

import logging
import os
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlparse

from pyarrow.fs import FileSelector, FileType
from pyiceberg.io import FileIO
from pyiceberg.io.pyarrow import PyArrowFileIO

log = logging.getLogger(__name__)

_LOCAL_SCHEMES = ("", "file")


class ListingUnsupportedError(Exception):
    """This location cannot be listed with the table's FileIO; the message says why."""


@dataclass(frozen=True)
class StoredFile:
    """One file found under a table's location."""

    uri: str
    size: int
    modified: datetime
    """Last modification, timezone-aware (UTC)."""


def file_key(location: str) -> str:
    """What every spelling of one file has in common.

    ``file:///w/t/a.parquet`` and ``/w/t/a.parquet`` -> ``/w/t/a.parquet``; ``s3://b/k`` and
    ``s3a://b/k`` -> ``b/k``. No percent-decoding: pyiceberg's PyArrowFileIO writes the path of
    the URI as it is, so the listing sees the same characters."""
    parsed = urlparse(location)
    if parsed.scheme in _LOCAL_SCHEMES:
        return posixpath.normpath(parsed.path)
    return f"{parsed.netloc}/{parsed.path.lstrip('/')}"


def is_within(location: str, directory: str) -> bool:
    """Whether `location` is `directory` itself or lies below it."""
    inner, outer = file_key(location), file_key(directory).rstrip("/")
    return inner == outer or inner.startswith(outer + "/")


def list_files(io: FileIO, directory: str) -> Iterator[StoredFile]:
    """Every file below `directory` (recursively; symbolic links are not followed). A missing
    directory has no files."""
    parsed = urlparse(directory)
    if parsed.scheme in _LOCAL_SCHEMES:
        yield from _list_local(parsed.path)
        return
    if not isinstance(io, PyArrowFileIO):
        raise ListingUnsupportedError(
            f"cannot list {parsed.scheme}:// locations through {type(io).__name__}; orphan "
            "removal lists object storage with pyiceberg's PyArrowFileIO "
            "(catalog property py-io-impl=pyiceberg.io.pyarrow.PyArrowFileIO)"
        )
    scheme, netloc, path = io.parse_location(directory, io.properties)
    filesystem = io.fs_by_scheme(scheme, netloc)
    selector = FileSelector(path, recursive=True, allow_not_found=True)
    # hdfs paths come back without the namenode; other schemes as bucket/key.
    prefix = f"{scheme}://{netloc}" if scheme in ("hdfs", "viewfs") else f"{scheme}://"
    for info in filesystem.get_file_info(selector):
        if info.type != FileType.File:
            continue
        if info.mtime is None:  # no age known: never old enough to delete
            log.warning("no modification time for %s%s: kept", prefix, info.path)
            continue
        modified = info.mtime if info.mtime.tzinfo else info.mtime.replace(tzinfo=UTC)
        yield StoredFile(uri=f"{prefix}{info.path}", size=info.size or 0, modified=modified)


def _list_local(root: str) -> Iterator[StoredFile]:
    for directory, _, names in os.walk(root, followlinks=False):
        for name in names:
            path = os.path.join(directory, name)
            try:
                stat = os.lstat(path)
            except FileNotFoundError:  # deleted while we walked
                continue
            yield StoredFile(
                uri=f"file://{path}",
                size=stat.st_size,
                modified=datetime.fromtimestamp(stat.st_mtime, tz=UTC),
            )


def delete_file(io: FileIO, uri: str) -> bool:
    """Delete `uri` through the table's FileIO; False if it was already gone or could not be
    deleted (logged: a file left behind is an orphan for the next run, never an error)."""
    try:
        io.delete(uri)
    except FileNotFoundError:
        return False
    except OSError as exc:
        log.warning("could not delete %s: %s", uri, exc)
        return False
    return True


def exists(io: FileIO, uri: str) -> bool:
    try:
        return io.new_input(uri).exists()
    except OSError:
        return True  # unknown: do not claim it was removed
