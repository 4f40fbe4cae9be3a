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

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

FileFormat = Literal["csv", "jsonl", "parquet"]

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

    @model_validator(mode="after")
    def _fold_resource(self) -> DltOptions:
        if self.resource is not None:
            if self.resources and self.resources != [self.resource]:
                raise ValueError("give either `resource` or `resources`, not both")
            self.resources = [self.resource]
        return self


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
        description="Passed to the reader: pandas.read_csv kwargs for csv, `chunksize` for all.",
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


def format_validation_error(exc: ValidationError, prefix: str = "") -> list[tuple[str, str]]:
    """pydantic errors as ``(key, message)`` pairs with dotted key paths."""
    issues = []
    for error in exc.errors():
        loc = ".".join(str(part) for part in error["loc"])
        key = ".".join(part for part in (prefix, loc) if part) or prefix or "dlt"
        issues.append((key, error["msg"]))
    return issues
