"""The ``platform-manifest.yaml`` models: what the platform team decides once for all pipelines.

Relative local paths (the SQLite catalog, a local warehouse, the storage root, a secrets
directory) are resolved against the manifest's own directory, passed by the loader as the
validation context ``{"base_dir": Path}``, so the platform behaves the same from any working
directory. Nothing is created at load time; :meth:`PlatformManifest.prepare_local_storage` does
that when the platform actually needs the directories.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlparse

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from platform_defs.config.alerts import AlertsConfig
from platform_defs.config.landing import LandingZoneConfig
from platform_defs.config.models import FileVersion, SecretRef, valid_cron
from platform_defs.config.ops import OpsConfig
from platform_defs.config.secrets import SecretResolver, SecretValues

RetryCategory = Literal["TRANSIENT", "PERMANENT", "PARTIAL", "CONFIGURATION"]
MiB = 1024 * 1024


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _absolute(path: str, base: Path) -> str:
    candidate = Path(path).expanduser()
    return str(candidate if candidate.is_absolute() else (base / candidate).resolve())


def resolve_sqlite_uri(uri: str, base: Path) -> str:
    """``sqlite:///rel/cat.db`` -> ``sqlite:////abs/rel/cat.db``; other URIs unchanged."""
    prefix = "sqlite:///"
    if not uri.startswith(prefix):
        return uri
    location, sep, query = uri[len(prefix) :].partition("?")
    if not location or location == ":memory:" or location.startswith("/"):
        return uri
    return f"{prefix}{(base / location).resolve()}{sep}{query}"


def resolve_warehouse(warehouse: str, base: Path) -> str:
    """A relative path or ``file://`` relative path -> an absolute ``file:///`` URI."""
    if warehouse.startswith("file://"):
        location = warehouse[len("file://") :]
        return warehouse if location.startswith("/") else (base / location).resolve().as_uri()
    if "://" in warehouse:  # s3://, gs://, abfs://: remote, nothing to resolve
        return warehouse
    return (base / Path(warehouse).expanduser()).resolve().as_uri()


class IngestionPluginSettings(_Model):
    """The platform-wide settings of the default ingestion plugin."""

    type: str = Field(
        default="dlt", min_length=1, description="Default ingestion plugin (entry-point name)."
    )
    config: dict[str, Any] = Field(
        default_factory=dict,
        description="Plugin settings passed to the plugin as PluginContext.plugin_config.",
    )


class PluginsConfig(_Model):
    ingestion: IngestionPluginSettings = Field(
        default_factory=IngestionPluginSettings, description="The ingestion plugin."
    )


class CatalogConfig(_Model):
    """The Iceberg catalog every bronze table is registered in."""

    name: str = Field(default="floe", min_length=1, description="Catalog name in pyiceberg.")
    type: Literal["sql", "rest"] = Field(
        default="sql", description="sql: SQLite/PostgreSQL via SQLAlchemy; rest: a REST catalog."
    )
    uri: str = Field(
        min_length=1,
        description=(
            "sql: a SQLAlchemy URL (sqlite:///.floe/catalog.db is relative to the manifest; "
            "postgresql+psycopg://user@host:5432/db); rest: the catalog's HTTP endpoint."
        ),
    )
    warehouse: str = Field(
        min_length=1,
        description=(
            "Where table data lives: a local path (relative to the manifest), file://, s3://, "
            "...; for a REST catalog, what the server expects (often a warehouse name)."
        ),
    )
    properties: dict[str, str] = Field(
        default_factory=dict,
        description="Extra pyiceberg catalog properties (e.g. s3.path-style-access).",
    )

    @field_validator("properties", mode="before")
    @classmethod
    def _scalars_as_strings(cls, value: Any) -> Any:
        # pyiceberg properties are strings; YAML turns `true` / `5` into bool / int.
        if not isinstance(value, dict):
            return value
        return {
            key: (str(item).lower() if isinstance(item, bool) else str(item))
            if isinstance(item, bool | int | float)
            else item
            for key, item in value.items()
        }

    def pyiceberg_properties(self) -> dict[str, str]:
        """Keyword arguments for ``pyiceberg.catalog.load_catalog(self.name, **props)``."""
        return {
            "type": self.type,
            "uri": self.uri,
            "warehouse": self.warehouse,
            **self.properties,
        }


