"""Keep one Iceberg table bounded: metadata retention, compaction, snapshot expiry, orphans.

Each step takes a pyiceberg :class:`~pyiceberg.table.Table` and the manifest's
:class:`~platform_defs.config.MaintenancePolicy`; :func:`maintain_table` runs them in order and
returns a :class:`TableReport`. With ``dry_run`` nothing is committed or deleted: each step
plans on the table as it is and reports what it would remove.

What pyiceberg 0.12 does and does not do, and so what is done here:

* ``table.maintenance.expire_snapshots()`` only removes snapshots from the metadata; it
  deletes no file. The files only expired snapshots referenced (manifest lists, manifests,
  data and delete files, statistics) are deleted here, after the expiry commit landed.
* ``write.metadata.delete-after-commit.enabled`` and ``write.metadata.previous-versions-max``
  are honoured by pyiceberg's commit (``Catalog._delete_old_metadata``), so they are set on
  every table: each later commit, by any writer, deletes the metadata.json files that fall out
  of the log. Older leftovers (from before, or from failed commits) are orphans.
* No rewrite action exists: compaction reads the small files (``ArrowScan`` over their scan
  tasks), writes them again with pyiceberg's own writer and swaps them in one overwrite
  commit that deletes exactly those files.

Commits are retried on conflicts (stamina) by reloading the table and planning again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import stamina
from pyiceberg.exceptions import CommitFailedException, ValidationException
from pyiceberg.expressions import AlwaysTrue
from pyiceberg.io import FileIO

# Private: pyiceberg's append path writes rows as data files carrying the table's field ids
# this way; 0.12 has no public "write files for this table without committing" API.
from pyiceberg.io.pyarrow import ArrowScan, _dataframe_to_data_files
from pyiceberg.manifest import DataFile, DataFileContent, ManifestFile
from pyiceberg.table import FileScanTask, Table, TableProperties
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.table.snapshots import Snapshot, ancestors_of

from platform_defs.config import MaintenancePolicy
from platform_defs.maintenance.storage import (
    ListingUnsupportedError,
    StoredFile,
    delete_file,
    exists,
    file_key,
    is_within,
    list_files,
)

log = logging.getLogger(__name__)

Progress = Callable[[str], None]

MAINTENANCE_PROPERTY = "floe.maintenance"
"""Snapshot summary property of the snapshots maintenance commits (value: ``compaction``)."""
COMMIT_ATTEMPTS = 5
RETRYABLE_COMMIT_ERRORS = (CommitFailedException, ValidationException)
"""Both mean the commit did not land: a concurrent commit moved the table, or removed a file
this commit deletes. Reload and plan again."""


@dataclass
class TableReport:
    """What maintenance did to one table (or, with ``dry_run``, would do)."""

    table: str
    dry_run: bool = False
    exists: bool = True
    """False for a floe.yaml destination not created yet: nothing was done."""
    snapshots_before: int = 0
    snapshots_after: int = 0
    snapshots_expired: int = 0
    data_files_removed: int = 0
    """Data and delete files only expired snapshots referenced."""
    metadata_files_removed: int = 0
    """Manifest lists, manifests and statistics of expired snapshots, and metadata.json files
    dropped from the metadata log by the maintenance commits."""
    orphan_files_removed: int = 0
    orphan_bytes_removed: int = 0
    compacted_files_before: int = 0
    compacted_files_after: int = 0
    compaction_snapshot_id: int | None = None
    properties_set: dict[str, str] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)
    """Every file removed (or that would be), for the CLI's --verbose."""
    notes: list[str] = field(default_factory=list)
    """Steps skipped, and why."""


