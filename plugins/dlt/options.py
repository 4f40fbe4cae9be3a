"""Typed models for the dlt plugin's configuration: the one definition of its floe.yaml keys.

Three blocks reach the plugin: the ``dlt:`` block of a ``floe.yaml`` entry (per pipeline,
:class:`DltBlock`; the plugin itself receives it without ``source`` as :class:`DltOptions`), the
entry's ``incremental:`` (:class:`DltIncremental`) and the manifest's
``plugins.ingestion.config`` (platform-wide, :class:`DltPluginSettings`). The platform validates
an entry with these same models (line-numbered, ``floe validate``) and generates the JSON Schema
from them, so what the README documents and what floe.yaml accepts cannot drift apart. Raw dicts
stop here; the rest of the plugin sees models.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

FileFormat = Literal["csv", "jsonl", "parquet"]

DataType = Literal[
    "text", "bigint", "double", "bool", "decimal", "date", "timestamp", "time", "json"
]
"""dlt's data types a declared column may have (dlt's `binary` and `wei` have no text form)."""
TEMPORAL_TYPES = ("date", "timestamp", "time")
DEFAULT_DECIMAL = (38, 9)
"""dlt's default precision and scale for `decimal` (its parquet writer's)."""

READER_OPTIONS: dict[str, tuple[str, ...]] = {
    "csv": (
        "sep",
        "delimiter",
        "quotechar",
        "escapechar",
        "doublequote",
        "skipinitialspace",
        "encoding",
        "na_values",
        "chunksize",
    ),
    "jsonl": ("encoding", "chunksize"),
    "parquet": ("chunksize", "use_pyarrow"),
}
"""What each of floe's file readers takes (``plugins/dlt/readers.py``)."""

ContractMode = Literal["evolve", "freeze", "discard_row", "discard_value"]

_FORMAT_BY_SUFFIX: dict[str, FileFormat] = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
}


BUILTIN_SOURCES = ("dlt.sources.filesystem", "dlt.sources.rest_api", "dlt.sources.sql_database")
_IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_]*"
SOURCE_PATTERN = rf"^(dlt\.sources\.{_IDENTIFIER}|{_IDENTIFIER}(\.{_IDENTIFIER})*:{_IDENTIFIER})$"


def _source_reference(value: str) -> str:
    if not re.match(SOURCE_PATTERN, value):
        raise ValueError(
            f"{value!r} is not valid: expected a dlt built-in ({', '.join(BUILTIN_SOURCES)}) "
            "or 'package.module:function'"
        )
    return value


SourceReference = Annotated[
    str, AfterValidator(_source_reference), Field(json_schema_extra={"pattern": SOURCE_PATTERN})
]


class ColumnSpec(BaseModel):
    """One declared column of `dlt.columns`: its type, whether it may be null, and how its
    text is parsed. Applied as dlt column hints; values are converted by floe before dlt sees
    them, and a value that does not fit is a rejected row."""

    model_config = ConfigDict(extra="forbid")

    data_type: DataType = Field(
        description="dlt data type: text, bigint, double, bool, decimal, date, timestamp, "
        "time or json."
    )
    nullable: bool = Field(
        default=True,
        description="false: a row without a value here (null, empty, missing) is rejected.",
    )
    format: str | None = Field(
        default=None,
        min_length=1,
        description="strptime format of the text for date, timestamp and time columns "
        "(e.g. '%m/%d/%Y' for 8/3/2026). Without it: ISO 8601.",
    )
    precision: int | None = Field(
        default=None, ge=1, le=38, description="decimal: total digits (default 38)."
    )
    scale: int | None = Field(
        default=None, ge=0, le=38, description="decimal: digits after the point (default 9)."
    )
    allow_future: bool = Field(
        default=False,
        description="date: accept dates after today. By default such a row is rejected "
        '("date in the future"); today is in the manifest\'s `today_time_zone`.',
    )

    @model_validator(mode="after")
    def _fits_the_type(self) -> ColumnSpec:
        if self.format is not None and self.data_type not in TEMPORAL_TYPES:
            raise ValueError(
                f"`format` applies to date, timestamp and time columns, not {self.data_type}"
            )
        if (self.precision is not None or self.scale is not None) and self.data_type != "decimal":
            raise ValueError(
                f"`precision` and `scale` apply to decimal columns, not {self.data_type}"
            )
        if self.allow_future and self.data_type != "date":
            raise ValueError(f"`allow_future` applies to date columns, not {self.data_type}")
        if self.data_type == "decimal":
            precision, scale = self.decimal
            if scale > precision:
                raise ValueError(f"scale {scale} is larger than precision {precision}")
        return self

    @property
    def decimal(self) -> tuple[int, int]:
        """(precision, scale) of a decimal column, dlt's defaults filled in."""
        return (
            self.precision or DEFAULT_DECIMAL[0],
            DEFAULT_DECIMAL[1] if self.scale is None else self.scale,
        )


