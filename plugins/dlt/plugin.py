"""The default, embedded ingestion plugin: dlt for the source side, our catalog for Iceberg.

dlt does what it is best at — sources, incremental state, schema inference, normalization to
rotated parquet files — and each normalized load package is committed to the Iceberg table
through the platform's shared write path (``plugins.iceberg``): one transaction per package,
tagged with the load id. ``pipeline.load()`` is never called: dlt's own Iceberg path reads a
whole load into memory and rewrites it, and registers the table in a throwaway catalog unless
configured otherwise.

One run per pipeline at a time: the working dir is locked for the whole run (Dagster adds a
concurrency pool per pipeline on top), because dlt's local state and packages are not safe to
share. A package that cannot be committed for a reason a retry will not fix is set aside
(``set_aside.py``) so the next run goes on.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

import dlt
import pyarrow as pa
from dlt.common.schema import Schema
from dlt.common.schema.utils import new_table
from filelock import FileLock, Timeout
from pydantic import BaseModel, ValidationError
from pyiceberg.catalog import load_catalog
from pyiceberg.expressions import In
from pyiceberg.table import Table

from plugins.base import (
    LANDING_FILES_PROPERTY,
    ConfigurationIngestionError,
    IngestionConfig,
    IngestionError,
    IngestionPlugin,
    IngestionResult,
    PartialIngestionError,
    PermanentIngestionError,
    PhaseSeconds,
    ProgressCallback,
    RunContext,
    TransientIngestionError,
)
from plugins.dlt.columns import RowChecker, arrow_type, table_types, today_in
from plugins.dlt.errors import to_ingestion_error
from plugins.dlt.options import (
    DltBlock,
    DltIncremental,
    DltOptions,
    DltPluginSettings,
    format_validation_error,
)
from plugins.dlt.rejects import (
    package_columns,
    package_rejects,
    rejects_table,
    sample,
    write_rejects,
)
from plugins.dlt.set_aside import (
    SetAsidePackage,
    discard,
    find_set_aside,
    list_set_aside,
    set_aside_package,
)
from plugins.dlt.sources import (
    build_incremental,
    build_resource,
    http_retries_off,
    normalize_identifier,
    source_problems,
)
from plugins.dlt.state import LARGE_STATE_CHARS, STATE_PROPERTY, package_state, restore_state
from plugins.iceberg import CommitOutcome, Load, TableCommitter
from plugins.iceberg.commit import WriteMode
from plugins.redact import is_secret_key, mask_url_password


@dataclass
class DltPipeline:
    """What `create_pipeline` returns: the entry, where its files live and (opened on first
    use, under the working-dir lock) its dlt pipeline."""

    config: IngestionConfig
    work_dir: Path
    table_name: str
    """The table's name in dlt's normalized package (snake_case of the destination's)."""
    lock_timeout_seconds: float = 600
    details: dict[str, Any] = field(default_factory=dict)
    _dlt: dlt.Pipeline | None = field(default=None, repr=False)

    @property
    def pipeline_name(self) -> str:
        return f"floe_{self.config.name}"

    @property
    def dlt_pipeline(self) -> dlt.Pipeline:
        """dlt's pipeline, opened under the working-dir lock: on a dir without dlt's state dlt
        wipes and re-creates it, which two first runs must not do at once."""
        if self._dlt is None:
            with FileLock(self.work_dir / LOCK_FILE, timeout=self.lock_timeout_seconds):
                self._dlt = self._open()
        return self._dlt

    def open_locked(self) -> dlt.Pipeline:
        """dlt's pipeline, for a caller that already holds the working-dir lock."""
        if self._dlt is None:
            self._dlt = self._open()
        return self._dlt

    def forget(self) -> None:
        self._dlt = None

    def _open(self) -> dlt.Pipeline:
        with _environment({"RUNTIME__DLTHUB_TELEMETRY": "false"}):
            return dlt.pipeline(
                pipeline_name=self.pipeline_name,
                pipelines_dir=str(self.work_dir),
                # dlt needs a destination to normalize for; nothing is ever loaded into it
                destination=dlt.destinations.filesystem(
                    bucket_url=(self.work_dir / "dlt_destination").as_uri()
                ),
                dataset_name=self.config.namespace,
            )


def _dlt_settings_env(settings: DltPluginSettings) -> dict[str, str]:
    """dlt configuration for our runs, as dlt reads it (environment variables)."""
    writer = {
        "FILE_MAX_ITEMS": str(settings.file_max_items),
        "BUFFER_MAX_ITEMS": str(settings.buffer_max_items),
    }
    env = {"RUNTIME__DLTHUB_TELEMETRY": "false"}
    # the global section: dlt 1.31's extract does not read EXTRACT__DATA_WRITER__* (one file
    # per load however large), normalize reads both
    for section in ("", "NORMALIZE__"):
        for key, value in writer.items():
            env[f"{section}DATA_WRITER__{key}"] = value
    # Arrow rows get `_dlt_load_id` from the commit (a constant column added while the files
    # are written with field ids): asking normalize for it would rewrite every file twice
    env["NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_LOAD_ID"] = "false"
    env["NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_ID"] = str(settings.add_dlt_id_to_arrow).lower()
    return env


LOCK_FILE = ".floe.lock"
RUN_ID_PROPERTY = "floe.run_id"
PARTITION_PROPERTY = "floe.partition_key"
LOAD_ID_COLUMN = "_dlt_load_id"
LOAD_COLUMNS = ("_dlt_load_id", "_dlt_id")
"""dlt's per-load columns: they differ on every load, so a merge never compares them."""


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
    options_model: ClassVar[type[BaseModel]] = DltBlock
    """The floe.yaml `dlt:` block, validated by the platform through the plugin."""
    incremental_model: ClassVar[type[BaseModel]] = DltIncremental
    """The entry's `incremental:` block."""
    settings_model: ClassVar[type[BaseModel]] = DltPluginSettings
    """The manifest's `plugins.ingestion.config`."""
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
            "commit": "plugins.iceberg: one transaction per load package "
            "(append | replace | changed-rows merge)",
            "loader_file_format": "parquet",
        }

    # -- run -----------------------------------------------------------------------------

    def create_pipeline(self, config: IngestionConfig) -> DltPipeline:
        """The handle of dlt pipeline ``floe_<name>`` with its own working dir (dlt state is
        local, so two floe pipelines must never share one). Cheap: dlt's pipeline is opened
        by the run, under the working-dir lock."""
        work_dir = Path(self.context.work_dir) / config.name
        work_dir.mkdir(parents=True, exist_ok=True)
        return DltPipeline(
            config=config,
            work_dir=work_dir,
            table_name=normalize_identifier(config.table),
            lock_timeout_seconds=_lock_timeout(self.context.plugin_config),
        )

    def run(
        self,
        pipeline: Any,
        *,
        progress: ProgressCallback | None = None,
        run_context: RunContext | None = None,
    ) -> IngestionResult:
        handle: DltPipeline = pipeline
        config = handle.config
        run = run_context or RunContext()
        started = time.perf_counter()
        say = _safe_progress(progress)
        outcomes: list[CommitOutcome] = []
        details: dict[str, Any] = {"dlt_pipeline": handle.pipeline_name, "rejected_rows": 0}
        try:
            settings = self.settings
            options = DltOptions.model_validate(dict(config.options))
            with (
                _working_dir_lock(handle.work_dir, config.name, settings, say),
                _environment(_dlt_settings_env(settings)),
                http_retries_off(),  # the manifest's `retry` block is the one layer that retries
            ):
                committer = self._committer(handle, settings, say)
                _finish_interrupted_housekeeping(handle.open_locked())
                # a previous run may have crashed after normalize: finish its packages first
                if handle.dlt_pipeline.list_extracted_load_packages():
                    handle.dlt_pipeline.normalize()
                pending = list(handle.dlt_pipeline.list_normalized_load_packages())
                if pending and run.source_files is not None:
                    # a landing run's leftovers: their files are still pending in the platform's
                    # manifest and are read again by the run that retries them (maybe this one);
                    # committing the package now could land a file since given up or deleted
                    say(f"dropping {len(pending)} package(s) left by an earlier landing run")
                    for load_id in pending:
                        _retire_package(handle.dlt_pipeline, load_id)
                    details["dropped_load_ids"] = pending
                elif pending:
                    say(f"committing {len(pending)} package(s) left by an earlier run")
                    self._commit_packages(handle, committer, outcomes, say, run)
                    details["recovered_load_ids"] = pending
                # a fresh working dir (new container, wiped .floe/) continues from the state
                # committed with the table's data instead of from `initial_value`
                table = committer.load_table()
                restored = restore_state(handle.dlt_pipeline, table, config.name)
                if restored is not None:
                    details["restored_state"] = restored.as_details()
                    say(
                        f"restored dlt state version {restored.version} from snapshot "
                        f"{restored.snapshot_id} of {config.destination_table}"
                    )
                # the table is the schema: dlt infers each load's types afresh instead of
                # from whatever its local schema remembers (variant columns otherwise)
                _forget_local_schemas(handle.dlt_pipeline)

                _stop_if_cancelled(run, config.name)
                # every value must fit its column's type (declared, or the table's), else
                # its row is rejected: never a variant column
                checker = RowChecker(
                    options.declared_columns,
                    table_types=table_types(table.schema() if table is not None else None),
                    primary_key=config.primary_key,
                    table=config.destination_table,
                    today=today_in(settings.today_time_zone),
                    time_zone=settings.today_time_zone,
                )
                file_rows: dict[str, int] = {}
                resource = build_resource(
                    config,
                    options,
                    self.context.project_dir,
                    only_files=run.chosen_files,
                    checker=checker,
                    source_files=run.source_files,
                    file_rows=file_rows,
                )
                phase = time.perf_counter()
                say(f"extracting {config.source}")
                handle.dlt_pipeline.extract(
                    resource,
                    loader_file_format="parquet",
                    # dlt's default when None (its annotation says Schema)
                    schema=_contract_schema(handle, options, table),  # type: ignore[arg-type]
                )
                details["extract_seconds"] = round(time.perf_counter() - phase, 3)

                phase = time.perf_counter()
                info = handle.dlt_pipeline.normalize()
                details["normalize_seconds"] = round(time.perf_counter() - phase, 3)
                rows = (info.row_counts if info else {}).get(handle.table_name, 0)
                say(f"extracted and normalized {rows:,} rows")

                if run.source_files is not None:
                    details["file_rows"] = file_rows
                _stop_if_cancelled(run, config.name)
                phase = time.perf_counter()
                self._commit_packages(handle, committer, outcomes, say, run)
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
                run_id=run.run_id,
            )
        rejected = handle.details.get("rejected_rows", 0)
        partial = None
        if rejected:
            # the good rows are committed; the asset decides what PARTIAL means (the
            # manifest's retry.retryable_categories)
            partial = PartialIngestionError(
                "ROWS_REJECTED",
                f"{rejected:,} row(s) rejected, kept in {rejects_table(config.destination_table)} "
                f"with the reason (load ids {', '.join(handle.details['rejected_load_ids'])})",
                source=config.name,
                failed_records=rejected,
                details={
                    "rejects_table": rejects_table(config.destination_table),
                    "load_ids": handle.details["rejected_load_ids"],
                    "rejects_sample": handle.details["rejects_sample"],
                },
            )
            say(f"warning: {partial.message}")
        return self._result(
            config.destination_table,
            partial is None,
            outcomes,
            details,
            started,
            error=partial,
            handle_details=handle.details,
            run_id=run.run_id,
        )

    # -- set-aside packages (`floe packages`) ----------------------------------------------

    def set_aside_packages(self, pipeline: str | None = None) -> list[SetAsidePackage]:
        return list_set_aside(Path(self.context.work_dir), pipeline)

    def retry_set_aside(
        self, config: IngestionConfig, load_id: str, *, progress: ProgressCallback | None = None
    ) -> CommitOutcome:
        """Commit a set-aside package now (through the same write path and idempotency: a
        package already committed is not committed again), then remove it. Its dlt state is
        not committed: the pipeline's cursors stay where later runs left them."""
        say = _safe_progress(progress)
        package = find_set_aside(Path(self.context.work_dir), config.name, load_id)
        settings = self.settings
        work_dir = Path(self.context.work_dir) / config.name
        with _working_dir_lock(work_dir, config.name, settings, say):
            catalog = load_catalog(
                self.context.catalog_name, **dict(self.context.catalog_properties)
            )
            committer = TableCommitter(
                catalog,
                config.destination_table,
                writer=config.name,
                attempts=settings.commit_attempts,
                progress=say,
            )
            outcome = committer.commit(_load(config, load_id, package.files, state=None))
            discard(package)
        return outcome

    def discard_set_aside(self, pipeline: str, load_id: str) -> None:
        discard(find_set_aside(Path(self.context.work_dir), pipeline, load_id))

    # -- helpers -------------------------------------------------------------------------

    def _committer(
        self, handle: DltPipeline, settings: DltPluginSettings, say: ProgressCallback
    ) -> TableCommitter:
        catalog = load_catalog(self.context.catalog_name, **dict(self.context.catalog_properties))
        return TableCommitter(
            catalog,
            handle.config.destination_table,
            writer=handle.config.name,
            attempts=settings.commit_attempts,
            progress=say,
        )

    def _commit_packages(
        self,
        handle: DltPipeline,
        committer: TableCommitter,
        outcomes: list[CommitOutcome],
        say: ProgressCallback,
        run: RunContext,
    ) -> None:
        """Commit every normalized package, oldest first, then retire it from dlt's storage.

        A package that fails for a reason a retry cannot fix (a schema change Iceberg cannot
        apply, a missing primary key) is set aside with the reason, and so is every later
        package (their state builds on it); the working dir's dlt state is then reset so the
        next run continues from the state committed in the table. A retryable failure (a
        commit conflict, an unreachable catalog) leaves the packages for the next attempt."""
        dlt_pipeline = handle.dlt_pipeline
        state: str | None = None
        load_ids = sorted(dlt_pipeline.list_normalized_load_packages())
        for position, load_id in enumerate(load_ids):
            files, others = _package_files(dlt_pipeline, load_id, handle.table_name)
            if others:
                handle.details.setdefault("ignored_files", []).extend(others)
                say(
                    f"warning: package {load_id} holds data this pipeline does not land "
                    f"(not committed): {', '.join(others)}"
                )
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
            try:
                self._commit_rejects(handle, committer, load_id, say, run)
                load = _load(handle.config, load_id, files, state, run)
                untyped: list[str] = []
                if not files:  # an empty first load creates the table (the columns it knows)
                    schema, untyped = _empty_table_schema(handle, load_id)
                    load = replace(load, schema=schema)
                outcome = committer.commit(load)
            except Exception as exc:
                error = to_ingestion_error(exc, source=handle.config.name)
                if not _retry_may_fix(error):
                    self._set_aside(handle, load_ids[position:], error, say)
                raise
            outcomes.append(outcome)
            if outcome.already_committed:
                say(f"load {load_id} was already committed (snapshot {outcome.snapshot_id})")
            elif outcome.snapshot_id is not None:
                say(
                    f"committed snapshot {outcome.snapshot_id} ({outcome.rows:,} rows, "
                    f"{len(outcome.files)} files, {outcome.bytes_written:,} bytes) to "
                    f"{handle.config.destination_table}"
                )
            elif outcome.table_created:
                say(f"created {handle.config.destination_table} without rows (an empty load)")
                if untyped:
                    say(
                        f"warning: columns {', '.join(untyped)} of "
                        f"{handle.config.destination_table} are text (an empty file's header "
                        "only): declare their types in dlt.columns"
                    )
            else:
                say(f"load {load_id}: nothing new for {handle.config.destination_table}")
            _retire_package(dlt_pipeline, load_id)

    def _commit_rejects(
        self,
        handle: DltPipeline,
        committer: TableCommitter,
        load_id: str,
        say: ProgressCallback,
        run: RunContext,
    ) -> None:
        """Commit the package's rejected rows to ``<table>__rejected``, tagged with the
        package's load id (so, like the rows, exactly once), before the rows themselves."""
        records = package_rejects(handle.dlt_pipeline, load_id)
        if not records:
            return
        identifier = rejects_table(handle.config.destination_table)
        path = write_rejects(records, handle.work_dir / "rejects" / f"{load_id}.parquet")
        try:
            outcome = TableCommitter(
                committer.catalog,
                identifier,
                writer=handle.config.name,
                attempts=committer.attempts,
                progress=say,
            ).commit(
                Load(
                    load_id=load_id,
                    files=[path],
                    mode="append",
                    constant_columns={LOAD_ID_COLUMN: load_id},
                    properties=_run_properties(run),
                )
            )
        finally:
            path.unlink(missing_ok=True)
        details = handle.details
        details["rejected_rows"] = details.get("rejected_rows", 0) + len(records)
        details.setdefault("rejected_load_ids", []).append(load_id)
        details["rejects_table"] = identifier
        details["rejects_sample"] = [*details.get("rejects_sample", []), *sample(records)][:10]
        done = "were already" if outcome.already_committed else "are now"
        say(f"{len(records):,} rejected row(s) of load {load_id} {done} in {identifier}")

    def _set_aside(
        self,
        handle: DltPipeline,
        load_ids: list[str],
        error: IngestionError,
        say: ProgressCallback,
    ) -> None:
        first = load_ids[0]
        for load_id in load_ids:
            files, _ = _package_files(handle.dlt_pipeline, load_id, handle.table_name)
            reason = error.to_dict()
            if load_id != first:
                reason = {
                    **reason,
                    "message": f"follows set-aside package {first}: {error.message}",
                }
            target = set_aside_package(
                handle.work_dir, handle.config.name, load_id, files, reason=reason
            )
            say(f"set aside package {load_id} in {target}: {reason['message']}")
        # the working dir's state and schema advanced past the set-aside data: start the next
        # run from the last state committed with the table instead
        handle.dlt_pipeline.drop()
        handle.forget()
        handle.details["set_aside_load_ids"] = load_ids

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
        run_id: str | None = None,
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
        details["commits"] = [o.as_details() for o in outcomes]
        details["bytes_written"] = sum(o.bytes_written for o in outcomes)
        merged = [o for o in outcomes if o.rows_updated is not None and not o.already_committed]
        if merged:
            details["rows_updated"] = sum(o.rows_updated or 0 for o in merged)
            details["rows_inserted"] = sum(o.rows_inserted or 0 for o in merged)
            details["rows_unchanged"] = sum(o.rows_unchanged or 0 for o in merged)
        return IngestionResult(
            success=success,
            rows_loaded=sum(o.rows for o in committed),
            tables_created=[table] if any(o.table_created for o in outcomes) else [],
            duration_seconds=time.perf_counter() - started,
            error=error,
            snapshot_id=snapshot_ids[-1] if snapshot_ids else None,
            commits=list(outcomes),
            phases=PhaseSeconds(
                extract=details.get("extract_seconds"),
                normalize=details.get("normalize_seconds"),
                commit=details.get("commit_seconds"),
            ),
            run_id=run_id,
            details=details,
        )


