"""One landing-zone run in a child process (``child.py``'s fork server or a fresh interpreter).

A landing spec (``"kind": "landing"``) names a generated floe project (``project_dir``: its
``floe.yaml`` and ``platform-manifest.yaml``, whose landing root, catalog and ops store are
the test's), the landing ``pipeline``, the files a sensor tick chose (``requested``: a list
of ``{source_filename, checksum}``, or None for "every stable file") and the Dagster
``run_id``. The run is what the pipeline's asset does (``platform_defs/ingestion/assets.py``):
``run_landing_pipeline`` with the project's plugin, catalog and ops store. Crash points are
installed by ``child.py`` before this runs (``FLOE_CRASH_AT``); the outcome goes to
``result_file`` as JSON.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any


def preimport() -> None:
    """What a landing run imports beyond the plugin's (``child.py`` imports it once)."""
    import psycopg  # noqa: F401
    import sqlalchemy.dialects.postgresql  # noqa: F401
    import sqlalchemy.dialects.sqlite  # noqa: F401

    import platform_defs.catalog  # noqa: F401
    import platform_defs.config  # noqa: F401
    import platform_defs.landing.runner  # noqa: F401
    import platform_defs.ops.store  # noqa: F401
    import plugins.registry  # noqa: F401


def run_landing(spec: dict[str, Any]) -> int:
    """Run the spec's landing pipeline once; 0 on success (or nothing to load), 1 otherwise."""
    from platform_defs.catalog import open_catalog
    from platform_defs.config import load_project
    from platform_defs.landing.runner import RequestedFile, run_landing_pipeline
    from platform_defs.ops.store import OpsStore
    from plugins.base import RunContext
    from plugins.registry import get_plugin_class

    started_at = time.time()
    project = load_project(Path(spec["project_dir"]), check_plugins=False)
    entry = project.pipeline(spec["pipeline"])
    plugin_context = project.plugin_context()
    plugin = get_plugin_class(entry.type)(plugin_context)
    config = project.ingestion_config(entry.name)
    ops = project.manifest.ops
    store = OpsStore(ops.url, ops.schema_name)
    requested = (
        None
        if spec["requested"] is None
        else [RequestedFile(f["source_filename"], f["checksum"]) for f in spec["requested"]]
    )
    progress: list[str] = []

    def say(message: str) -> None:
        progress.append(message)
        sys.stdout.write(f"progress: {message}\n")

    outcome = run_landing_pipeline(
        project,
        entry,
        plugin=plugin,
        config=config,
        catalog=open_catalog(plugin_context),
        sessions=store.session,
        requested=requested,
        run_context=RunContext(run_id=spec["run_id"]),
        progress=say,
    )
    result = outcome.result
    success = result is None or result.success
    document = {
        "success": success,
        "rows_loaded": result.rows_loaded if result is not None else 0,
        "snapshot_id": result.snapshot_id if result is not None else None,
        "error": result.error.to_dict() if result is not None and result.error else None,
        "details": result.details if result is not None else {},
        "loaded": outcome.loaded,
        "reconciled": outcome.reconciled,
        "failed": outcome.failed,
        "skipped": outcome.skipped,
        "progress": progress,
        "pid": os.getpid(),
        "started_at": started_at,
        "finished_at": time.time(),
    }
    store.dispose()
    partial = Path(spec["result_file"] + ".partial")
    partial.write_text(json.dumps(document, default=str, indent=2))
    partial.rename(spec["result_file"])
    return 0 if success else 1
