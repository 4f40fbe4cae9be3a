"""The ingestion plugin interface (ADR-0020) and its error taxonomy.

Every ingestion plugin — the embedded dlt one, the external Airbyte one, or a third-party
package registered under the ``floe.ingestion`` entry-point group — implements
:class:`IngestionPlugin`. Plugins land data in an Apache Iceberg table registered in the
platform's catalog and report failures as :class:`IngestionError` subclasses, whose type carries
the retry decision.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

if TYPE_CHECKING:  # the shared write path imports this module's errors
    from plugins.iceberg import CommitOutcome

WriteDisposition = Literal["append", "replace", "merge"]


class ErrorCategory(enum.StrEnum):
    """How a failure should be handled (ADR-0020 / ADR-0025)."""

    TRANSIENT = "TRANSIENT"
    """Temporary (rate limit, timeout, commit conflict): safe to retry."""
    PERMANENT = "PERMANENT"
    """Unrecoverable without a change to the source or data: do not retry."""
    PARTIAL = "PARTIAL"
    """Some records failed; `failed_records` says how many."""
    CONFIGURATION = "CONFIGURATION"
    """The pipeline or platform configuration is wrong: fix it, do not retry."""


class IngestionError(Exception):
    """A structured ingestion failure. Raise one of the category subclasses below."""

    category: ClassVar[ErrorCategory] = ErrorCategory.PERMANENT
    retryable_by_default: ClassVar[bool] = False

    def __init__(
        self,
        code: str,
        message: str,
        *,
        source: str,
        retryable: bool | None = None,
        retry_after_seconds: int | None = None,
        failed_records: int | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(f"[{self.category}/{code}] {message}")
        self.code = code
        self.message = message
        self.source = source
        self.retryable = self.retryable_by_default if retryable is None else retryable
        self.retry_after_seconds = retry_after_seconds
        self.failed_records = failed_records
        self.details: dict[str, Any] = dict(details or {})

    def to_dict(self) -> dict[str, Any]:
        """The ADR-0020 error response format (used in metadata, alerts and lineage facets)."""
        return {
            "category": str(self.category),
            "code": self.code,
            "message": self.message,
            "source": self.source,
            "retryable": self.retryable,
            "retry_after_seconds": self.retry_after_seconds,
            "failed_records": self.failed_records,
            "details": self.details,
        }


class TransientIngestionError(IngestionError):
    category = ErrorCategory.TRANSIENT
    retryable_by_default = True


class PermanentIngestionError(IngestionError):
    category = ErrorCategory.PERMANENT


class PartialIngestionError(IngestionError):
    """Some records failed (`failed_records`) and the rest were committed: the result that
    carries it reports the committed rows too. Retryable, so that the manifest's
    ``retry.retryable_categories`` decides what PARTIAL means (ADR-0020: "configurable")."""

    category = ErrorCategory.PARTIAL
    retryable_by_default = True


class ConfigurationIngestionError(IngestionError):
    category = ErrorCategory.CONFIGURATION


ERROR_CLASSES: dict[ErrorCategory, type[IngestionError]] = {
    ErrorCategory.TRANSIENT: TransientIngestionError,
    ErrorCategory.PERMANENT: PermanentIngestionError,
    ErrorCategory.PARTIAL: PartialIngestionError,
    ErrorCategory.CONFIGURATION: ConfigurationIngestionError,
}


@dataclass(frozen=True)
class PluginContext:
    """What the platform gives every plugin: where the catalog is and where to keep state."""

    catalog_name: str
    catalog_properties: Mapping[str, str] = field(repr=False)
    """Keyword arguments for ``pyiceberg.catalog.load_catalog(catalog_name, **props)``."""
    work_dir: Path
    """A directory the plugin owns for local state (one sub-directory per pipeline)."""
    plugin_config: Mapping[str, Any] = field(default_factory=dict)
    """The manifest's ``plugins.ingestion.config`` block for this plugin type."""
    project_dir: Path = field(default_factory=Path.cwd)
    """The directory holding floe.yaml: relative local paths in source config resolve here."""


@dataclass(frozen=True)
class IngestionConfig:
    """One resolved ``floe.yaml`` ingestion entry, as a plugin sees it."""

    name: str
    source: str
    """dlt: a built-in (``dlt.sources.filesystem``) or ``package.module:function``;
    airbyte: the connection id."""
    destination_table: str
    """``<namespace>.<table>`` in the platform catalog."""
    write_disposition: WriteDisposition = "append"
    primary_key: tuple[str, ...] = ()
    incremental: Mapping[str, Any] | None = None
    secret_refs: Mapping[str, str] = field(default_factory=dict)
    """Argument name -> secret reference (what the config says; safe to show)."""
    secrets: Mapping[str, str] = field(default_factory=dict, repr=False)
    """Argument name -> resolved secret value. Never log, never put in metadata."""
    options: Mapping[str, Any] = field(default_factory=dict)
    """The plugin block of the entry (``dlt:`` or ``airbyte:``) without ``source``."""

    @property
    def namespace(self) -> str:
        return self.destination_table.split(".", 1)[0]

    @property
    def table(self) -> str:
        return self.destination_table.split(".", 1)[1]