def _package_files(
    dlt_pipeline: dlt.Pipeline, load_id: str, table_name: str
) -> tuple[list[Path], list[str]]:
    """The package's parquet files for our table (in the order dlt wrote them), and what
    else it holds that this pipeline does not land: other tables (child tables of nested
    data) and non-parquet files, as ``table: file`` (dlt's own ``_dlt_*`` tables excepted)."""
    info = dlt_pipeline.get_load_package_info(load_id)
    files: list[Path] = []
    others: set[str] = set()
    for job in info.jobs.get("new_jobs", []):
        name = job.job_file_info.table_name
        if name == table_name and job.file_path.endswith(".parquet"):
            files.append(Path(job.file_path))
        elif not name.startswith("_dlt"):
            others.add(f"{name}: {Path(job.file_path).name}")
    files.sort(key=lambda path: (path.stat().st_mtime_ns, path.name))
    return files, sorted(others)


def _run_properties(run: RunContext | None) -> dict[str, str]:
    properties = {}
    if run is not None and run.run_id:
        properties[RUN_ID_PROPERTY] = run.run_id
    if run is not None and run.partition_key:
        properties[PARTITION_PROPERTY] = run.partition_key
    return properties


def _load(
    config: IngestionConfig,
    load_id: str,
    files: list[Path],
    state: str | None,
    run: RunContext | None = None,
) -> Load:
    properties = {STATE_PROPERTY: state} if state else {}
    properties.update(_run_properties(run))
    mode: WriteMode = config.write_disposition
    replace_filter = None
    landing = run.source_files if run is not None else None
    if landing is not None:
        # the rows earlier versions of these files contributed are replaced, never doubled:
        # merge deletes those whose key is gone, append becomes replace-where-file
        names = sorted(landing.recorded_name(name) for name in landing.checksums)
        # pyiceberg 0.12's In is a pydantic model whose __init__ mypy misreads
        replace_filter = In(normalize_identifier(landing.column), names)  # type: ignore[misc,call-arg,arg-type]
        if mode == "append":
            mode = "replace_where"
        properties[LANDING_FILES_PROPERTY] = json.dumps(
            {landing.recorded_name(name): sha for name, sha in sorted(landing.checksums.items())},
            separators=(",", ":"),
        )
    return Load(
        load_id=load_id,
        files=files,
        mode=mode,
        primary_key=[normalize_identifier(key) for key in config.primary_key],
        ignore_in_comparison=LOAD_COLUMNS,
        replace_filter=replace_filter,
        constant_columns={LOAD_ID_COLUMN: load_id},
        properties=properties,
    )