class S3Config(_Model):
    """S3-compatible object storage for the warehouse; credentials only by secret reference."""

    endpoint: str | None = Field(default=None, description="Endpoint URL (MinIO, R2, ...).")
    region: str | None = Field(default=None, description="Region, e.g. eu-west-1.")
    access_key_id_ref: SecretRef | None = Field(
        default=None, description="Secret reference holding the access key id."
    )
    secret_access_key_ref: SecretRef | None = Field(
        default=None, description="Secret reference holding the secret access key."
    )


class StorageConfig(_Model):
    """Where the platform keeps local state."""

    root: str = Field(
        default=".floe",
        description=(
            "Local working area, relative to the manifest: dlt working dirs (dlt/), "
            "marts DuckDB (floe.duckdb), Dagster home (dagster/)."
        ),
    )
    s3: S3Config | None = Field(default=None, description="Object storage settings.")

    @property
    def root_path(self) -> Path:
        return Path(self.root)

    @property
    def dlt_dir(self) -> Path:
        """Parent of every pipeline's dlt working directory."""
        return self.root_path / "dlt"

    @property
    def marts_database(self) -> Path:
        """The DuckDB file dbt builds the marts in."""
        return self.root_path / "floe.duckdb"

    @property
    def dagster_home(self) -> Path:
        return self.root_path / "dagster"


class RetryPolicy(_Model):
    """How failed ingestion runs are retried (ADR-0020 categories)."""

    max_attempts: int = Field(default=3, ge=1, description="Attempts in total, the first included.")
    initial_delay_seconds: float = Field(
        default=5, ge=0, description="Delay before the first retry."
    )
    max_delay_seconds: float = Field(default=300, ge=0, description="Cap on any single delay.")
    backoff_multiplier: float = Field(
        default=2.0, ge=1, description="Each delay is the previous one times this."
    )
    retryable_categories: list[RetryCategory] = Field(
        default_factory=lambda: list[RetryCategory](["TRANSIENT"]),
        description="Error categories that are retried; others fail the run at once.",
    )

    def delay_seconds(self, retry_number: int) -> float:
        """Delay before retry ``retry_number`` (1 = the first retry), capped."""
        delay = self.initial_delay_seconds * self.backoff_multiplier ** max(retry_number - 1, 0)
        return min(delay, self.max_delay_seconds)

    def is_retryable(self, category: str) -> bool:
        return str(category) in self.retryable_categories


class MaintenancePolicy(_Model):
    """Retention and compaction of every bronze table, applied by the `floe_maintenance` job."""

    schedule: str = Field(
        default="0 3 * * *",
        description="Cron expression (5 fields, or @daily/...) of the floe_maintenance schedule.",
    )
    expire_snapshots_older_than_days: float = Field(
        default=7,
        ge=0,
        description="Snapshots older than this are expired (with the files only they reference).",
    )
    keep_last_snapshots: int = Field(
        default=5,
        ge=1,
        description="The newest snapshots always kept, however old (the current one included).",
    )
    orphan_files_older_than_hours: float = Field(
        default=24,
        ge=1,
        description=(
            "Files under a table's data/ and metadata/ that no snapshot or metadata file "
            "references are deleted once older than this: a younger one may belong to a "
            "commit still in flight."
        ),
    )
    metadata_previous_versions_max: int = Field(
        default=10,
        ge=1,
        description=(
            "Previous metadata.json files a table keeps; set on each table as Iceberg's "
            "write.metadata.previous-versions-max with write.metadata.delete-after-commit."
            "enabled=true, so every later commit deletes the older ones."
        ),
    )
    compact_when_small_files_at_least: int = Field(
        default=10,
        ge=2,
        description="A table is compacted when it has at least this many small data files.",
    )
    small_file_bytes: int = Field(
        default=32 * MiB, ge=1, description="A data file smaller than this is a small file."
    )
    target_file_bytes: int = Field(
        default=128 * MiB,
        ge=1,
        description=(
            "Compaction rewrites small files in groups of up to this many bytes (on disk), each "
            "group into one file; it bounds the memory a rewrite needs."
        ),
    )

    @field_validator("schedule")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        return valid_cron(value)


class SecretsConfig(_Model):
    """Where secret references are resolved. Values are read at use, never stored or logged."""

    backend: Literal["env", "file"] = Field(
        default="env",
        description="env: environment variables; file: one file per secret in `directory`.",
    )
    directory: str | None = Field(
        default=None,
        description="file backend: directory holding one file per secret, named by the ref "
        "(relative to the manifest; e.g. /run/secrets).",
    )
    env_prefix: str = Field(
        default="FLOE_SECRET_",
        description="env backend: ref 'airbyte-api-token' reads FLOE_SECRET_AIRBYTE_API_TOKEN.",
    )

    def resolver(self) -> SecretResolver:
        return SecretResolver(
            backend=self.backend,
            directory=Path(self.directory) if self.directory else None,
            env_prefix=self.env_prefix,
        )


