"""Packages set aside: loads that could not be committed, kept with the reason.

A package that fails to commit for a reason a retry cannot fix (a column type Iceberg cannot
convert, a missing primary key) would otherwise be committed first on every later run and
fail it again: the pipeline wedges. Instead its parquet files move to
``<work_dir>/<pipeline>/set_aside/<load_id>/`` with ``reason.json``, the run fails with the
error, and the next run goes on. ``floe packages list | retry | discard`` acts on them: a
retry commits the files through the shared write path (without their dlt state, so the
pipeline's cursors are not rewound), e.g. after the table's schema was fixed by hand.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

SET_ASIDE_DIR = "set_aside"
REASON_FILE = "reason.json"


@dataclass(frozen=True)
class SetAsidePackage:
    pipeline: str
    load_id: str
    path: Path
    reason: dict[str, Any]

    @property
    def files(self) -> list[Path]:
        return sorted(self.path.glob("*.parquet"))

    @property
    def rows(self) -> int:
        return sum(pq.read_metadata(path).num_rows for path in self.files)

    def as_dict(self) -> dict[str, Any]:
        return {
            "pipeline": self.pipeline,
            "load_id": self.load_id,
            "path": str(self.path),
            "files": len(self.files),
            "rows": self.rows,
            "set_aside_at": self.reason.get("set_aside_at"),
            "category": self.reason.get("category"),
            "code": self.reason.get("code"),
            "message": self.reason.get("message"),
        }


def set_aside_package(
    pipeline_dir: Path,
    pipeline: str,
    load_id: str,
    files: Sequence[Path],
    *,
    reason: Mapping[str, Any],
) -> Path:
    """Copy the package's files for the table aside with the reason (then dlt may drop it)."""
    target = pipeline_dir / SET_ASIDE_DIR / load_id
    partial = target.with_name(f".{load_id}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    for index, source in enumerate(files):
        shutil.copyfile(source, partial / f"{index:05d}-{source.name}")
    record = {
        **dict(reason),
        "pipeline": pipeline,
        "load_id": load_id,
        "set_aside_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    (partial / REASON_FILE).write_text(json.dumps(record, indent=2, default=str))
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)  # atomic: a crash leaves a .partial dir, never half a package
    return target


def list_set_aside(work_dir: Path, pipeline: str | None = None) -> list[SetAsidePackage]:
    """Every set-aside package under the plugin's work dir (one sub-dir per pipeline)."""
    packages = []
    pipeline_dirs = [work_dir / pipeline] if pipeline else sorted(work_dir.glob("*"))
    for pipeline_dir in pipeline_dirs:
        for path in sorted((pipeline_dir / SET_ASIDE_DIR).glob("*")):
            reason_file = path / REASON_FILE
            if path.name.startswith(".") or not reason_file.exists():
                continue
            reason = json.loads(reason_file.read_text())
            packages.append(SetAsidePackage(pipeline_dir.name, path.name, path, reason))
    return packages


def find_set_aside(work_dir: Path, pipeline: str, load_id: str) -> SetAsidePackage:
    for package in list_set_aside(work_dir, pipeline):
        if package.load_id == load_id:
            return package
    raise LookupError(f"no set-aside package {load_id} for pipeline {pipeline} in {work_dir}")


def discard(package: SetAsidePackage) -> None:
    shutil.rmtree(package.path)