def _empty_table_schema(handle: DltPipeline, load_id: str) -> tuple[pa.Schema | None, list[str]]:
    """The columns a load without rows knows — the declared ones (typed) and those of the
    files' headers (text, unless declared), plus dlt's load columns — and the untyped ones.
    None: no column is known."""
    declared = DltOptions.model_validate(dict(handle.config.options)).declared_columns
    header = package_columns(handle.dlt_pipeline, load_id)
    names = list(dict.fromkeys([*header, *declared]))
    if not names:
        return None, []
    untyped = [name for name in names if name not in declared]
    fields = [
        pa.field(name, arrow_type(declared[name]) if name in declared else pa.string())
        for name in names
    ]
    load_columns = [pa.field(name, pa.string()) for name in LOAD_COLUMNS]
    return pa.schema([*fields, *load_columns]), untyped


def _contract_schema(
    handle: DltPipeline, options: DltOptions, table: Table | None
) -> Schema | None:
    """For a schema contract: dlt's schema holding the Iceberg table's columns, so that dlt
    sees them as existing (the local schema is emptied before each run, and for a table dlt
    has never seen every column is new). None without a contract: dlt infers afresh."""
    if options.contract is None:
        return None
    dlt_pipeline = handle.dlt_pipeline
    name = dlt_pipeline.default_schema_name or dlt_pipeline.pipeline_name
    schema = Schema(name)
    if table is not None:
        columns = [
            {"name": column, "data_type": data_type, "nullable": True}
            for column, data_type in {
                **table_types(table.schema()),
                **dict.fromkeys(LOAD_COLUMNS, "text"),
            }.items()
        ]
        schema.update_table(new_table(handle.table_name, columns=columns))  # type: ignore[arg-type]
    return schema