class PlatformManifest(_Model):
    """``platform-manifest.yaml``: catalog, storage, retries, table maintenance and secrets."""

    model_config = ConfigDict(
        extra="forbid",
        title="platform-manifest.yaml",
        json_schema_extra={"$id": "platform-manifest.schema.json"},
    )

    version: FileVersion = Field(default=1, description="File format version; only 1 exists.")
    plugins: PluginsConfig = Field(
        default_factory=PluginsConfig, description="Plugin defaults and settings."
    )
    catalog: CatalogConfig = Field(description="The Iceberg catalog.")
    storage: StorageConfig = Field(
        default_factory=StorageConfig, description="Local working area and object storage."
    )
    retry: RetryPolicy = Field(default_factory=RetryPolicy, description="Retry policy.")
    maintenance: MaintenancePolicy = Field(
        default_factory=MaintenancePolicy,
        description="Snapshot expiry, orphan file removal and compaction of the bronze tables.",
    )
    secrets: SecretsConfig = Field(
        default_factory=SecretsConfig, description="Secrets backend for every *_ref / secret_refs."
    )
    ops: OpsConfig = Field(
        default_factory=OpsConfig,
        validate_default=True,  # so a default SQLite file is resolved against the manifest too
        description="The ops store: landing-zone manifest, pipeline runs, alerts sent.",
    )
    alerts: AlertsConfig = Field(
        default_factory=AlertsConfig,
        description="Failed-run alerts: channels (webhook, email), UI link, delivery retries.",
    )
    landing_zone: LandingZoneConfig = Field(
        default_factory=LandingZoneConfig,
        description="The landing zone feeding floe.yaml pipelines marked landing_zone: true.",
    )

    @model_validator(mode="after")
    def _resolve_local_paths(self, info: ValidationInfo) -> PlatformManifest:
        # Here rather than on each field: defaults (storage.root) must be resolved too.
        context = info.context if isinstance(info.context, dict) else {}
        if context.get("base_dir") is None:
            return self
        base = Path(context["base_dir"])
        self.storage.root = _absolute(self.storage.root, base)
        self.landing_zone.root = _absolute(self.landing_zone.root, base)
        if self.secrets.directory is not None:
            self.secrets.directory = _absolute(self.secrets.directory, base)
        if self.catalog.type == "sql":  # a REST catalog's warehouse is the server's business
            self.catalog.uri = resolve_sqlite_uri(self.catalog.uri, base)
            self.catalog.warehouse = resolve_warehouse(self.catalog.warehouse, base)
        return self

    def pyiceberg_properties(self, *, resolve_secrets: bool = True) -> dict[str, str]:
        """Catalog properties plus the S3 settings.

        With ``resolve_secrets`` the S3 keys are read from the secrets backend (raising
        :class:`~platform_defs.config.secrets.SecretNotFoundError`) and the result's repr masks
        them; without, the keys are left out (safe for display and validation).
        """
        props = SecretValues(self.catalog.pyiceberg_properties())
        s3 = self.storage.s3
        if s3 is None:
            return props
        if s3.endpoint:
            props["s3.endpoint"] = s3.endpoint
        if s3.region:
            props["s3.region"] = s3.region
        if resolve_secrets:
            resolver = self.secrets.resolver()
            for key, ref in (
                ("s3.access-key-id", s3.access_key_id_ref),
                ("s3.secret-access-key", s3.secret_access_key_ref),
            ):
                if ref:
                    props[key] = resolver.resolve(ref).get_secret_value()
        return props

    def prepare_local_storage(self) -> None:
        """Create the local directories the platform writes to (storage root, SQLite catalog
        parent, local warehouse). Called at use, never at load."""
        self.storage.root_path.mkdir(parents=True, exist_ok=True)
        if self.catalog.uri.startswith("sqlite:////"):
            db_path = Path(self.catalog.uri[len("sqlite:///") :].partition("?")[0])
            db_path.parent.mkdir(parents=True, exist_ok=True)
        if self.catalog.warehouse.startswith("file:///"):
            Path(unquote(urlparse(self.catalog.warehouse).path)).mkdir(parents=True, exist_ok=True)
