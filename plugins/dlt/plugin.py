"""The default, embedded ingestion plugin: dlt for the source side, our catalog for Iceberg.

dlt does what it is best at — sources, incremental state, schema inference and evolution,
normalization to rotated parquet files — and this plugin commits each normalized load package
to the Iceberg table itself, through the platform catalog, in one atomic transaction tagged
with the load id (see ``committer.py`` for why not dlt's own Iceberg path).
``pipeline.load()`` is never called.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import dlt
from pydantic import ValidationError
from pyiceberg.catalog import load_catalog

from plugins.base import (
    ConfigurationIngestionError,
    IngestionConfig,
    IngestionPlugin,
    IngestionResult,
    ProgressCallback,
)
from plugins.dlt.committer import CommitOutcome, IcebergCommitter
from plugins.dlt.errors import to_ingestion_error
from plugins.dlt.options import DltOptions, DltPluginSettings, format_validation_error
from plugins.dlt.sources import (
    build_incremental,
    build_resource,
    normalize_identifier,
    source_problems,
)
from plugins.dlt.state import LARGE_STATE_CHARS, package_state, restore_state
from plugins.redact import is_secret_key, mask_url_password


@dataclass
class DltPipeline:
    """What `create_pipeline` returns: the entry, its dlt pipeline and where its files live."""

    config: IngestionConfig
    dlt_pipeline: dlt.Pipeline
    work_dir: Path
    table_name: str
    """The table's name in dlt's normalized package (snake_case of the destination's)."""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def staging_dir(self) -> Path:
        return self.work_dir / "staging"


def _dlt_settings_env(settings: DltPluginSettings) -> dict[str, str]:
    """dlt configuration for our runs, as dlt reads it (environment variables)."""
    writer = {
        "FILE_MAX_ITEMS": str(settings.file_max_items),
        "BUFFER_MAX_ITEMS": str(settings.buffer_max_items),
    }
    env = {"RUNTIME__DLTHUB_TELEMETRY": "false"}
    for section in ("EXTRACT", "NORMALIZE"):
        for key, value in writer.items():
            env[f"{section}__DATA_WRITER__{key}"] = value
    # downstream picks "latest load wins" by _dlt_load_id, so Arrow rows carry it too
    env["NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_LOAD_ID"] = "true"
    env["NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_ID"] = str(settings.add_dlt_id_to_arrow).lower()
    return env


@contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set dlt's config for the duration of a run; values the operator set explicitly win."""
    added = [key for key in values if key not in os.environ]
    for key in added:
        os.environ[key] = values[key]
    try:
        yield
    finally:
        for key in added:
            os.environ.pop(key, None)


class DltIngestionPlugin(IngestionPlugin):
    """Ingest with dlt; commit to Iceberg through the platform catalog, exactly once."""

    name: ClassVar[str] = "dlt"
    version: ClassVar[str] = "1.0.0"
    is_external: ClassVar[bool] = False

    @property
    def settings(self) -> DltPluginSettings:
        return DltPluginSettings.model_validate(dict(self.context.plugin_config))

    # -- config time ---------------------------------------------------------------------

    def validate(self, config: IngestionConfig) -> list[tuple[str, str]]:
        try:
            options = DltOptions.model_validate(dict(config.options))
        except ValidationError as exc:
            return format_validation_error(exc)
        issues = source_problems(config, options, self.context.project_dir)
        if config.write_disposition == "merge" and not config.primary_key:
            issues.append(("primary_key", "write_disposition merge needs a primary_key"))
        if config.incremental:
            try:
                build_incremental(config.incremental, source=config.name)
            except ConfigurationIngestionError as exc:
                issues.append(("incremental", exc.message))
        if "." not in config.destination_table:
            issues.append(("destination", "must be <namespace>.<table>"))
        return issues

    def get_destination_config(self) -> dict[str, Any]:
        properties = {
            key: mask_url_password(value)
            for key, value in self.context.catalog_properties.items()
            if not is_secret_key(key)
        }
        return {
            "catalog_name": self.context.catalog_name,
            "catalog": properties,
            "table_format": "iceberg",
            "commit": "one transaction per load package (add_files | delete+add_files | upsert)",
            "loader_file_format": "parquet",
        }

    # -- run -----------------------------------------------------------------------------

    def create_pipeline(self, config: IngestionConfig) -> DltPipeline:
        """A dlt pipeline named ``floe_<name>`` with its own working dir (dlt state is local,
        so two floe pipelines must never share one). Cheap: nothing is imported or read."""
        work_dir = Path(self.context.work_dir) / config.name
        with _environment({"RUNTIME__DLTHUB_TELEMETRY": "false"}):
            pipeline = dlt.pipeline(
                pipeline_name=f"floe_{config.name}",
                pipelines_dir=str(work_dir),
                # dlt needs a destination to normalize for; nothing is ever loaded into it
                destination=dlt.destinations.filesystem(
                    bucket_url=(work_dir / "dlt_destination").as_uri()
                ),
                dataset_name=config.namespace,
            )
        return DltPipeline(
            config=config,
            dlt_pipeline=pipeline,
            work_dir=work_dir,
            table_name=normalize_identifier(config.table),
        )

    def run(self, pipeline: Any, *, progress: ProgressCallback | None = None) -> IngestionResult:
        handle: DltPipeline = pipeline
        config = handle.config
        started = time.perf_counter()
        say = _safe_progress(progress)
        outcomes: list[CommitOutcome] = []
        details: dict[str, Any] = {"dlt_pipeline": handle.dlt_pipeline.pipeline_name}
        try:
            settings = self.settings
            options = DltOptions.model_validate(dict(config.options))
            with _environment(_dlt_settings_env(settings)):
                committer = self._committer(handle, settings, say)
                # a previous run may have crashed after normalize: finish its packages first
                if handle.dlt_pipeline.list_extracted_load_packages():
                    handle.dlt_pipeline.normalize()
                pending = list(handle.dlt_pipeline.list_normalized_load_packages())
                if pending:
                    say(f"committing {len(pending)} package(s) left by an earlier run")
                    self._commit_packages(handle, committer, outcomes, say)
                    details["recovered_load_ids"] = pending
                # a fresh working dir (new container, wiped .floe/) continues from the state
                # committed with the table's data instead of from `initial_value`
                restored = restore_state(handle.dlt_pipeline, committer.load_table(), config.name)
                if restored is not None:
                    details["restored_state"] = restored.as_details()
                    say(
                        f"restored dlt state version {restored.version} from snapshot "
                        f"{restored.snapshot_id} of {config.destination_table}"
                    )

                resource = build_resource(config, options, self.context.project_dir)
                phase = time.perf_counter()
                say(f"extracting {config.source}")
                handle.dlt_pipeline.extract(resource, loader_file_format="parquet")
                details["extract_seconds"] = round(time.perf_counter() - phase, 3)

                phase = time.perf_counter()
                info = handle.dlt_pipeline.normalize()
                details["normalize_seconds"] = round(time.perf_counter() - phase, 3)
                rows = (info.row_counts if info else {}).get(handle.table_name, 0)
                say(f"extracted and normalized {rows:,} rows")

                phase = time.perf_counter()
                self._commit_packages(handle, committer, outcomes, say)
                details["commit_seconds"] = round(time.perf_counter() - phase, 3)
        except Exception as exc:
            error = to_ingestion_error(exc, source=config.name, secrets=config.secrets)
            say(f"failed: [{error.category}/{error.code}] {error.message}")
            return self._result(
                config.destination_table,
                False,
                outcomes,
                details,
                started,
                error=error,
                handle_details=handle.details,
            )
        return self._result(
            config.destination_table,
            True,
            outcomes,
            details,
            started,
            handle_details=handle.details,
        )

    # -- helpers -------------------------------------------------------------------------

    def _committer(
        self, handle: DltPipeline, settings: DltPluginSettings, say: ProgressCallback
    ) -> IcebergCommitter:
        catalog = load_catalog(self.context.catalog_name, **dict(self.context.catalog_properties))
        return IcebergCommitter(
            catalog,
            handle.config.destination_table,
            write_disposition=handle.config.write_disposition,
            primary_key=[normalize_identifier(key) for key in handle.config.primary_key],
            pipeline_name=handle.config.name,
            staging_dir=handle.staging_dir,
            commit_attempts=settings.commit_attempts,
            progress=say,
        )

    def _commit_packages(
        self,
        handle: DltPipeline,
        committer: IcebergCommitter,
        outcomes: list[CommitOutcome],
        say: ProgressCallback,
    ) -> None:
        """Commit every normalized package, oldest first, then retire it from dlt's storage."""
        dlt_pipeline = handle.dlt_pipeline
        state: str | None = None
        for load_id in sorted(dlt_pipeline.list_normalized_load_packages()):
            files, ignored = _package_files(dlt_pipeline, load_id, handle.table_name)
            if ignored:
                handle.details.setdefault("ignored_tables", []).extend(ignored)
            # a package without state: unchanged since the previous package's (dlt extracts
            # it only on change), so carry that one over to this commit
            state = package_state(dlt_pipeline, load_id) or state
            if state and files:
                handle.details["dlt_state_chars"] = len(state)
                if len(state) > LARGE_STATE_CHARS:
                    say(
                        f"warning: the dlt state is {len(state):,} characters and is kept in "
                        "every snapshot summary (many rows sharing the last cursor value?)"
                    )
            outcome = committer.commit(load_id, files, state=state)
            outcomes.append(outcome)
            if outcome.already_committed:
                say(f"load {load_id} was already committed (snapshot {outcome.snapshot_id})")
            elif outcome.snapshot_id is not None:
                say(
                    f"committed snapshot {outcome.snapshot_id} ({outcome.rows:,} rows, "
                    f"{len(files)} files) to {handle.config.destination_table}"
                )
            else:
                say(f"load {load_id} had no rows for {handle.config.destination_table}")
            _retire_package(dlt_pipeline, load_id)
        shutil.rmtree(handle.staging_dir, ignore_errors=True)

    def _result(
        self,
        table: str,
        success: bool,
        outcomes: list[CommitOutcome],
        details: dict[str, Any],
        started: float,
        *,
        error: Any = None,
        handle_details: Mapping[str, Any] | None = None,
    ) -> IngestionResult:
        committed = [o for o in outcomes if not o.already_committed and o.snapshot_id is not None]
        snapshot_ids = [o.snapshot_id for o in outcomes if o.snapshot_id is not None]
        details = {
            **details,
            "load_ids": [o.load_id for o in outcomes],
            "files": [name for o in outcomes for name in o.files],
            "snapshot_ids": snapshot_ids,
            **(handle_details or {}),
        }
        merged = [o for o in committed if o.rows_updated is not None]
        if merged:
            details["rows_updated"] = sum(o.rows_updated or 0 for o in merged)
            details["rows_inserted"] = sum(o.rows_inserted or 0 for o in merged)
        return IngestionResult(
            success=success,
            rows_loaded=sum(o.rows for o in committed),
            tables_created=[table] if any(o.table_created for o in outcomes) else [],
            duration_seconds=time.perf_counter() - started,
            error=error,
            snapshot_id=snapshot_ids[-1] if snapshot_ids else None,
            details=details,
        )


def _package_files(
    dlt_pipeline: dlt.Pipeline, load_id: str, table_name: str
) -> tuple[list[Path], list[str]]:
    """The package's parquet files for our table (in the order dlt wrote them) and the names
    of any other data tables it holds (dlt's own `_dlt_*` tables are expected and skipped)."""
    info = dlt_pipeline.get_load_package_info(load_id)
    files: list[Path] = []
    others: set[str] = set()
    for job in info.jobs.get("new_jobs", []):
        name = job.job_file_info.table_name
        if name == table_name and job.file_path.endswith(".parquet"):
            files.append(Path(job.file_path))
        elif not name.startswith("_dlt"):
            others.add(name)
    files.sort(key=lambda path: (path.stat().st_mtime_ns, path.name))
    return files, sorted(others)


def _retire_package(dlt_pipeline: dlt.Pipeline, load_id: str) -> None:
    """Mark the package loaded and delete its files.

    Not `drop_pending_packages()`/`abort_packages()`: those roll the pipeline state (the
    incremental cursors) back to before the package, which is right for data that was *not*
    loaded and wrong for data we just committed. dlt 1.31 has no public "mark loaded" call,
    so this uses the load storage the pipeline's own loader uses."""
    storage = dlt_pipeline._get_load_storage()
    storage.complete_load_package(load_id, aborted=False)
    storage.loaded_packages.delete_package(load_id, not_exists_ok=True)


def _safe_progress(progress: ProgressCallback | None) -> ProgressCallback:
    def say(message: str) -> None:
        if progress is not None:
            try:
                progress(message)
            except Exception:  # a broken progress sink must not fail the load
                pass

    return say
