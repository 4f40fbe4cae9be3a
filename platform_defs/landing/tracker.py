"""What a landing sensor tick finds: files new or changed since the manifest last saw them.

The listing cache (``ops.landing_files``) makes an unchanged tick one directory listing and
one query: a file whose size and mtime match its row costs no open and no hash. A file whose
size or mtime moved since the last listing is *settling* (still being written, perhaps) and is
hashed only once two listings agree. A stable file whose (name, checksum) the manifest holds
as ingested or failed is *settled* and never looked at again until it changes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import cast

from sqlalchemy import Table, bindparam, delete, select, tuple_, update
from sqlalchemy.orm import Session

from platform_defs.landing.files import ListedFile, list_files, sha256_file
from platform_defs.ops.models import LandingFile, ManifestStatus, utc_now
from platform_defs.ops.store import _insert, manifest_versions, mark_failed

SETTLED = (ManifestStatus.INGESTED, ManifestStatus.FAILED)


@dataclass(frozen=True)
class Candidate:
    """A stable file version the manifest does not hold as ingested or failed."""

    source_filename: str
    """Relative to the landing-zone root (the manifest's name)."""
    name: str
    """Relative to the pipeline's folder (what the plugin reads)."""
    checksum: str
    size_bytes: int
    previous_run_id: str | None = None
    """The run that last tried it and ended without recording it (a crash), if any."""


@dataclass
class Scan:
    """One tick's findings for one pipeline."""

    candidates: list[Candidate] = field(default_factory=list)
    settling: list[str] = field(default_factory=list)
    """Files that changed since the last listing: looked at again next tick."""
    in_progress: list[str] = field(default_factory=list)
    """Files a run still in progress is loading."""
    gave_up: list[str] = field(default_factory=list)
    """Files whose runs kept ending without recording them: now marked failed."""
    listed: int = 0
    hashed: int = 0
    removed: int = 0
    digest: str = ""
    """SHA-256 of the listing (name, size, mtime of every file)."""
    skipped: bool = False
    """The listing equals the last quiet one: nothing was read from the ops store."""

    @property
    def quiet(self) -> bool:
        """Nothing to do, nothing pending: a next tick with the same listing can skip."""
        return not (self.candidates or self.settling or self.in_progress or self.hashed)


def listing_digest(listed: dict[str, ListedFile]) -> str:
    """One hash of what a listing saw: equal digests, equal (name, size, mtime) sets."""
    digest = hashlib.sha256()
    for name in sorted(listed):
        file = listed[name]
        digest.update(f"{name}\0{file.size_bytes}\0{file.mtime_ns}\n".encode())
    return digest.hexdigest()


def scan_pipeline(
    session: Session,
    *,
    pipeline: str,
    folder: Path,
    file_glob: str,
    prefix: str,
    run_is_active: Callable[[str], bool],
    max_attempts: int,
    at: datetime | None = None,
    quiet_digest: str | None = None,
) -> Scan:
    """List `folder`, update the cache, and return what needs a run (see the module doc).

    `quiet_digest`: the digest of the last quiet tick's listing (the sensor keeps it in its
    cursor). When this listing has the same digest, no file changed since a tick that found
    nothing to do, and the ops store is not read at all."""
    now = at or utc_now()
    listed = list_files(folder, file_glob)
    scan = Scan(listed=len(listed), digest=listing_digest(listed))
    if quiet_digest is not None and scan.digest == quiet_digest:
        scan.skipped = True
        return scan
    cache = cast(Table, LandingFile.__table__)
    # plain tuples, all rows at once: a Row's attribute lookups cost more than the comparison
    known = {
        path: (size, mtime, checksum, settled)
        for path, size, mtime, checksum, settled in session.execute(
            select(
                cache.c.path,
                cache.c.size_bytes,
                cache.c.mtime_ns,
                cache.c.checksum,
                cache.c.settled,
            ).where(cache.c.pipeline == pipeline)
        ).all()
    }
    moved: list[ListedFile] = []
    hashed: dict[str, tuple[ListedFile, str]] = {}
    unsettled: dict[str, tuple[ListedFile, str]] = {}
    seen: set[str] = set()
    for name, file in listed.items():
        path = prefix + name
        seen.add(path)
        row = known.get(path)
        if row is None or row[0] != file.size_bytes or row[1] != file.mtime_ns:
            moved.append(file)
            scan.settling.append(path)
        elif row[2] is None:
            checksum = sha256_file(folder / name)
            hashed[path] = (file, checksum)
            unsettled[path] = (file, checksum)
        elif not row[3]:
            unsettled[path] = (file, str(row[2]))
    scan.hashed = len(hashed)
    if moved:
        rows = [
            {
                "pipeline": pipeline,
                "path": f"{prefix}{file.name}",
                "size_bytes": file.size_bytes,
                "mtime_ns": file.mtime_ns,
                "checksum": None,
                "settled": False,
                "seen_at": now,
            }
            for file in moved
        ]
        for start in range(0, len(rows), 500):
            statement = _insert(session, LandingFile).values(rows[start : start + 500])
            session.execute(
                statement.on_conflict_do_update(
                    index_elements=["pipeline", "path"],
                    set_={
                        name: statement.excluded[name]
                        for name in ("size_bytes", "mtime_ns", "checksum", "settled", "seen_at")
                    },
                )
            )
    if hashed:  # one executemany, not one statement per file
        session.execute(
            update(cache)
            .where(cache.c.pipeline == bindparam("b_pipeline"), cache.c.path == bindparam("b_path"))
            .values(checksum=bindparam("b_checksum"), seen_at=bindparam("b_seen_at")),
            [
                {"b_pipeline": pipeline, "b_path": path, "b_checksum": checksum, "b_seen_at": now}
                for path, (_, checksum) in hashed.items()
            ],
        )
    gone = [path for path in known if path not in seen]
    for start in range(0, len(gone), 500):
        session.execute(
            delete(LandingFile).where(
                LandingFile.pipeline == pipeline, LandingFile.path.in_(gone[start : start + 500])
            )
        )
    scan.removed = len(gone)
    if unsettled:
        _decide(session, pipeline, prefix, unsettled, run_is_active, max_attempts, scan, now)
    return scan


def _decide(
    session: Session,
    pipeline: str,
    prefix: str,
    unsettled: dict[str, tuple[ListedFile, str]],
    run_is_active: Callable[[str], bool],
    max_attempts: int,
    scan: Scan,
    now: datetime,
) -> None:
    versions = manifest_versions(session, pipeline, list(unsettled))
    settled: list[tuple[str, str]] = []
    for path, (file, checksum) in sorted(unsettled.items()):
        row = versions.get((path, checksum))
        if row is not None and row.status in SETTLED:
            settled.append((path, checksum))
            continue
        previous = None
        if row is not None and row.status == ManifestStatus.PENDING and row.run_id:
            if run_is_active(row.run_id):
                scan.in_progress.append(path)
                continue
            if row.attempts >= max_attempts:
                mark_failed(
                    session,
                    pipeline=pipeline,
                    source_filename=path,
                    checksum=checksum,
                    size_bytes=file.size_bytes,
                    error=(
                        f"{row.attempts} run(s) ended without recording this file (the last, "
                        f"{row.run_id}, crashed or was killed); not retried until it changes"
                    ),
                    run_id=row.run_id,
                    at=now,
                )
                settled.append((path, checksum))
                scan.gave_up.append(path)
                continue
            previous = row.run_id
        scan.candidates.append(
            Candidate(path, path.removeprefix(prefix), checksum, file.size_bytes, previous)
        )
    mark_settled(session, pipeline, settled)


def mark_settled(session: Session, pipeline: str, versions: list[tuple[str, str]]) -> None:
    """The manifest now records these (file, checksum) versions: skip them on later ticks."""
    for start in range(0, len(versions), 500):
        chunk = versions[start : start + 500]
        session.execute(
            update(LandingFile)
            .where(
                LandingFile.pipeline == pipeline,
                tuple_(LandingFile.path, LandingFile.checksum).in_(chunk),
            )
            .values(settled=True)
        )
