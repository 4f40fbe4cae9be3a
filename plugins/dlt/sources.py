"""Turn a floe ingestion entry into the one dlt resource that feeds its Iceberg table.

A floe entry lands exactly one table, so whatever the source is (a built-in or the user's own
``package.module:function``) we narrow it to one selected resource, name its table after the
destination and apply the entry's hints (primary key, write disposition, incremental cursor).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import dlt
from dlt.common.normalizers.naming.snake_case import NamingConvention
from dlt.extract import DltResource, DltSource

from plugins.base import ConfigurationIngestionError, IngestionConfig, PermanentIngestionError
from plugins.dlt.errors import SourceFileError
from plugins.dlt.options import DltOptions, FilesystemConfig

FILESYSTEM = "dlt.sources.filesystem"
REST_API = "dlt.sources.rest_api"
SQL_DATABASE = "dlt.sources.sql_database"
BUILTINS = (FILESYSTEM, REST_API, SQL_DATABASE)

_NAMING = NamingConvention()
_GLOB_CHARS = set("*?[")


def normalize_identifier(name: str) -> str:
    """dlt's default (snake_case) spelling of a column or table name: TotalSteps -> total_steps."""
    return _NAMING.normalize_identifier(name)


def is_local_url(url: str) -> bool:
    return "://" not in url or url.startswith("file://")


def resolve_bucket_url(bucket_url: str, project_dir: Path) -> str:
    """A relative local path resolves against the directory holding floe.yaml."""
    if not is_local_url(bucket_url):
        return bucket_url
    path = Path(bucket_url.removeprefix("file://"))
    if not path.is_absolute():
        path = project_dir / path
    return str(path.resolve())


def import_source_function(reference: str, *, source: str) -> Callable[..., Any]:
    """Import ``package.module:function``; any failure is a CONFIGURATION error."""
    module_name, sep, attribute = reference.partition(":")
    if not sep or not module_name or not attribute:
        raise ConfigurationIngestionError(
            "SOURCE_IMPORT_FAILED",
            f"source {reference!r} is neither a dlt built-in ({', '.join(BUILTINS)}) nor of "
            "the form package.module:function",
            source=source,
        )
    try:
        target: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        raise ConfigurationIngestionError(
            "SOURCE_IMPORT_FAILED",
            f"cannot import source {reference!r}: {type(exc).__name__}: {exc}",
            source=source,
            details={"exception_type": type(exc).__name__},
        ) from exc
    if not callable(target):
        raise ConfigurationIngestionError(
            "SOURCE_IMPORT_FAILED", f"source {reference!r} is not callable", source=source
        )
    return target


def _file_reader(fmt: str) -> Callable[..., Iterator[Any]]:
    from dlt.sources.filesystem.readers import _read_csv, _read_jsonl, _read_parquet

    readers: dict[str, Callable[..., Iterator[Any]]] = {
        "csv": _read_csv,
        "jsonl": _read_jsonl,
        "parquet": _read_parquet,
    }
    return readers[fmt]


def _read_files(
    items: Iterable[Any], *, fmt: str, reader_options: Mapping[str, Any]
) -> Iterator[Any]:
    """dlt's reader for `fmt`, one file at a time, so a failure names the offending file."""
    reader = _file_reader(fmt)
    for item in items:
        try:
            yield from reader([item], **reader_options)
        except Exception as exc:
            raise SourceFileError(item.get("file_url") or item.get("file_name"), exc) from exc


