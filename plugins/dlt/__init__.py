"""floe's default ingestion plugin: dlt sources, committed to Iceberg through our catalog."""

import os

# No network at runtime: dlt's anonymous telemetry is off unless the operator opts in. Set
# before dlt is imported by the modules below.
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

from plugins.dlt.plugin import DltIngestionPlugin, DltPipeline  # noqa: E402

__all__ = ["DltIngestionPlugin", "DltPipeline"]