def _stop_if_cancelled(run: RunContext, pipeline: str) -> None:
    if run.is_cancelled():
        raise PermanentIngestionError(
            "CANCELLED", f"run of {pipeline} was cancelled", source=pipeline
        )


def _retry_may_fix(error: IngestionError) -> bool:
    return isinstance(error, TransientIngestionError) or error.retryable


def _forget_local_schemas(dlt_pipeline: dlt.Pipeline) -> None:
    """Empty dlt's stored schemas (not its state): the table's schema decides evolution.

    Kept under the same names (an empty schema each): dlt expects the pipeline's schemas to
    exist, and infers the tables of an empty one afresh from the data."""
    for name in list(dlt_pipeline.schema_names):
        dlt_pipeline.schemas.save_schema(Schema(name))


@contextmanager
def _working_dir_lock(
    work_dir: Path, pipeline: str, settings: DltPluginSettings, say: ProgressCallback
) -> Iterator[None]:
    """Hold the pipeline's working-dir lock for the whole run (an OS lock: released when the
    process dies, even by SIGKILL)."""
    work_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(work_dir / LOCK_FILE)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        say(
            f"another run of {pipeline} holds {lock.lock_file}: waiting up to "
            f"{settings.lock_timeout_seconds}s"
        )
        try:
            lock.acquire(timeout=settings.lock_timeout_seconds)
        except Timeout:
            raise TransientIngestionError(
                "PIPELINE_BUSY",
                f"another run of pipeline {pipeline} is still in progress "
                f"(lock {lock.lock_file} held for more than {settings.lock_timeout_seconds}s)",
                source=pipeline,
            ) from None
    try:
        yield
    finally:
        lock.release()


