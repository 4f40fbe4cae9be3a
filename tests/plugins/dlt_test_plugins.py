"""A third-party-style plugin, registered only through a temporary dist-info in a test."""

from __future__ import annotations

from typing import Any

from plugins.base import IngestionConfig, IngestionPlugin, IngestionResult, ProgressCallback


class EchoIngestionPlugin(IngestionPlugin):
    name = "echo"
    version = "0.0.1"
    is_external = False

    def create_pipeline(self, config: IngestionConfig) -> IngestionConfig:
        return config

    def run(
        self, pipeline: Any, *, progress: ProgressCallback | None = None, run_context: Any = None
    ) -> IngestionResult:
        return IngestionResult(success=True, rows_loaded=0, tables_created=[], duration_seconds=0)

    def get_destination_config(self) -> dict[str, Any]:
        return {}
