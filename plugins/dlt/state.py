"""dlt pipeline state kept in the Iceberg table, in the same commit as the data it describes.

dlt keeps its pipeline state (incremental cursors, resource state) in the local working dir
and, with ``pipeline.load()``, also in the destination, from where ``sync_destination``
restores it on a fresh machine. We never call ``load()``, so the committer stores the state
itself: each package's snapshot summary carries ``floe.dlt_state``, the state exactly as dlt
serializes it for its destinations (``state_doc`` -> ``compress_state``: zlib + base64 of the
state without its ``_local`` section).

Which state: the one dlt extracted *into that package* (``pipeline_state`` in the load
package state, written by extract when the state changed). That is the state right after the
package's extract, i.e. the one matching the committed rows, whatever happened locally
afterwards — so a crash between the commit and the local cleanup never rewinds or skips data.

Restore: on a run whose working dir is older than the table (a fresh container, a wiped
``.floe/``), the ``sources`` section of the newest state on the table's current branch
replaces the local one before extracting. Tables committed before this existed have no
``floe.dlt_state``; then nothing is restored and the run proceeds as before.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import dlt
from dlt.common.versioned_state import decompress_state
from dlt.pipeline.state_sync import migrate_state_to_current
from pyiceberg.table import Table
from pyiceberg.table.snapshots import ancestors_of

from plugins.iceberg import WRITER_PROPERTY as PIPELINE_PROPERTY

log = logging.getLogger(__name__)

STATE_PROPERTY = "floe.dlt_state"
"""dlt's pipeline state after the committed package, as dlt encodes it."""

LARGE_STATE_CHARS = 64 * 1024
"""Above this the run warns: the summary is kept in the table metadata for every snapshot."""


def package_state(pipeline: dlt.Pipeline, load_id: str) -> str | None:
    """The state dlt extracted with package `load_id`, encoded as dlt stores it in a
    destination's ``_dlt_pipeline_state`` table (``state_doc(...)["state"]``).

    None when the package carries no state: dlt extracts the state only when it changed since
    the last extracted one, so the state is then the same as the previous package's."""
    doc = pipeline.get_load_package_state(load_id).get("pipeline_state")
    if not doc:
        return None
    return doc.get("state") or None


def find_table_state(table: Table, floe_pipeline: str) -> tuple[int, str] | None:
    """(snapshot id, encoded state) of the newest snapshot of `floe_pipeline` on the table's
    current branch that carries a state. Ancestors only: a snapshot rolled back is not data."""
    for snapshot in ancestors_of(table.current_snapshot(), table.metadata):
        summary = snapshot.summary
        if summary is None or summary.get(PIPELINE_PROPERTY) != floe_pipeline:
            continue  # another writer (compaction, another pipeline)
        encoded = summary.get(STATE_PROPERTY)
        if encoded:
            return snapshot.snapshot_id, encoded
    return None


@dataclass(frozen=True)
class RestoredState:
    snapshot_id: int
    version: int
    local_version: int

    def as_details(self) -> dict[str, Any]:
        return {
            "snapshot_id": self.snapshot_id,
            "state_version": self.version,
            "local_state_version": self.local_version,
        }


def restore_state(
    pipeline: dlt.Pipeline, table: Table | None, floe_pipeline: str
) -> RestoredState | None:
    """Install the table's state into `pipeline` if it is newer than the local one.

    Same rule as dlt's ``sync_destination``: the remote state wins when its ``_state_version``
    is at least the local one and its hash differs (a fresh working dir has version 0). Only
    the ``sources`` section (the cursors, resource state) is taken: the rest names schemas
    and destinations of the remote working dir, which we do not restore (the table is the
    schema; dlt infers its own again from the data)."""
    if table is None:
        return None
    found = find_table_state(table, floe_pipeline)
    if found is None:
        return None
    snapshot_id, encoded = found
    # the decoding half of dlt's `load_pipeline_state_from_destination` (which needs a
    # destination client): decompress + migrate to the installed dlt's state engine
    remote = migrate_state_to_current(pipeline.pipeline_name, decompress_state(encoded))
    if remote.get("pipeline_name") != pipeline.pipeline_name:
        log.warning(
            "state in snapshot %s belongs to dlt pipeline %r, not %r: not restored",
            snapshot_id,
            remote.get("pipeline_name"),
            pipeline.pipeline_name,
        )
        return None
    local = pipeline.state
    local_version = local["_state_version"]
    if remote["_state_version"] < local_version or remote.get("_version_hash") == local.get(
        "_version_hash"
    ):
        return None  # the working dir is as new as the table, or newer: keep it
    # `managed_state()` is dlt's own read-modify-write of the working dir state (public, no
    # underscore; dlt uses it the same way in `_save_and_extract_state_and_schema`): on exit
    # it merges the pipeline's props, bumps `_state_version` past the restored one (the
    # props differ) and saves. The alternative, `_save_state`, is private and skips the
    # version bookkeeping; `sync_destination` needs a destination client we do not have.
    with pipeline.managed_state() as state:
        state["sources"] = remote.get("sources") or {}
        state["_state_version"] = remote["_state_version"]
        state["_version_hash"] = remote["_version_hash"]
    return RestoredState(snapshot_id, remote["_state_version"], local_version)