class SchemaContractModes(BaseModel):
    """dlt's schema contract per entity (https://dlthub.com/docs/general-usage/schema-contracts)."""

    model_config = ConfigDict(extra="forbid")

    tables: ContractMode | None = Field(
        default=None, description="A table the table has not seen yet (the first load)."
    )
    columns: ContractMode | None = Field(
        default=None, description="A column the table does not have yet."
    )
    data_type: ContractMode | None = Field(
        default=None, description="A value whose type differs from its column's."
    )


class DltOptions(BaseModel):
    """The ``dlt:`` block of an ingestion entry, without ``source`` (what the plugin receives
    as ``IngestionConfig.options``)."""

    model_config = ConfigDict(extra="forbid")

    resources: list[str] = Field(
        default_factory=list,
        description="Resources of the source to load; exactly one must remain selected, "
        "because a floe entry lands one Iceberg table.",
    )
    resource: str | None = Field(
        default=None, description="Shorthand for `resources: [<one>]` (ADR-0020 spelling)."
    )
    config: dict[str, Any] = Field(
        default_factory=dict,
        description="Keyword arguments of the source function (or the built-in's config).",
    )
    max_table_nesting: int = Field(
        default=0,
        ge=0,
        description="dlt nesting depth. 0 keeps nested data as JSON columns of the one table "
        "instead of creating child tables the entry has no destination for.",
    )
    columns: dict[str, ColumnSpec] = Field(
        default_factory=dict,
        description="Declared columns by name (source spelling or snake_case): data_type, "
        "nullable, format. A value that does not fit is a rejected row in "
        "<namespace>.<table>__rejected.",
    )
    schema_contract: ContractMode | SchemaContractModes | None = Field(
        default=None,
        description="dlt's schema contract: one mode for all (evolve, freeze, discard_row, "
        "discard_value) or per entity ({tables, columns, data_type}). Default: evolve.",
    )

    @model_validator(mode="after")
    def _fold_resource(self) -> DltOptions:
        if self.resource is not None:
            if self.resources and self.resources != [self.resource]:
                raise ValueError("give either `resource` or `resources`, not both")
            self.resources = [self.resource]
        return self

    @field_validator("columns")
    @classmethod
    def _one_spelling_per_column(cls, columns: dict[str, ColumnSpec]) -> dict[str, ColumnSpec]:
        from plugins.dlt.sources import normalize_identifier

        seen: dict[str, str] = {}
        for name in columns:
            normalized = normalize_identifier(name)
            if normalized in seen:
                raise ValueError(
                    f"{seen[normalized]} and {name} are the same column ({normalized}): "
                    "declare it once"
                )
            seen[normalized] = name
        return columns

    @property
    def declared_columns(self) -> dict[str, ColumnSpec]:
        """The declared columns by their table (snake_case) name."""
        from plugins.dlt.sources import normalize_identifier

        return {normalize_identifier(name): spec for name, spec in self.columns.items()}

    @property
    def contract(self) -> str | dict[str, str] | None:
        """`schema_contract` as dlt takes it."""
        if isinstance(self.schema_contract, SchemaContractModes):
            return self.schema_contract.model_dump(exclude_none=True) or None
        return self.schema_contract


class DltBlock(DltOptions):
    """The ``dlt:`` block of a ``floe.yaml`` entry: which dlt source to run and how."""

    source: SourceReference = Field(
        description=(
            "A dlt built-in source (dlt.sources.filesystem, dlt.sources.rest_api, "
            "dlt.sources.sql_database) or 'package.module:function' naming your own "
            "@dlt.source / @dlt.resource / function, importable from the project directory."
        ),
    )