def maintain_table(
    table: Table,
    policy: MaintenancePolicy,
    *,
    dry_run: bool = False,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> TableReport:
    """Metadata retention, compaction, snapshot expiry, then orphan removal, on `table`."""
    now = now or datetime.now(UTC)
    say = progress or log.info
    name = ".".join(table.name())
    report = TableReport(table=name, dry_run=dry_run, snapshots_before=len(table.snapshots()))
    before, before_location = table.metadata, table.metadata_location
    verb = "would" if dry_run else "will"

    report.properties_set = set_metadata_retention(table, policy, dry_run=dry_run)
    if report.properties_set:
        say(f"{name}: {verb} set {report.properties_set}")

    rewritten, written, snapshot_id = compact_small_files(table, policy, dry_run=dry_run)
    report.compacted_files_before, report.compacted_files_after = len(rewritten), written
    report.compaction_snapshot_id = snapshot_id
    if rewritten:
        after = "?" if dry_run else str(written)
        say(f"{name}: compaction {len(rewritten)} small files -> {after}")

    expiry = expire_snapshots(table, policy, now=now, dry_run=dry_run)
    report.snapshots_expired = len(expiry.snapshot_ids)
    report.data_files_removed = len(expiry.data_files)
    report.metadata_files_removed = len(expiry.metadata_files)
    report.removed += [*expiry.data_files, *expiry.metadata_files]
    say(
        f"{name}: expired {report.snapshots_expired} snapshots, "
        f"{report.data_files_removed} data files, {report.metadata_files_removed} metadata files"
    )

    trimmed = _trimmed_metadata_files(before, before_location, table, policy, dry_run=dry_run)
    report.metadata_files_removed += len(trimmed)
    report.removed += trimmed

    try:
        orphans = remove_orphan_files(table, policy, now=now, dry_run=dry_run)
    except ListingUnsupportedError as exc:
        report.notes.append(f"orphan removal skipped: {exc}")
        say(f"{name}: orphan removal skipped: {exc}")
    else:
        report.orphan_files_removed = len(orphans)
        report.orphan_bytes_removed = sum(orphan.size for orphan in orphans)
        report.removed += [orphan.uri for orphan in orphans]
        say(f"{name}: {len(orphans)} orphan files ({report.orphan_bytes_removed} bytes)")
    report.snapshots_after = len(table.snapshots()) - (report.snapshots_expired if dry_run else 0)
    return report


# -- metadata retention ------------------------------------------------------------------


def retention_properties(policy: MaintenancePolicy) -> dict[str, str]:
    """The table properties that make every commit delete the metadata.json files it drops."""
    return {
        TableProperties.METADATA_DELETE_AFTER_COMMIT_ENABLED: "true",
        TableProperties.METADATA_PREVIOUS_VERSIONS_MAX: str(policy.metadata_previous_versions_max),
    }


def set_metadata_retention(
    table: Table, policy: MaintenancePolicy, *, dry_run: bool = False
) -> dict[str, str]:
    """Set :func:`retention_properties` where they differ; returns what was (would be) set."""
    wanted = retention_properties(policy)
    changed = {k: v for k, v in wanted.items() if table.metadata.properties.get(k) != v}
    if not changed or dry_run:
        return changed
    for attempt in _commit_retries():
        with attempt:
            table.refresh()
            changed = {k: v for k, v in wanted.items() if table.metadata.properties.get(k) != v}
            if changed:
                with table.transaction() as txn:
                    txn.set_properties(changed)
    return changed


def _trimmed_metadata_files(
    before: TableMetadata,
    before_location: str,
    table: Table,
    policy: MaintenancePolicy,
    *,
    dry_run: bool,
) -> list[str]:
    """metadata.json files that left the metadata log during maintenance and are gone (deleted
    by pyiceberg's commit); for a dry run, those the first commit would drop."""
    log_before = [entry.metadata_file for entry in before.metadata_log]
    if dry_run:
        if before.properties.get(TableProperties.METADATA_DELETE_AFTER_COMMIT_ENABLED) == "true":
            return []  # already bounded by every commit
        # A commit keeps the newest max - 1 previous entries, then logs the current file.
        drop = len(log_before) - policy.metadata_previous_versions_max + 1
        return log_before[: max(drop, 0)]
    kept = {entry.metadata_file for entry in table.metadata.metadata_log}
    kept.add(table.metadata_location)
    candidates = [*log_before, before_location]
    return [uri for uri in candidates if uri not in kept and not exists(table.io, uri)]


# -- compaction --------------------------------------------------------------------------


def small_file_groups(table: Table, policy: MaintenancePolicy) -> list[list[FileScanTask]]:
    """The small data files of the current snapshot, grouped for rewriting; empty when there
    are fewer than ``compact_when_small_files_at_least``.

    Files with delete files attached are left alone (their rows are not the file's rows).
    A group holds files of one partition, up to ``target_file_bytes`` on disk, at least two."""
    small = [
        task
        for task in table.scan().plan_files()
        if task.file.content == DataFileContent.DATA
        and not task.delete_files
        and task.file.file_size_in_bytes < policy.small_file_bytes
    ]
    if len(small) < policy.compact_when_small_files_at_least:
        return []
    by_partition: dict[tuple[int, str], list[FileScanTask]] = {}
    for task in small:
        by_partition.setdefault((task.file.spec_id, repr(task.file.partition)), []).append(task)
    groups: list[list[FileScanTask]] = []
    for tasks in by_partition.values():
        group: list[FileScanTask] = []
        size = 0
        for task in sorted(tasks, key=lambda t: t.file.file_size_in_bytes):
            if group and size + task.file.file_size_in_bytes > policy.target_file_bytes:
                groups.append(group)
                group, size = [], 0
            group.append(task)
            size += task.file.file_size_in_bytes
        groups.append(group)
    return [group for group in groups if len(group) > 1]


def compact_small_files(
    table: Table, policy: MaintenancePolicy, *, dry_run: bool = False
) -> tuple[list[str], int, int | None]:
    """Rewrite the small files of `table` into fewer files in ONE overwrite commit tagged
    ``floe.maintenance=compaction``.

    Returns (rewritten file paths, files written, new snapshot id); nothing written for a dry
    run. The rows do not change: each group is read as the table reads it and written back
    with the table's schema and field ids; a row-count mismatch aborts before the commit."""
    for attempt in _commit_retries():
        with attempt:
            table.refresh()
            groups = small_file_groups(table, policy)
            rewritten = [task.file.file_path for group in groups for task in group]
            if not groups or dry_run:
                return rewritten, 0, None
            _without_commit_rebase(table)
            written: list[DataFile] = []
            committing = False
            try:
                txn = table.transaction()
                for group in groups:
                    written += _rewrite(table, txn.table_metadata, group)
                properties = {MAINTENANCE_PROPERTY: "compaction"}
                with txn.update_snapshot(snapshot_properties=properties).overwrite() as overwrite:
                    for task in (task for group in groups for task in group):
                        overwrite.delete_data_file(task.file)
                    for data_file in written:
                        overwrite.append_data_file(data_file)
                committing = True
                txn.commit_transaction()
            except BaseException as exc:
                # Delete the new files only when the commit is known not to have landed: it
                # was never sent, or the catalog refused it. Otherwise (outcome unknown) they
                # may be referenced now; if not, orphan removal takes them once they are old.
                if not committing or isinstance(exc, RETRYABLE_COMMIT_ERRORS):
                    _delete_all(table.io, [data_file.file_path for data_file in written])
                raise
    snapshot = table.current_snapshot()
    return rewritten, len(written), snapshot.snapshot_id if snapshot else None


def _rewrite(
    table: Table, metadata: TableMetadata, group: Sequence[FileScanTask]
) -> list[DataFile]:
    rows = ArrowScan(metadata, table.io, metadata.schema(), AlwaysTrue()).to_table(group)
    written = list(_dataframe_to_data_files(table_metadata=metadata, df=rows, io=table.io))
    expected = sum(task.file.record_count for task in group)
    actual = sum(data_file.record_count for data_file in written)
    if actual != expected:
        _delete_all(table.io, [data_file.file_path for data_file in written])
        raise RuntimeError(
            f"compaction of {len(group)} files of {'.'.join(table.name())} wrote {actual} "
            f"rows, expected {expected}: not committed"
        )
    return written


def _without_commit_rebase(table: Table) -> None:
    """Switch off pyiceberg's own commit retry for our commit, in memory only.

    pyiceberg 0.12 retries a conflicting snapshot commit by rebasing it onto the new head
    without planning again; for a rewrite that would drop delete files a concurrent writer
    attached to the files being replaced. Our retry reloads and re-plans instead. The catalog
    applies the updates to the metadata it loads itself, so nothing is persisted."""
    properties = {**table.metadata.properties, TableProperties.COMMIT_NUM_RETRIES: "0"}
    table.metadata = table.metadata.model_copy(update={"properties": properties})


# -- snapshot expiry ---------------------------------------------------------------------


@dataclass
class Expiry:
    snapshot_ids: list[int] = field(default_factory=list)
    data_files: list[str] = field(default_factory=list)
    metadata_files: list[str] = field(default_factory=list)


def snapshots_to_expire(
    metadata: TableMetadata, policy: MaintenancePolicy, now: datetime
) -> list[int]:
    """Snapshots older than ``expire_snapshots_older_than_days``, except:

    * the newest ``keep_last_snapshots`` of the current branch's history;
    * every branch or tag head (pyiceberg protects them too);
    * the current history back to the newest snapshot a writer (not maintenance) committed:
      writers keep their bookkeeping in their last snapshot's summary (the dlt plugin its
      state, found by walking the current history), and compaction must not push it out."""
    cutoff = now - timedelta(days=policy.expire_snapshots_older_than_days)
    cutoff_ms = int(cutoff.timestamp() * 1000)  # snapshot timestamps are in milliseconds
    history = list(ancestors_of(metadata.current_snapshot(), metadata))
    keep = {snapshot.snapshot_id for snapshot in history[: policy.keep_last_snapshots]}
    keep |= {ref.snapshot_id for ref in metadata.refs.values()}
    for snapshot in history:
        keep.add(snapshot.snapshot_id)
        if not _is_maintenance(snapshot):
            break
    return [
        snapshot.snapshot_id
        for snapshot in metadata.snapshots
        if snapshot.snapshot_id not in keep and snapshot.timestamp_ms < cutoff_ms
    ]


def expire_snapshots(
    table: Table, policy: MaintenancePolicy, *, now: datetime, dry_run: bool = False
) -> Expiry:
    """Expire :func:`snapshots_to_expire` (pyiceberg's ``expire_snapshots``), then delete the
    files that only the expired snapshots referenced."""
    for attempt in _commit_retries():
        with attempt:
            table.refresh()
            ids = set(snapshots_to_expire(table.metadata, policy, now))
            if not ids:
                return Expiry()
            expired = [s for s in table.metadata.snapshots if s.snapshot_id in ids]
            expired_statistics = _statistics_files(table.metadata, only=ids)
            if not dry_run:
                table.maintenance.expire_snapshots().by_ids(sorted(ids)).commit()
    # After the commit `table.metadata` is what the catalog holds, concurrent commits included;
    # files are deleted only now that the expiry has landed.
    remaining = [s for s in table.metadata.snapshots if s.snapshot_id not in ids]
    reader = _ManifestReader(table.io)
    candidates = reader.files(expired, live_only=False, missing_ok=True)
    live = reader.files(remaining, live_only=True)
    live_statistics = {file_key(uri) for uri in _statistics_files(table.metadata, skip=ids)}
    data = [uri for key, uri in candidates.data.items() if key not in live.data]
    meta = [uri for key, uri in candidates.metadata.items() if key not in live.metadata]
    meta += [uri for uri in expired_statistics if file_key(uri) not in live_statistics]
    if not dry_run:
        data = [uri for uri in data if delete_file(table.io, uri)]
        meta = [uri for uri in meta if delete_file(table.io, uri)]
    return Expiry(snapshot_ids=sorted(ids), data_files=data, metadata_files=meta)


def _statistics_files(
    metadata: TableMetadata, *, only: set[int] | None = None, skip: set[int] | None = None
) -> list[str]:
    """Table and partition statistics files, of the snapshots in `only` / not in `skip`."""
    return [
        stats.statistics_path
        for stats in [*metadata.statistics, *metadata.partition_statistics]
        if (only is None or stats.snapshot_id in only)
        and (skip is None or stats.snapshot_id not in skip)
    ]


def _is_maintenance(snapshot: Snapshot) -> bool:
    return snapshot.summary is not None and snapshot.summary.get(MAINTENANCE_PROPERTY) is not None


# -- orphan files ------------------------------------------------------------------------


def referenced_files(table: Table) -> set[str]:
    """Keys (:func:`file_key`) of every file the table's metadata references: the current and
    logged metadata.json files, statistics, and each snapshot's manifest list, manifests and
    data/delete files (removed entries included)."""
    metadata = table.metadata
    keys = {file_key(table.metadata_location)}
    keys |= {file_key(entry.metadata_file) for entry in metadata.metadata_log}
    keys |= {file_key(uri) for uri in _statistics_files(metadata)}
    files = _ManifestReader(table.io).files(metadata.snapshots, live_only=False)
    return keys | set(files.data) | set(files.metadata)


def remove_orphan_files(
    table: Table, policy: MaintenancePolicy, *, now: datetime, dry_run: bool = False
) -> list[StoredFile]:
    """Delete files under the table's data and metadata directories that nothing references
    and that are older than ``orphan_files_older_than_hours``; returns them.

    Raises :class:`ListingUnsupportedError` when the location cannot be listed. A data or
    metadata path configured outside the table location is skipped (it may be shared)."""
    table.refresh()
    referenced = referenced_files(table)
    cutoff = now - timedelta(hours=policy.orphan_files_older_than_hours)
    location = table.location()
    provider = table.location_provider()
    directories = []
    for directory in dict.fromkeys([provider.data_path, provider.metadata_path]):
        if is_within(directory, location):
            directories.append(directory)
        else:
            log.warning("%s is outside the table location %s: not scanned", directory, location)
    orphans = [
        stored
        for directory in directories
        for stored in list_files(table.io, directory)
        if stored.modified < cutoff and file_key(stored.uri) not in referenced
    ]
    if dry_run:
        return orphans
    return [orphan for orphan in orphans if delete_file(table.io, orphan.uri)]


# -- helpers -----------------------------------------------------------------------------


@dataclass
class _Files:
    data: dict[str, str] = field(default_factory=dict)
    """key -> URI of data and delete files."""
    metadata: dict[str, str] = field(default_factory=dict)
    """key -> URI of manifest lists and manifests."""


class _ManifestReader:
    """Reads each manifest list and manifest once, however many snapshots share it."""

    def __init__(self, io: FileIO) -> None:
        self.io = io
        self._manifests: dict[str, list[ManifestFile]] = {}
        self._entries: dict[tuple[str, bool], list[str]] = {}

    def files(
        self, snapshots: Iterable[Snapshot], *, live_only: bool, missing_ok: bool = False
    ) -> _Files:
        """Files referenced by `snapshots`; ``live_only`` skips entries of removed files.

        ``missing_ok`` skips a manifest list or manifest that is gone (for snapshots being
        expired); otherwise that raises: a live snapshot with a missing file is a broken table,
        and guessing what it referenced could delete live data."""
        found = _Files()
        for snapshot in snapshots:
            found.metadata[file_key(snapshot.manifest_list)] = snapshot.manifest_list
            try:
                manifests = self._manifest_files(snapshot)
            except FileNotFoundError:
                if not missing_ok:
                    raise
                log.warning("manifest list %s is gone: skipped", snapshot.manifest_list)
                continue
            for manifest in manifests:
                found.metadata[file_key(manifest.manifest_path)] = manifest.manifest_path
                try:
                    paths = self._entry_paths(manifest, live_only)
                except FileNotFoundError:
                    if not missing_ok:
                        raise
                    log.warning("manifest %s is gone: skipped", manifest.manifest_path)
                    continue
                for uri in paths:
                    found.data[file_key(uri)] = uri
        return found

    def _manifest_files(self, snapshot: Snapshot) -> list[ManifestFile]:
        if snapshot.manifest_list not in self._manifests:
            self._manifests[snapshot.manifest_list] = snapshot.manifests(self.io)
        return self._manifests[snapshot.manifest_list]

    def _entry_paths(self, manifest: ManifestFile, live_only: bool) -> list[str]:
        key = (manifest.manifest_path, live_only)
        if key not in self._entries:
            entries = manifest.fetch_manifest_entry(self.io, discard_deleted=live_only)
            self._entries[key] = [entry.data_file.file_path for entry in entries]
        return self._entries[key]


def _commit_retries() -> Iterable[stamina.Attempt]:
    return stamina.retry_context(
        on=RETRYABLE_COMMIT_ERRORS,
        attempts=COMMIT_ATTEMPTS,
        wait_initial=0.1,
        wait_max=5.0,
        timeout=300.0,
    )


def _delete_all(io: FileIO, uris: Iterable[str]) -> None:
    for uri in uris:
        delete_file(io, uri)