def filesystem_resource(
    config: IngestionConfig,
    options: DltOptions,
    project_dir: Path,
    only_files: tuple[str, ...] | None = None,
) -> DltResource:
    from dlt.sources.filesystem import filesystem

    fs = FilesystemConfig.model_validate(options.config)
    bucket_url = resolve_bucket_url(fs.bucket_url, project_dir)
    if is_local_url(fs.bucket_url):
        problem = local_files_problem(bucket_url, fs.file_glob, require_match=True)
        if problem is not None:
            raise PermanentIngestionError(
                "SOURCE_NOT_FOUND", problem, source=config.name, details={"file": bucket_url}
            )
    secrets: dict[str, Any] = dict(config.secrets)  # e.g. credentials for a bucket
    files = filesystem(
        bucket_url=bucket_url,
        file_glob=fs.file_glob,
        kwargs=fs.kwargs,
        client_kwargs=fs.client_kwargs,
        **secrets,
    )
    if only_files is not None:  # the files a landing-zone sensor chose, nothing else
        chosen = set(only_files)
        files.add_filter(lambda item: item["relative_path"] in chosen)
    reader = dlt.transformer(name=config.table)(_read_files)(
        fmt=str(fs.format), reader_options=fs.reader_options
    )
    return files | reader


def local_files_problem(
    directory: str, file_glob: str, *, require_match: bool = False
) -> str | None:
    """Why a local filesystem source cannot be read (missing dir, or a named file), if so.

    At run time (`require_match`) a glob matching no file is a missing source too: a pipeline
    that silently loads nothing hides a moved or misnamed file. Config validation does not
    require a match, since files may legitimately arrive after the config is written.
    """
    path = Path(directory)
    if not path.is_dir():
        return f"directory {directory} does not exist"
    if not (_GLOB_CHARS & set(file_glob)) and not (path / file_glob).exists():
        return f"file {path / file_glob} does not exist"
    if require_match and not any(p.is_file() for p in path.glob(file_glob)):
        return f"no file in {directory} matches {file_glob!r}"
    return None


def _call_source(config: IngestionConfig, options: DltOptions) -> Any:
    if config.source == REST_API:
        from dlt.sources.rest_api import rest_api_source

        rest_config = dict(options.config)
        if config.secrets:
            # secrets (token, password, ...) complete the client's auth block
            client = dict(rest_config.get("client", {}))
            client["auth"] = {**dict(client.get("auth", {})), **config.secrets}
            rest_config["client"] = client
        return rest_api_source(rest_config)  # type: ignore[arg-type]  # validated by dlt
    if config.source == SQL_DATABASE:
        from dlt.sources.sql_database import sql_database

        kwargs = {**options.config, **config.secrets}
        if options.resources:
            kwargs.setdefault("table_names", list(options.resources))
        return sql_database(**kwargs)
    function = import_source_function(config.source, source=config.name)
    return function(**options.config, **config.secrets)


def _single_resource(data: Any, config: IngestionConfig, options: DltOptions) -> DltResource:
    """Narrow whatever the source returned to one selected resource."""
    if isinstance(data, DltSource):
        if options.resources:
            data = data.with_resources(*options.resources)
        selected = list(data.selected_resources.values())
        if len(selected) != 1:
            names = ", ".join(sorted(data.selected_resources)) or "none"
            raise ConfigurationIngestionError(
                "MULTIPLE_RESOURCES" if selected else "NO_RESOURCES",
                f"source {config.source!r} selects resources [{names}] but entry "
                f"{config.name!r} lands one table ({config.destination_table}): "
                "select exactly one with `resources: [<name>]`",
                source=config.name,
                details={"resources": sorted(data.selected_resources)},
            )
        return selected[0]
    if isinstance(data, DltResource):
        if options.resources and options.resources != [data.name]:
            raise ConfigurationIngestionError(
                "SOURCE_NOT_FOUND",
                f"source {config.source!r} returns the single resource {data.name!r}, "
                f"not {options.resources}",
                source=config.name,
            )
        return data
    return dlt.resource(data, name=config.table)


