"""Turn a floe ingestion entry into the one dlt resource that feeds its Iceberg table.

A floe entry lands exactly one table, so whatever the source is (a built-in or the user's own
``package.module:function``) we narrow it to one selected resource, name its table after the
destination and apply the entry's hints (primary key, write disposition, incremental cursor).
"""

from __future__ import annotations

import copy
import importlib
import inspect
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import dlt
import pyarrow as pa
from dlt.common.normalizers.naming.snake_case import NamingConvention
from dlt.common.typing import ConfigValueSentinel, is_optional_type
from dlt.extract import DltResource, DltSource
from pydantic import ValidationError

from plugins.base import (
    ConfigurationIngestionError,
    IngestionConfig,
    IngestionError,
    PermanentIngestionError,
    SourceFiles,
)
from plugins.dlt.columns import RowChecker, column_hints
from plugins.dlt.errors import SourceFileError, is_credential_name
from plugins.dlt.options import (
    DltIncremental,
    DltOptions,
    FilesystemConfig,
    format_validation_error,
)
from plugins.dlt.readers import READERS, checking_step
from plugins.dlt.rejects import RejectSink

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


def _read_files(
    items: Iterable[Any],
    *,
    fmt: str,
    reader_options: Mapping[str, Any],
    checker: RowChecker,
    sink: RejectSink,
    source_files: SourceFiles | None = None,
    file_rows: dict[str, int] | None = None,
) -> Iterator[Any]:
    """floe's reader for `fmt`, one file at a time, so a failure names the offending file.

    With `source_files` (a landing-zone run) every row keeps its file in the column they
    name, and `file_rows` counts the good rows of each file (the manifest's row_count)."""
    reader = READERS[fmt]
    for item in items:
        name = None
        if source_files is not None:
            name = source_files.recorded_name(item["relative_path"])
            if file_rows is not None:
                file_rows.setdefault(name, 0)
        try:
            for rows in reader(item, checker, sink, **reader_options):
                if name is not None:
                    rows, count = _with_source_file(rows, source_files.column, name)  # type: ignore[union-attr]
                    if file_rows is not None:
                        file_rows[name] += count
                yield rows
        except IngestionError:
            raise
        except Exception as exc:
            raise SourceFileError(item.get("file_url") or item.get("file_name"), exc) from exc


def _with_source_file(rows: Any, column: str, name: str) -> tuple[Any, int]:
    """`rows` (a list of dicts, a dict, or an Arrow table/batch) with `column` = `name`."""
    if isinstance(rows, dict):
        rows[column] = name
        return rows, 1
    if isinstance(rows, list):
        for row in rows:
            row[column] = name
        return rows, len(rows)
    if isinstance(rows, pa.Table | pa.RecordBatch):
        values = pa.array([name] * rows.num_rows, pa.string())
        return rows.append_column(column, values), rows.num_rows
    raise TypeError(f"cannot tag {type(rows).__name__} rows with their source file")


