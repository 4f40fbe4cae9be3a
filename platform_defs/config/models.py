"""The ``floe.yaml`` models: what the data team declares, one entry per ingestion pipeline.

The models check each value on its own (types, formats, cron syntax). Rules that relate
entries or need code — duplicates, a ``dlt:`` block for ``type: dlt``, importable sources,
installed plugins — live in :mod:`platform_defs.config.checks`, so that all of them can be
reported together with a line number; :func:`platform_defs.config.load_project` runs both.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from croniter import croniter  # type: ignore[import-untyped]  # croniter ships no stubs
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)

SLUG_PATTERN = r"^[a-z][a-z0-9_]*$"
DESTINATION_PATTERN = r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$"
SECRET_REF_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"

PATTERN_DESCRIPTIONS: dict[str, str] = {
    SLUG_PATTERN: "lower-case letters, digits and '_', starting with a letter",
    DESTINATION_PATTERN: (
        "'<namespace>.<table>', each part lower-case letters, digits and '_', "
        "starting with a letter"
    ),
}
"""How error messages explain each pattern (see :mod:`platform_defs.config.pydantic_issues`)."""

Slug = Annotated[str, Field(pattern=SLUG_PATTERN)]


def _supported_version(value: int) -> int:
    if value != 1:
        raise ValueError(f"{value} is not supported (this floe reads version 1)")
    return value


def valid_cron(value: str) -> str:
    """`value` if it is a cron expression Dagster accepts, else a ValueError naming it."""
    # Same rule as Dagster's is_valid_cron_string: croniter-valid and exactly 5 fields.
    if not croniter.is_valid(value) or len(croniter.expand(value)[0]) != 5:
        raise ValueError(
            f"{value!r} is not a valid cron expression "
            "(5 fields: minute hour day-of-month month day-of-week, or @hourly/@daily/...)"
        )
    return value


FileVersion = Annotated[int, AfterValidator(_supported_version)]
"""The `version:` of floe.yaml and platform-manifest.yaml (both at format 1)."""
NOT_A_SECRET_REFERENCE = (
    "not a secret reference (the value is not shown: it may be the secret itself). Give the "
    "name of a secret in the manifest's secrets backend (letters, digits, '_', '.' and '-', "
    "e.g. orders-db) and put the value in the backend"
)


def _secret_reference(value: Any) -> Any:
    """A reference, or an error that does not repeat the value: a user who pastes the secret
    where its name belongs must not see it echoed in `floe validate`, CI logs or Dagster's
    code-location error (issue 7, item 8)."""
    if not isinstance(value, str) or not re.match(SECRET_REF_PATTERN, value):
        raise ValueError(NOT_A_SECRET_REFERENCE)
    return value


def _secret_references(value: Any) -> Any:
    if not isinstance(value, dict):
        raise ValueError(
            "expected a mapping of source argument -> secret reference (the value is not "
            "shown: it may be the secret itself)"
        )
    return value


SecretRef = Annotated[
    str,
    BeforeValidator(_secret_reference),
    Field(
        description="Name of a secret in the manifest's secrets backend (never the value).",
        json_schema_extra={"pattern": SECRET_REF_PATTERN},
    ),
]


class _Model(BaseModel):
    """Unknown keys are errors: a typo must not silently become a default."""

    model_config = ConfigDict(extra="forbid")


class Incremental(BaseModel):
    """``incremental:`` as the platform reads it: a mapping whose keys the entry's plugin owns.

    The loader validates it with the plugin's ``incremental_model`` (for ``type: dlt``,
    ``DltIncremental`` in ``plugins/dlt/options.py``: ``cursor_path``, ``initial_value``, ...),
    so the keys are defined once, next to the code that uses them."""

    model_config = ConfigDict(extra="allow")


class DltSource(BaseModel):
    """The ``dlt:`` block as the platform reads it: ``source`` names what to run.

    Every key is the dlt plugin's: the loader validates the block with the plugin's
    ``options_model`` (``DltBlock`` in ``plugins/dlt/options.py``), and the JSON Schema of
    ``floe.yaml`` is generated from that model."""

    model_config = ConfigDict(extra="allow")

    source: str = Field(min_length=1, description="The dlt source to run.")


class AirbyteConnection(_Model):
    """The ``airbyte:`` block: an existing connection in an external Airbyte workspace."""

    connection_id: str = Field(
        min_length=1, description="The Airbyte connection to trigger and watch."
    )


class PluginOptions(_Model):
    """The ``plugin:`` block of an entry whose type is a third-party plugin."""

    source: str = Field(min_length=1, description="What the plugin should ingest.")
    config: dict[str, Any] = Field(
        default_factory=dict, description="Plugin-specific settings, passed as options."
    )


BUILT_IN_BLOCKS = ("dlt", "airbyte")
PLATFORM_TABLES = frozenset(
    {"bronze.output_port_query_stats_daily", "bronze.tech_asset_stats_daily"}
)
"""Bronze tables the platform itself writes (the usage push, platform_defs/usage): a floe.yaml
pipeline writing one would be a second source of it, and a second asset with its key."""
LANDING_SOURCE = "dlt.sources.filesystem"


class IngestionPipeline(_Model):
    """One ``floe.yaml`` ingestion entry: one source landing one Iceberg bronze table."""

    name: Slug = Field(
        description="Unique pipeline name; also names the dlt pipeline and its working dir."
    )
    type: str = Field(
        default="dlt",
        min_length=1,
        description=(
            "Ingestion plugin: an entry point in the 'floe.ingestion' group "
            "('dlt' built in; 'airbyte' and third-party plugins when installed)."
        ),
    )
    destination: str = Field(
        pattern=DESTINATION_PATTERN,
        description="Iceberg table '<namespace>.<table>' in the platform catalog.",
    )
    write_disposition: Literal["append", "replace", "merge"] = Field(
        default="append",
        description="append: add rows; replace: swap the table's content; merge: upsert "
        "on primary_key.",
    )
    primary_key: Annotated[
        list[str] | None,
        WithJsonSchema(
            {
                "anyOf": [
                    {"type": "string"},
                    {"type": "array", "items": {"type": "string"}},
                    {"type": "null"},
                ]
            }
        ),
    ] = Field(
        default=None,
        description="Column(s) identifying a row; required for merge. A string is one column.",
    )
    incremental: Incremental | None = Field(
        default=None, description="Incremental loading on a cursor column."
    )
    schedule: str | None = Field(
        default=None,
        description="Cron expression (5 fields, or @hourly/@daily/...) for a Dagster schedule.",
    )
    secret_refs: Annotated[dict[str, SecretRef], BeforeValidator(_secret_references)] = Field(
        default_factory=dict,
        description="Source argument name -> secret reference, resolved at run time.",
    )
    description: str | None = Field(
        default=None, description="What this data is, shown on the asset in Dagster."
    )
    landing_zone: bool = Field(
        default=False,
        description=(
            "Fed by the landing zone (dlt.sources.filesystem only): bucket_url is a folder "
            "under the manifest's landing_zone.root; a sensor ingests each new or changed file "
            "once, and a changed file replaces the rows it contributed before."
        ),
    )
    dlt: DltSource | None = Field(default=None, description="Required when type is 'dlt'.")
    airbyte: AirbyteConnection | None = Field(
        default=None, description="Required when type is 'airbyte'."
    )
    plugin: PluginOptions | None = Field(
        default=None, description="Required when type is a third-party plugin."
    )

    @field_validator("primary_key", mode="before")
    @classmethod
    def _one_column_as_list(cls, value: Any) -> Any:
        columns = [value] if isinstance(value, str) else value
        for column in columns if isinstance(columns, list) else []:
            if isinstance(column, str) and "," in column:
                # `primary_key: order_id, qty` is YAML for one string: dlt would key on a
                # column named `order_id_qty` and fail at run time
                parts = ", ".join(part.strip() for part in column.split(",") if part.strip())
                raise ValueError(
                    f"{column!r} is one string, and a string names one column: for several "
                    f"columns write a list, [{parts}]"
                )
        return columns

    @field_validator("destination")
    @classmethod
    def _not_a_platform_table(cls, value: str) -> str:
        if value in PLATFORM_TABLES:
            raise ValueError(
                f"{value} is written by the platform's usage push (the API's pushed days, "
                "docs/usage-ingestion.md); choose another destination"
            )
        return value

    @field_validator("schedule")
    @classmethod
    def _valid_cron(cls, value: str | None) -> str | None:
        return None if value is None else valid_cron(value)

    @model_validator(mode="after")
    def _landing_zone_reads_local_files(self) -> IngestionPipeline:
        if not self.landing_zone:
            return self
        if self.dlt is None or self.dlt.source != LANDING_SOURCE:
            raise ValueError(
                f"landing_zone: true needs a dlt pipeline with source {LANDING_SOURCE}"
            )
        config = (self.dlt.model_extra or {}).get("config")
        bucket_url = str(config.get("bucket_url", "")) if isinstance(config, dict) else ""
        if not bucket_url or "://" in bucket_url or bucket_url.startswith("/"):
            raise ValueError(
                f"landing_zone: true reads a folder under the landing-zone root: bucket_url "
                f"must be a relative path (e.g. wearable), not {bucket_url!r}"
            )
        return self

    @property
    def namespace(self) -> str:
        return self.destination.split(".", 1)[0]

    @property
    def table(self) -> str:
        return self.destination.split(".", 1)[1]

    @property
    def asset_key(self) -> list[str]:
        """The Dagster asset key path of the bronze table: ``[namespace, table]``."""
        return [self.namespace, self.table]

    @property
    def plugin_block(self) -> tuple[str, dict[str, Any]]:
        """The plugin block's key and content (``("dlt", {...})``), empty if absent."""
        key = self.type if self.type in BUILT_IN_BLOCKS else "plugin"
        block = getattr(self, key)
        return key, block.model_dump() if isinstance(block, BaseModel) else {}

    @property
    def source(self) -> str:
        """What the plugin runs: the dlt source, or the Airbyte connection id."""
        if self.dlt is not None:
            return self.dlt.source
        if self.airbyte is not None:
            return self.airbyte.connection_id
        if self.plugin is not None:
            return self.plugin.source
        return ""


class FloeConfig(_Model):
    """``floe.yaml``: the data team's ingestion pipelines."""

    model_config = ConfigDict(
        extra="forbid", title="floe.yaml", json_schema_extra={"$id": "floe.schema.json"}
    )

    version: FileVersion = Field(default=1, description="File format version; only 1 exists.")
    ingestion: list[IngestionPipeline] = Field(
        default_factory=list, description="Ingestion pipelines; each becomes a Dagster asset."
    )