def _lock_timeout(plugin_config: Mapping[str, Any]) -> float:
    try:
        return DltPluginSettings.model_validate(dict(plugin_config)).lock_timeout_seconds
    except ValidationError:  # reported by the run, with the rest of the settings' problems
        return DltPluginSettings().lock_timeout_seconds


def _finish_interrupted_housekeeping(dlt_pipeline: dlt.Pipeline) -> None:
    """Undo what a process killed in the middle of dlt's own bookkeeping left behind.

    * Killed inside normalize's commit (package moved to `normalized/`, its extracted copy
      not yet deleted): normalizing the copy again fails on the rename for every later run,
      so the copy of a load id that is already normalized goes.
    * Killed inside our cleanup (`complete_load_package` done, `delete_package` not): the
      committed package would stay in `loaded/` forever."""
    normalized = set(dlt_pipeline.list_normalized_load_packages())
    extracted = dlt_pipeline._get_normalize_storage().extracted_packages
    for load_id in dlt_pipeline.list_extracted_load_packages():
        if load_id in normalized:
            extracted.delete_package(load_id)
    storage = dlt_pipeline._get_load_storage()
    for load_id in dlt_pipeline.list_completed_load_packages():
        storage.loaded_packages.delete_package(load_id, not_exists_ok=True)


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