def filesystem_resource(
    config: IngestionConfig,
    options: DltOptions,
    project_dir: Path,
    only_files: tuple[str, ...] | None,
    checker: RowChecker,
    sink: RejectSink,
    source_files: SourceFiles | None = None,
    file_rows: dict[str, int] | None = None,
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
    given = {
        "bucket_url": bucket_url,
        "file_glob": fs.file_glob,
        "kwargs": fs.kwargs,
        "client_kwargs": fs.client_kwargs,
        **config.secrets,  # e.g. credentials for a bucket
    }
    # a cloud bucket without `credentials` in secret_refs uses dlt's (and the cloud SDK's)
    # default credential chain; every other argument is explicit
    arguments, _, unknown = bind_arguments(
        filesystem, given, leave_to_dlt=frozenset({"credentials"})
    )
    if unknown:
        raise ConfigurationIngestionError(
            "INVALID_CONFIG",
            _unknown_message(FILESYSTEM, unknown[0], filesystem),
            source=config.name,
        )
    files = filesystem(**arguments)
    if only_files is not None:  # the files a landing-zone sensor chose, nothing else
        chosen = set(only_files)
        files.add_filter(lambda item: item["relative_path"] in chosen)
    reader = dlt.transformer(name=config.table)(_read_files)(
        fmt=str(fs.format),
        reader_options=fs.reader_options,
        checker=checker,
        sink=sink,
        source_files=source_files,
        file_rows=file_rows,
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
        client = dict(rest_config.get("client", {}))
        if config.secrets:
            # secrets (token, password, ...) complete the client's auth block
            client["auth"] = {**dict(client.get("auth", {})), **config.secrets}
        client.setdefault("session", single_attempt_session())
        rest_config["client"] = client
        return rest_api_source(rest_config)  # type: ignore[arg-type]  # validated by dlt
    if config.source == SQL_DATABASE:
        from dlt.sources.sql_database import sql_database

        return sql_database(**_arguments(sql_database, config, options))
    function = import_source_function(config.source, source=config.name)
    return function(**_arguments(function, config, options))


def _given(config: IngestionConfig, options: DltOptions, *, validating: bool) -> dict[str, Any]:
    """The source's arguments floe.yaml gives: ``dlt.config``, then ``secret_refs`` (their
    values at run time; at validate time only their names are known)."""
    secrets = dict.fromkeys(config.secret_refs) if validating else {}
    given = {**options.config, **secrets, **config.secrets}
    if config.source == SQL_DATABASE and options.resources:
        given.setdefault("table_names", list(options.resources))
    return given


def bind_arguments(
    function: Callable[..., Any],
    given: Mapping[str, Any],
    *,
    leave_to_dlt: frozenset[str] = frozenset(),
) -> tuple[dict[str, Any], list[str], list[str]]:
    """Every argument ``function`` declares, explicitly: ``(arguments, missing, unknown)``.

    dlt resolves each argument of a ``@dlt.source``/``@dlt.resource`` function it is *not*
    given from its config providers, the environment included and down to the bare name
    (``path`` from ``$PATH``; dlt 1.31 ``configuration/inject.py``, ``resolve.py``); an
    explicit value, even ``None``, is used as it is. So an argument floe.yaml does not give
    gets its declared default explicitly, and one without a usable default is ``missing``:
    arguments come only from floe.yaml and secret refs. ``leave_to_dlt`` names arguments
    dlt may still resolve (the filesystem's cloud credentials); an ``incremental`` argument
    is left to dlt, which binds it to the resource's state."""
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):  # no signature to read (a C callable): as given
        return dict(given), [], []
    named = {
        name: parameter
        for name, parameter in parameters.items()
        if parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)
    }
    takes_any = any(p.kind is p.VAR_KEYWORD for p in parameters.values())
    unknown = [] if takes_any else [name for name in given if name not in named]
    arguments = {name: value for name, value in given.items() if name not in unknown}
    missing: list[str] = []
    for name, parameter in named.items():
        default = parameter.default
        if name in given or name in leave_to_dlt or isinstance(default, dlt.sources.incremental):
            continue
        if isinstance(default, ConfigValueSentinel):  # dlt.config.value / dlt.secrets.value
            if _is_optional(parameter.annotation):
                arguments[name] = None
            else:
                missing.append(name)
        elif default is parameter.empty:
            missing.append(name)
        else:
            arguments[name] = default
    return arguments, missing, unknown


def _is_optional(annotation: Any) -> bool:
    if isinstance(annotation, str):  # postponed annotations (`from __future__ import ...`)
        text = annotation.replace(" ", "")
        return (
            text.startswith("Optional[")
            or "None" in text.split("|")
            or (text.startswith("Union[") and "None" in text[6:-1].split(","))
        )
    return is_optional_type(annotation)