class DltIncremental(BaseModel):
    """The ``incremental:`` of a ``type: dlt`` entry: load only rows past the cursor.

    dlt keeps the last cursor value in the pipeline state (stored with every snapshot). For
    ``dlt.sources.rest_api`` the cursor belongs in the endpoint instead (the API filters, not
    floe): ``config.resources[].endpoint.params.<param>: {type: incremental, cursor_path: ...}``.
    """

    model_config = ConfigDict(extra="forbid")

    cursor_path: str = Field(
        min_length=1,
        description="Column (or JSON path) whose increasing value marks new or changed rows; "
        "source spelling (UpdatedAt) or the table's (updated_at).",
    )
    cursor: str | None = Field(
        default=None, description="Another spelling of `cursor_path` (give one of the two)."
    )
    initial_value: Any = Field(
        default=None,
        description="Cursor value to start from on the first run (none: every row). A quoted "
        "value is converted to the cursor column's type where the source declares one "
        "(sql_database).",
    )
    end_value: Any = Field(
        default=None,
        description="Load only rows whose cursor is below this value (a bounded backfill; "
        "the cursor state is then not advanced).",
    )
    last_value_func: Literal["max", "min"] = Field(
        default="max",
        description="max: rows at or above the last value are new (rising cursor); min: at "
        "or below (falling cursor).",
    )
    on_cursor_value_missing: Literal["raise", "include", "exclude"] = Field(
        default="raise",
        description="A row without a cursor value fails the run (raise), is loaded (include) "
        "or is skipped (exclude).",
    )

    @model_validator(mode="before")
    @classmethod
    def _one_spelling(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("cursor") is not None:
            if data.get("cursor_path") not in (None, data["cursor"]):
                raise ValueError("give either `cursor_path` or `cursor`, not both")
            data = {**data, "cursor_path": data["cursor"]}
            data.pop("cursor")
        return data


class FilesystemConfig(BaseModel):
    """floe's convention for the ``dlt.sources.filesystem`` built-in."""

    model_config = ConfigDict(extra="forbid")

    bucket_url: str = Field(
        description="Directory or bucket URL; a relative local path resolves against the "
        "directory holding floe.yaml."
    )
    file_glob: str = Field(default="*", description="Glob of the files to read under bucket_url.")
    format: FileFormat | None = Field(
        default=None, description="csv | jsonl | parquet; inferred from file_glob when omitted."
    )
    reader_options: dict[str, Any] = Field(
        default_factory=dict,
        description="Options of the file reader. csv: sep (or delimiter), quotechar, "
        "escapechar, doublequote, skipinitialspace, encoding, na_values, chunksize; jsonl: "
        "encoding, chunksize; parquet: chunksize, use_pyarrow.",
    )
    kwargs: dict[str, Any] | None = Field(
        default=None, description="fsspec filesystem constructor arguments."
    )
    client_kwargs: dict[str, Any] | None = Field(
        default=None, description="fsspec native client arguments."
    )

    @model_validator(mode="after")
    def _infer_format(self) -> FilesystemConfig:
        if self.format is None:
            suffix = (
                "." + self.file_glob.rsplit(".", 1)[-1].lower() if "." in self.file_glob else ""
            )
            inferred = _FORMAT_BY_SUFFIX.get(suffix)
            if inferred is None:
                raise ValueError(
                    f"cannot infer `format` from file_glob {self.file_glob!r}: "
                    "set format to csv, jsonl or parquet"
                )
            self.format = inferred
        unknown = sorted(set(self.reader_options) - set(READER_OPTIONS[self.format]))
        if unknown:
            raise ValueError(
                f"reader_options {', '.join(unknown)} not known to the {self.format} reader "
                f"(it takes: {', '.join(READER_OPTIONS[self.format])})"
            )
        return self


class DltPluginSettings(BaseModel):
    """The manifest's ``plugins.ingestion.config`` for ``type: dlt`` (platform-wide tuning)."""

    model_config = ConfigDict(extra="forbid")

    file_max_items: int = Field(
        default=500_000,
        gt=0,
        description="Rows per normalized parquet file: dlt rotates files at this size, which "
        "bounds the writer's memory and becomes the size of the Iceberg data files.",
    )
    buffer_max_items: int = Field(
        default=20_000,
        gt=0,
        description="Rows dlt buffers in memory before writing them out.",
    )
    add_dlt_id_to_arrow: bool = Field(
        default=False,
        description="Add `_dlt_id` to rows that arrive as Arrow/pandas (dict rows always get "
        "it). Off by default: it forces a rewrite of every Arrow file during normalize.",
    )
    commit_attempts: int = Field(
        default=5, ge=1, description="Attempts at the Iceberg commit on a commit conflict."
    )
    lock_timeout_seconds: float = Field(
        default=600,
        ge=0,
        description="How long a run waits for another run of the same pipeline (outside "
        "Dagster's per-pipeline concurrency pool) before failing as TRANSIENT/PIPELINE_BUSY.",
    )
    today_time_zone: str = Field(
        default="UTC",
        min_length=1,
        description="IANA time zone of 'today': a declared date column's value after today "
        "there is a rejected row (date in the future). Keep it equal to dbt's "
        "`vars.today_time_zone`.",
    )

    @field_validator("today_time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}: use an IANA name such as UTC or Europe/Berlin"
            ) from None
        return value


def format_validation_error(exc: ValidationError, prefix: str = "") -> list[tuple[str, str]]:
    """pydantic errors as ``(key, message)`` pairs with dotted key paths."""
    issues = []
    for error in exc.errors():
        loc = ".".join(str(part) for part in error["loc"])
        key = ".".join(part for part in (prefix, loc) if part) or prefix or "dlt"
        issues.append((key, error["msg"]))
    return issues
