"""Which tables the platform maintains, and maintaining them from a project's config."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from platform_defs.catalog import open_catalog
from platform_defs.config import Project
from platform_defs.maintenance.table_maintenance import Progress, TableReport, maintain_table
from platform_defs.usage.bronze import TABLES as USAGE_TABLES
from plugins.dlt.rejects import rejects_table


def maintained_tables(project: Project) -> list[str]:
    """The tables floe.yaml writes to (its destinations and their rejects tables), in file
    order, then the push-fed usage tables; a table not created yet is skipped when
    maintained.

    Only those: another table in the same namespace belongs to someone else, and orphan
    removal on a table whose writers we do not know is not ours to run."""
    tables: list[str] = []
    for entry in project.floe.ingestion:
        tables += [entry.destination, rejects_table(entry.destination)]
    tables += [table.identifier for table in USAGE_TABLES]  # one snapshot per ingested day
    return list(dict.fromkeys(tables))


def run_maintenance(
    project: Project,
    tables: Sequence[str] | None = None,
    *,
    dry_run: bool = False,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> Iterator[TableReport]:
    """:func:`maintain_table` on each of `tables` (default: :func:`maintained_tables`) with
    the manifest's policy; a table not created yet reports nothing done."""
    catalog = open_catalog(project.plugin_context())
    policy = project.manifest.maintenance
    for name in tables if tables is not None else maintained_tables(project):
        if not catalog.table_exists(name):
            if progress:
                progress(f"{name}: not created yet, nothing to maintain")
            yield TableReport(table=name, dry_run=dry_run, exists=False)
            continue
        table = catalog.load_table(name)
        yield maintain_table(table, policy, dry_run=dry_run, now=now, progress=progress)


def describe(report: TableReport) -> str:
    """One line: what maintenance did (or would do) to the table."""
    if not report.exists:
        return f"{report.table}: not created yet, nothing to maintain"
    verb = "would remove" if report.dry_run else "removed"
    parts = [
        f"{report.snapshots_expired} snapshots expired ({report.snapshots_before} before)",
        f"{verb} {report.data_files_removed} data files, "
        f"{report.metadata_files_removed} metadata files, "
        f"{report.orphan_files_removed} orphan files ({report.orphan_bytes_removed} bytes)",
    ]
    if report.compacted_files_before:
        after = "?" if report.dry_run else str(report.compacted_files_after)
        parts.append(f"compacted {report.compacted_files_before} -> {after} files")
    if report.properties_set:
        properties = ", ".join(f"{k}={v}" for k, v in report.properties_set.items())
        parts.append(f"{'would set' if report.dry_run else 'set'} {properties}")
    parts += report.notes
    return f"{report.table}: " + "; ".join(parts)