def _arguments(
    function: Callable[..., Any],
    config: IngestionConfig,
    options: DltOptions,
    *,
    leave_to_dlt: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """The explicit arguments of the run's source call; missing or unknown ones fail it."""
    arguments, missing, unknown = bind_arguments(
        function, _given(config, options, validating=False), leave_to_dlt=leave_to_dlt
    )
    if unknown:
        raise ConfigurationIngestionError(
            "INVALID_CONFIG",
            _unknown_message(config.source, unknown[0], function),
            source=config.name,
        )
    if missing:
        error_class = (
            PermanentIngestionError
            if any(is_credential_name(name) for name in missing)
            else ConfigurationIngestionError
        )
        code = "AUTH_FAILED" if error_class is PermanentIngestionError else "CONFIG_MISSING"
        raise error_class(
            code,
            "; ".join(_missing_message(config.source, name) for name in missing),
            source=config.name,
            details={"arguments": missing},
        )
    return arguments


def _missing_message(reference: str, name: str) -> str:
    return (
        f"{reference} needs argument {name!r}: give it in dlt.config (or secret_refs for a secret)"
    )


def _unknown_message(reference: str, name: str, function: Callable[..., Any]) -> str:
    try:
        takes = ", ".join(
            p.name
            for p in inspect.signature(function).parameters.values()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        )
    except (TypeError, ValueError):
        takes = ""
    return f"{reference} has no argument {name!r} (it takes: {takes or 'none'})"


def argument_problems(
    function: Callable[..., Any], config: IngestionConfig, options: DltOptions
) -> list[tuple[str, str]]:
    """Validate-time: arguments floe.yaml gives that the source does not take, and ones it
    needs that floe.yaml does not give."""
    _, missing, unknown = bind_arguments(function, _given(config, options, validating=True))
    issues = []
    for name in unknown:
        block = "config" if name in options.config else "secret_refs"
        issues.append((f"{block}.{name}", _unknown_message(config.source, name, function)))
    issues += [("config", _missing_message(config.source, name)) for name in missing]
    return issues


def single_attempt_session() -> Any:
    """An HTTP session for dlt's REST client that does not retry.

    dlt's client retries 5xx, 429 and connection errors itself (``request_max_attempts``, 5 by
    default, with backoff): under the manifest's ``retry`` block one failing endpoint became
    3 x 5 requests over ~100 s. The asset is the one layer that retries (its attempts, backoff
    and Retry-After); the error category says whether a retry can help. Timeouts stay dlt's
    (``RUNTIME__REQUEST_TIMEOUT``)."""
    from dlt.sources.helpers.requests import Client

    return Client(raise_for_status=False, request_max_attempts=1).session


@contextmanager
def http_retries_off() -> Iterator[None]:
    """While the block runs, dlt's shared HTTP client (``dlt.sources.helpers.requests``, used
    by custom sources and by dlt's OAuth flows) makes one attempt per request, like
    :func:`single_attempt_session`; its settings are restored afterwards.

    An environment variable (``RUNTIME__REQUEST_MAX_ATTEMPTS``) would not do: dlt reads it into
    that client once, when its run context starts, not per run."""
    from dlt.sources.helpers import requests

    runtime = dlt.current.run_context().runtime_config
    single = copy.copy(runtime)
    single.request_max_attempts = 1
    requests.client.update_from_config(single)
    try:
        yield
    finally:
        requests.client.update_from_config(runtime)


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
    checker: RowChecker | None = None,
    sink: RejectSink | None = None,
    source_files: SourceFiles | None = None,
    file_rows: dict[str, int] | None = None,
) -> DltResource:
    """The entry's one resource, hinted, with its table named after the destination.

    Every row is checked on its way to dlt (``columns.py``): a row that does not fit is
    kept out and handed to `sink` as a rejected row. The file readers check as they read
    (they know the line); any other source gets the check as a step of its resource."""
    if checker is None:
        checker = RowChecker(
            options.declared_columns,
            primary_key=config.primary_key,
            table=config.destination_table,
        )
    sink = sink if sink is not None else RejectSink()
    if config.source == FILESYSTEM:
        resource = filesystem_resource(
            config, options, project_dir, only_files, checker, sink, source_files, file_rows
        )
    elif only_files is not None:
        raise ConfigurationIngestionError(
            "UNSUPPORTED_FILE_LIST",
            f"source {config.source} does not read files: an explicit file list applies to "
            f"{FILESYSTEM} only",
            source=config.name,
        )
    else:
        if config.source == REST_API and config.incremental:
            raise ConfigurationIngestionError(
                "INVALID_INCREMENTAL", rest_api_incremental_problem(config), source=config.name
            )
        resource = _single_resource(_call_source(config, options), config, options)
        # a type the source declares (sql_database reflects its table) decides, unless
        # floe.yaml declares the column
        for name, column in _declared_columns(resource).items():
            if column.get("data_type"):
                checker.pin(name, str(column["data_type"]), origin="source")
        resource.add_step(checking_step(checker, sink))  # type: ignore[arg-type]  # meta optional
    resource.max_table_nesting = options.max_table_nesting
    hints: dict[str, Any] = {
        "table_name": config.table,
        "write_disposition": config.write_disposition,
    }
    if options.columns:
        hints["columns"] = column_hints(options.declared_columns)
    if options.contract is not None:
        hints["schema_contract"] = options.contract
    if config.primary_key:
        hints["primary_key"] = [normalize_identifier(key) for key in config.primary_key]
    if config.incremental:
        # the cursor may be spelled as in the source (UpdatedAt) or as in the table
        # (updated_at); normalising the items' keys first makes both spellings work
        resource.add_map(_normalize_item_keys)
        hints["incremental"] = build_incremental(
            config.incremental,
            source=config.name,
            # a quoted initial_value is converted to the cursor's declared type
            columns={
                **_declared_columns(resource),
                **column_hints(options.declared_columns),
            },
        )
    resource.apply_hints(**hints)
    return resource


def incremental_spec(spec: Mapping[str, Any], *, source: str) -> DltIncremental:
    """The entry's ``incremental:`` as the plugin's model; a bad spec is INVALID_INCREMENTAL."""
    try:
        return DltIncremental.model_validate(dict(spec))
    except ValidationError as exc:
        problems = "; ".join(
            f"{key}: {message}" for key, message in format_validation_error(exc, "incremental")
        )
        raise ConfigurationIngestionError(
            "INVALID_INCREMENTAL", f"invalid incremental ({problems})", source=source
        ) from None


