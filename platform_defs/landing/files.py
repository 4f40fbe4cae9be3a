"""Listing and hashing landing-zone files: the only filesystem work a sensor tick does."""

from __future__ import annotations

import fnmatch
import hashlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HASH_BUFFER_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class ListedFile:
    """One file as a listing saw it."""

    name: str
    """Path relative to the pipeline's folder, with ``/`` separators (dlt's relative_path)."""
    size_bytes: int
    mtime_ns: int


def list_files(folder: Path, file_glob: str) -> dict[str, ListedFile]:
    """The files under `folder` matching `file_glob` (dlt's filesystem glob: a pattern without
    ``/`` matches names in `folder` itself; ``**`` descends), by relative name.

    One ``scandir`` per directory and the ``stat`` it already holds: no open, no read.
    """
    found: dict[str, ListedFile] = {}
    if not folder.is_dir():
        return found
    recursive = "/" in file_glob or "**" in file_glob
    matches = _matcher(file_glob, recursive)
    stack = [(folder, "")]
    while stack:
        directory, prefix = stack.pop()
        with os.scandir(directory) as entries:
            for entry in entries:
                name = f"{prefix}{entry.name}"
                if entry.is_dir(follow_symlinks=True):
                    if recursive:
                        stack.append((Path(entry.path), f"{name}/"))
                    continue
                if not matches(name):
                    continue
                stat = entry.stat()
                found[name] = ListedFile(name, stat.st_size, stat.st_mtime_ns)
    return found


def _matcher(file_glob: str, recursive: bool) -> Callable[[str], bool]:
    """The glob compiled once per listing (fnmatchcase per name costs a cache lookup each)."""
    whole = re.compile(fnmatch.translate(file_glob)).match
    if recursive and file_glob.startswith("**/"):
        # `**/x*.csv` also matches `x1.csv` at the top, as fsspec's glob does
        top = re.compile(fnmatch.translate(file_glob[3:])).match
        return lambda name: whole(name) is not None or top(name) is not None
    return lambda name: whole(name) is not None


def sha256_file(path: Path) -> str:
    """SHA-256 of the file's bytes, hex (``hashlib.file_digest``: a C loop, no Python per block)."""
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()
