"""Table maintenance of the bronze tables: snapshot expiry with file removal, orphan file
removal, compaction of small files and bounded metadata, run by the ``floe_maintenance`` job
on the manifest's ``maintenance.schedule`` and by ``floe maintenance``."""

from platform_defs.maintenance.table_maintenance import (
    MAINTENANCE_PROPERTY,
    TableReport,
    compact_small_files,
    expire_snapshots,
    maintain_table,
    remove_orphan_files,
    set_metadata_retention,
)
from platform_defs.maintenance.tables import describe, maintained_tables, run_maintenance

__all__ = [
    "MAINTENANCE_PROPERTY",
    "TableReport",
    "compact_small_files",
    "describe",
    "expire_snapshots",
    "maintain_table",
    "maintained_tables",
    "remove_orphan_files",
    "run_maintenance",
    "set_metadata_retention",
]