def build_resource(
    config: IngestionConfig,
    options: DltOptions,
    project_dir: Path,
    *,
    only_files: tuple[str, ...] | None = None,
) -> DltResource:
    """The entry's one resource, hinted, with its table named after the destination."""
    if config.source == FILESYSTEM:
        resource = filesystem_resource(config, options, project_dir, only_files)
    elif only_files is not None:
        raise ConfigurationIngestionError(
            "UNSUPPORTED_FILE_LIST",
            f"source {config.source} does not read files: an explicit file list applies to "
            f"{FILESYSTEM} only",
            source=config.name,
        )
    else:
        resource = _single_resource(_call_source(config, options), config, options)
    resource.max_table_nesting = options.max_table_nesting
    hints: dict[str, Any] = {
        "table_name": config.table,
        "write_disposition": config.write_disposition,
    }
    if config.primary_key:
        hints["primary_key"] = [normalize_identifier(key) for key in config.primary_key]
    if config.incremental:
        # the cursor may be spelled as in the source (UpdatedAt) or as in the table
        # (updated_at); normalising the items' keys first makes both spellings work
        resource.add_map(_normalize_item_keys)
        hints["incremental"] = build_incremental(config.incremental, source=config.name)
    resource.apply_hints(**hints)
    return resource


_INCREMENTAL_KEYS = {
    "cursor_path",
    "cursor_column",
    "cursor",
    "initial_value",
    "end_value",
    "last_value_func",
    "row_order",
    "lag",
    "on_cursor_value_missing",
}


def build_incremental(spec: Mapping[str, Any], *, source: str) -> dlt.sources.incremental[Any]:
    unknown = set(spec) - _INCREMENTAL_KEYS
    cursor = spec.get("cursor_path") or spec.get("cursor_column") or spec.get("cursor")
    if unknown or not cursor:
        raise ConfigurationIngestionError(
            "INVALID_INCREMENTAL",
            f"incremental needs `cursor_path` (got keys {sorted(spec)}"
            + (f"; unknown: {sorted(unknown)}" if unknown else "")
            + ")",
            source=source,
        )
    kwargs: dict[str, Any] = {
        key: spec[key]
        for key in ("initial_value", "end_value", "row_order", "lag", "on_cursor_value_missing")
        if key in spec
    }
    if "last_value_func" in spec:
        kwargs["last_value_func"] = {"max": max, "min": min}[spec["last_value_func"]]
    return dlt.sources.incremental(normalize_identifier(str(cursor)), **kwargs)


def _normalize_item_keys(item: Any) -> Any:
    if isinstance(item, dict):
        return {normalize_identifier(key): value for key, value in item.items()}
    columns = getattr(item, "column_names", None)  # pyarrow Table / RecordBatch
    if columns is not None:
        return item.rename_columns([normalize_identifier(name) for name in columns])
    if hasattr(item, "columns") and hasattr(item, "rename"):  # pandas DataFrame
        return item.rename(columns=normalize_identifier)
    return item


def source_problems(
    config: IngestionConfig, options: DltOptions, project_dir: Path
) -> list[tuple[str, str]]:
    """Config-time checks (no network): for `validate`."""
    from pydantic import ValidationError

    from plugins.dlt.options import format_validation_error

    issues: list[tuple[str, str]] = []
    if config.source == FILESYSTEM:
        try:
            fs = FilesystemConfig.model_validate(options.config)
        except ValidationError as exc:
            return format_validation_error(exc, "config")
        if is_local_url(fs.bucket_url):
            problem = local_files_problem(
                resolve_bucket_url(fs.bucket_url, project_dir), fs.file_glob
            )
            if problem is not None:
                key = "config.bucket_url" if problem.startswith("directory") else "config.file_glob"
                issues.append((key, problem))
        if len(options.resources) > 1:
            issues.append(("resources", "the filesystem source yields one resource; omit it"))
    elif config.source == SQL_DATABASE:
        if len(options.resources) != 1:
            issues.append(("resources", "sql_database needs exactly one table name in `resources`"))
    elif config.source == REST_API:
        declared = options.config.get("resources")
        if not isinstance(declared, list) or not declared:
            issues.append(("config.resources", "rest_api config needs a `resources` list"))
        elif len(declared) > 1 and len(options.resources) != 1:
            issues.append(
                ("resources", "rest_api config declares several resources: select exactly one")
            )
    else:
        try:
            import_source_function(config.source, source=config.name)
        except ConfigurationIngestionError as exc:
            issues.append(("source", exc.message))
    return issues
