"""What "the table is exact and nothing is left behind" means, as lists of problems.

Each check returns the problems it found (empty: all is well), so a test asserts ``== []``
and sees every problem at once, and the checker's own test can assert it finds a planted one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pyarrow.parquet as pq
from pyiceberg.table import Table

from plugins.iceberg import LOAD_ID_PROPERTY

LOAD_ID_COLUMN = "_dlt_load_id"


def local_path(location: str) -> Path:
    parsed = urlparse(location)
    return Path(parsed.path if parsed.scheme in ("file", "") else location)


def referenced_files(table: Table) -> dict[str, list[int]]:
    """Every data file any snapshot references -> the snapshots referencing it (no snapshot
    is ever expired in these tests, so each must still be there)."""
    files: dict[str, list[int]] = {}
    for snapshot in table.snapshots():
        for manifest in snapshot.manifests(table.io):
            for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True):
                files.setdefault(entry.data_file.file_path, []).append(snapshot.snapshot_id)
    return files


def orphan_files(table: Table) -> list[Path]:
    """Data files in the table's data dir that no snapshot references (harmless: written by
    an attempt that died before its commit; table maintenance sweeps them)."""
    referenced = {local_path(path) for path in referenced_files(table)}
    data_dir = local_path(table.location()) / "data"
    return sorted(p for p in data_dir.rglob("*.parquet") if p not in referenced)


def load_ids(table: Table) -> list[str]:
    """The ``floe.load_id`` of every snapshot, oldest first."""
    found = []
    for snapshot in table.snapshots():
        load_id = snapshot.summary.get(LOAD_ID_PROPERTY) if snapshot.summary else None
        if load_id:
            found.append(str(load_id))
    return found


def table_problems(
    table: Table,
    expected: Iterable[Mapping[str, Any]],
    *,
    key: str = "id",
    columns: Sequence[str] = ("id", "value", "version"),
) -> list[str]:
    """The current snapshot holds exactly `expected` (business columns, compared sorted by
    `key`), every referenced data file exists and reads, and no load is in two snapshots."""
    problems = []
    for location, snapshots in referenced_files(table).items():
        path = local_path(location)
        if not path.exists():
            problems.append(f"missing data file {location} (snapshots {snapshots})")
            continue
        try:
            pq.read_metadata(path)
        except Exception as exc:
            problems.append(f"unreadable data file {location}: {exc}")
    for load_id, times in Counter(load_ids(table)).items():
        if times > 1:
            problems.append(f"load {load_id} committed in {times} snapshots")
    try:
        data = table.scan().to_arrow()
    except Exception as exc:
        return [*problems, f"table scan fails: {type(exc).__name__}: {exc}"]
    missing = [c for c in columns if c not in data.column_names]
    if missing:
        return [*problems, f"columns {missing} not in the table ({data.column_names})"]
    rows = sorted(data.select(list(columns)).to_pylist(), key=lambda row: row[key])
    want = sorted(({c: row[c] for c in columns} for row in expected), key=lambda row: row[key])
    duplicates = sorted(k for k, n in Counter(row[key] for row in rows).items() if n > 1)
    if duplicates:
        problems.append(f"duplicate {key}s {duplicates}")
    if rows != want:
        have_keys = {row[key] for row in rows}
        want_keys = {row[key] for row in want}
        changed = [row for row in rows if row[key] in want_keys and row not in want]
        problems.append(
            f"rows differ: lost {sorted(want_keys - have_keys)}, "
            f"unexpected {sorted(have_keys - want_keys)}, wrong values {changed[:5]}, "
            f"{len(rows)} rows instead of {len(want)}"
        )
    if LOAD_ID_COLUMN in data.column_names:
        committed = set(load_ids(table))
        strays = set(data.column(LOAD_ID_COLUMN).to_pylist()) - committed
        if strays:
            problems.append(f"rows carry load ids no snapshot committed: {sorted(strays)}")
    return problems


def package_problems(context: Any, config: Any) -> list[str]:
    """No dlt package of the pipeline is left: extracted, being normalized, normalized (not
    committed), completed (committed, not deleted), or set aside."""
    from plugins.dlt import DltIngestionPlugin
    from plugins.dlt.set_aside import list_set_aside

    handle = DltIngestionPlugin(context).create_pipeline(config)
    pipeline = handle.dlt_pipeline
    problems = []
    left = {
        "extracted": pipeline.list_extracted_load_packages(),
        "normalized": pipeline.list_normalized_load_packages(),
        "completed": pipeline.list_completed_load_packages(),
    }
    storage = pipeline._get_load_storage()
    if storage.is_storage_ready():
        left["new (being normalized)"] = storage.new_packages.list_packages()
    for stage, packages in left.items():
        if packages:
            problems.append(f"{stage} packages left: {sorted(packages)}")
    set_aside = list_set_aside(Path(context.work_dir), config.name)
    if set_aside:
        problems.append(f"set-aside packages: {[p.load_id for p in set_aside]}")
    return problems


PACKAGE_STAGES = {
    "extracted": ("normalize", "extracted"),
    "new": ("load", "new"),
    "normalized": ("load", "normalized"),
    "completed": ("load", "loaded"),
}
"""Where dlt keeps a pipeline's packages in each stage, under its working dir."""


def packages_on_disk(work_dir: Path, pipeline: str) -> dict[str, list[str]]:
    """The load ids in each stage, read from the working dir without dlt (nothing written)."""
    working_dir = work_dir / pipeline / f"floe_{pipeline}"
    found = {}
    for stage, parts in PACKAGE_STAGES.items():
        folder = working_dir.joinpath(*parts)
        found[stage] = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    return found