def rest_api_incremental_problem(config: IngestionConfig) -> str:
    """Why floe's `incremental:` does not apply to rest_api, with the form that does."""
    spec = dict(config.incremental or {})
    cursor = spec.get("cursor_path") or spec.get("cursor") or "updated_at"
    start = spec.get("initial_value")
    example = f"{{type: incremental, cursor_path: {cursor}" + (
        f", initial_value: {json.dumps(str(start))}}}" if start is not None else "}"
    )
    return (
        "dlt.sources.rest_api sends its cursor to the API, in a query parameter the entry "
        "cannot name: remove `incremental` and declare it in the endpoint instead, e.g. "
        f"dlt.config.resources[0].endpoint.params.<param>: {example} "
        "(dlt stores the last value and sends it on the next run)"
    )


def build_incremental(
    spec: Mapping[str, Any], *, source: str, columns: Mapping[str, Any] | None = None
) -> dlt.sources.incremental[Any]:
    """dlt's incremental for the entry. ``columns``: the source's declared column schemas
    (sql_database reflects them); a string ``initial_value``/``end_value`` is converted to the
    cursor column's type, since such a source compares them in SQL (a quoted timestamp
    otherwise fails as ``timestamp with time zone >= character varying``)."""
    incremental = incremental_spec(spec, source=source)
    cursor = normalize_identifier(incremental.cursor_path)
    column = dict((columns or {}).get(cursor) or {})
    bounds = {
        key: _as_column_type(getattr(incremental, key), column, key=key, source=source)
        for key in ("initial_value", "end_value")
    }
    return dlt.sources.incremental(
        cursor,
        last_value_func=incremental.last_value_func,
        on_cursor_value_missing=incremental.on_cursor_value_missing,
        **bounds,
    )


def _declared_columns(resource: DltResource) -> dict[str, Any]:
    """The column schemas the source declares up front (none for most sources)."""
    try:
        return dict(resource.compute_table_schema().get("columns") or {})
    except Exception:  # dynamic hints need a data item: nothing declared up front
        return {}


_PARSERS: dict[str, Callable[[str], Any]] = {
    "date": date.fromisoformat,
    "time": time.fromisoformat,
    "bigint": int,
    "double": float,
    "decimal": Decimal,
    "bool": lambda text: {"true": True, "false": False}[text.strip().lower()],
}


def _as_column_type(value: Any, column: Mapping[str, Any], *, key: str, source: str) -> Any:
    data_type = column.get("data_type")
    if not isinstance(value, str) or data_type is None or data_type in ("text", "json"):
        return value
    try:
        if data_type == "timestamp":
            parsed = datetime.fromisoformat(value)
            if column.get("timezone", True):  # timestamptz: an offset-less value is UTC
                return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
            return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed
        parser = _PARSERS.get(str(data_type))
        return value if parser is None else parser(value)
    except (ValueError, KeyError, ArithmeticError):
        raise ConfigurationIngestionError(
            "INVALID_INCREMENTAL",
            f"incremental.{key} {value!r} is not a {data_type}, the type of cursor column "
            f"{column.get('name')!r} in the source (write it as the column's type, e.g. "
            f"{_EXAMPLES.get(str(data_type), 'a value of that type')})",
            source=source,
        ) from None


_EXAMPLES = {
    "timestamp": '"2024-01-01T00:00:00Z"',
    "date": '"2024-01-01"',
    "time": '"08:00:00"',
    "bigint": "42",
    "double": "4.2",
    "decimal": '"4.20"',
    "bool": "true",
}


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
    issues: list[tuple[str, str]] = []
    for column in config.primary_key:
        if "," in column:  # one string naming several columns: dlt keys on `order_id_qty`
            parts = ", ".join(part.strip() for part in column.split(",") if part.strip())
            issues.append(
                (
                    "primary_key",
                    f"{column!r} is one string, and a string names one column: for several "
                    f"columns write a list, [{parts}]",
                )
            )
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
        from dlt.sources.sql_database import sql_database

        if len(options.resources) != 1:
            issues.append(("resources", "sql_database needs exactly one table name in `resources`"))
        issues += argument_problems(sql_database, config, options)
    elif config.source == REST_API:
        if config.incremental:
            issues.append(("incremental", rest_api_incremental_problem(config)))
        declared = options.config.get("resources")
        if not isinstance(declared, list) or not declared:
            issues.append(("config.resources", "rest_api config needs a `resources` list"))
        elif len(declared) > 1 and len(options.resources) != 1:
            issues.append(
                ("resources", "rest_api config declares several resources: select exactly one")
            )
    else:
        try:
            function = import_source_function(config.source, source=config.name)
        except ConfigurationIngestionError as exc:
            issues.append(("source", exc.message))
        else:
            issues += argument_problems(function, config, options)
    return issues