def _never_cancelled() -> bool:
    return False


@dataclass(frozen=True)
class SourceFiles:
    """Landing-zone files of one run, each with its content checksum.

    A plugin that gets them loads exactly these files, keeps each row's file in ``column``,
    and makes the commit *replace* the rows an earlier version of each file contributed (so a
    changed file never duplicates rows). The snapshot records ``{file: checksum}`` under
    :data:`LANDING_FILES_PROPERTY`, which lets the platform reconcile its manifest after a
    crash between the commit and the manifest write.
    """

    checksums: Mapping[str, str]
    """File name relative to the source's directory -> SHA-256 (hex) of the content read."""
    column: str = "_floe_source_file"
    """The bronze column holding each row's file (``prefix`` + name)."""
    prefix: str = ""
    """Prepended to each name in ``column`` and in the snapshot: the source's folder under
    the landing-zone root, so names are the manifest's ``source_filename``."""

    def recorded_name(self, name: str) -> str:
        return f"{self.prefix}{name}"


LANDING_FILES_PROPERTY = "floe.landing.files"
"""Snapshot summary property: JSON ``{source_filename: checksum}`` of the files committed."""


@dataclass(frozen=True)
class RunContext:
    """Which run a load belongs to: what the platform tells a plugin for one run."""

    run_id: str | None = None
    """The orchestrator's run id (Dagster's), recorded with every commit of the run."""
    partition_key: str | None = None
    """The partition being materialized, for partitioned assets."""
    files: tuple[str, ...] | None = None
    """For file sources: exactly these files (names relative to the source's directory), as
    a landing-zone sensor chose them; None reads whatever the source's glob matches."""
    is_cancelled: Callable[[], bool] = field(default=_never_cancelled, repr=False)
    """True once the run was asked to stop: plugins check it between phases."""
    source_files: SourceFiles | None = None
    """Landing-zone files (replacing their earlier rows); implies ``files``."""

    @property
    def chosen_files(self) -> tuple[str, ...] | None:
        """The explicit file list of the run, if any."""
        if self.source_files is not None:
            return tuple(self.source_files.checksums)
        return self.files


@dataclass(frozen=True)
class PhaseSeconds:
    """Wall time of each phase of a run (None: the phase did not run)."""

    extract: float | None = None
    normalize: float | None = None
    commit: float | None = None


@dataclass(frozen=True)
class IngestionResult:
    """The outcome of one run. On failure, `error` is set and `success` is False. A PARTIAL
    error (rows rejected) comes with what was committed: rows, commits, snapshot."""

    success: bool
    rows_loaded: int
    tables_created: list[str]
    duration_seconds: float
    error: IngestionError | None = None
    snapshot_id: int | None = None
    """The Iceberg snapshot this run committed (None when nothing was committed)."""
    commits: list[CommitOutcome] = field(default_factory=list)
    """One entry per load the run committed (or found committed): rows, files, bytes."""
    phases: PhaseSeconds = field(default_factory=PhaseSeconds)
    run_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    """Plugin-specific extras (dlt pipeline name, restored state) for run metadata."""


ProgressCallback = Callable[[str], None]


class IngestionPlugin(ABC):
    """Interface for data ingestion/EL plugins. All plugins MUST write Iceberg via the catalog."""

    name: ClassVar[str]
    version: ClassVar[str]
    is_external: ClassVar[bool]
    options_model: ClassVar[type[Any] | None] = None
    """The pydantic model of the entry's plugin block (``dlt:``, ``plugin:``); the platform
    validates the block with it (line-numbered errors, JSON Schema). None: validate() only."""
    incremental_model: ClassVar[type[Any] | None] = None
    """The pydantic model of the entry's ``incremental:`` block, if the plugin supports one."""
    settings_model: ClassVar[type[Any] | None] = None
    """The pydantic model of the manifest's ``plugins.ingestion.config`` for this type (the
    platform validates it with line-numbered errors); None: the plugin checks it at run time."""

    def __init__(self, context: PluginContext) -> None:
        self.context = context

    def validate(self, config: IngestionConfig) -> list[tuple[str, str]]:
        """Config-time checks that need the plugin (e.g. the source can be imported).

        Returns ``(key, message)`` pairs where ``key`` is a path relative to the entry's plugin
        block (``"source"``, ``"config.bucket_url"``); empty when all is well. Must not touch
        the network or the catalog.
        """
        return []

    @abstractmethod
    def create_pipeline(self, config: IngestionConfig) -> Any:
        """Build the runnable pipeline (a dlt pipeline, an Airbyte connection handle)."""

    @abstractmethod
    def run(
        self,
        pipeline: Any,
        *,
        progress: ProgressCallback | None = None,
        run_context: RunContext | None = None,
    ) -> IngestionResult:
        """Execute the pipeline. Never raises for data/source failures: returns a result with
        `error` set to an :class:`IngestionError` subclass. Commits go through the shared
        write path (``plugins.iceberg.TableCommitter``)."""

    @abstractmethod
    def get_destination_config(self) -> dict[str, Any]:
        """The destination settings the plugin uses to write Iceberg through the catalog."""
