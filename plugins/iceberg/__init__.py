"""The shared Iceberg write path: every floe writer commits a load through `TableCommitter`."""

from plugins.iceberg.commit import (
    LOAD_ID_PROPERTY,
    WRITER_PROPERTY,
    CommitOutcome,
    Load,
    TableCommitter,
    WriteMode,
    find_committed_snapshot,
)

__all__ = [
    "LOAD_ID_PROPERTY",
    "WRITER_PROPERTY",
    "CommitOutcome",
    "Load",
    "TableCommitter",
    "WriteMode",
    "find_committed_snapshot",
]
