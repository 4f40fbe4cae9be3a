"""Failures: ADR-0020 error mapping, and crash safety around the Iceberg commit.

Every failing run must leave the catalog untouched (no table, or the table as it was) and a
later run must commit each load package exactly once.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import CommitFailedException
from pyiceberg.table import CreateTableTransaction, Transaction

import plugins.dlt.plugin as plugin_module
from plugins.base import ErrorCategory, IngestionConfig, IngestionResult, PluginContext
from plugins.dlt import DltIngestionPlugin

pytestmark = pytest.mark.integration


def run(context: PluginContext, config: IngestionConfig) -> IngestionResult:
    plugin = DltIngestionPlugin(context)
    return plugin.run(plugin.create_pipeline(config))


def failed(context: PluginContext, config: IngestionConfig) -> IngestionResult:
    result = run(context, config)
    assert not result.success
    assert result.error is not None
    assert result.rows_loaded == 0
    return result


# -- error mapping -----------------------------------------------------------------------


def test_missing_file_is_permanent_source_not_found(
    plugin_context: PluginContext,
    project_dir: Path,
    make_entry: Callable[..., IngestionConfig],
    fresh_catalog: Callable[[], Catalog],
) -> None:
    (project_dir / "landing").mkdir()
    config = make_entry(
        "sleep",
        source="dlt.sources.filesystem",
        config={"bucket_url": "landing", "file_glob": "sleep_2016.csv"},
    )
    assert DltIngestionPlugin(plugin_context).validate(config) == [
        ("config.file_glob", f"file {project_dir / 'landing' / 'sleep_2016.csv'} does not exist")
    ]

    error = failed(plugin_context, config).error

    assert (error.category, error.code, error.retryable) == (
        ErrorCategory.PERMANENT,
        "SOURCE_NOT_FOUND",
        False,
    )
    assert "sleep_2016.csv" in error.message
    assert not fresh_catalog().table_exists("bronze.sleep")


def test_missing_directory_is_reported_by_validate_and_run(
    plugin_context: PluginContext, make_entry: Callable[..., IngestionConfig]
) -> None:
    config = make_entry(
        "sleep",
        source="dlt.sources.filesystem",
        config={"bucket_url": "nowhere", "file_glob": "*.csv"},
    )
    issues = DltIngestionPlugin(plugin_context).validate(config)
    assert [key for key, _ in issues] == ["config.bucket_url"]
    assert "does not exist" in issues[0][1]
    assert failed(plugin_context, config).error.code == "SOURCE_NOT_FOUND"


def test_validate_reports_bad_format_and_resources(
    plugin_context: PluginContext, make_entry: Callable[..., IngestionConfig]
) -> None:
    plugin = DltIngestionPlugin(plugin_context)
    bad_format = make_entry(
        "x", source="dlt.sources.filesystem", config={"bucket_url": ".", "format": "xlsx"}
    )
    assert [key for key, _ in plugin.validate(bad_format)] == ["config.format"]
    no_table = make_entry("x", source="dlt.sources.sql_database", config={"credentials": "x"})
    assert [key for key, _ in plugin.validate(no_table)] == ["resources"]
    unknown_key = make_entry("x", options={"colour": "blue"})
    assert [key for key, _ in plugin.validate(unknown_key)] == ["colour"]
    merge_without_key = make_entry("x", write_disposition="merge")
    assert [key for key, _ in plugin.validate(merge_without_key)] == ["primary_key"]


def test_unreadable_csv_names_the_file(
    plugin_context: PluginContext,
    project_dir: Path,
    make_entry: Callable[..., IngestionConfig],
    fresh_catalog: Callable[[], Catalog],
) -> None:
    """A file that cannot be read at all (a malformed *line* is a rejected row instead:
    test_dlt_rejected_rows.py)."""
    (project_dir / "landing").mkdir()
    (project_dir / "landing" / "broken.parquet").write_bytes(b"not parquet at all")
    config = make_entry(
        "broken",
        source="dlt.sources.filesystem",
        config={"bucket_url": "landing", "file_glob": "*.parquet"},
    )

    error = failed(plugin_context, config).error

    assert (error.category, error.code) == (ErrorCategory.PERMANENT, "SOURCE_UNREADABLE")
    assert "broken.parquet" in error.message
    assert "Parquet" in error.message
    assert not fresh_catalog().table_exists("bronze.broken")


def test_a_csv_header_naming_one_column_twice_is_unreadable(
    plugin_context: PluginContext,
    project_dir: Path,
    make_entry: Callable[..., IngestionConfig],
) -> None:
    (project_dir / "landing").mkdir()
    (project_dir / "landing" / "twice.csv").write_text("Id,ID\n1,2\n")
    config = make_entry(
        "twice",
        source="dlt.sources.filesystem",
        config={"bucket_url": "landing", "file_glob": "*.csv"},
    )

    error = failed(plugin_context, config).error

    assert (error.category, error.code) == (ErrorCategory.PERMANENT, "SOURCE_UNREADABLE")
    assert "twice.csv" in error.message and "'Id' and 'ID'" in error.message


def test_unimportable_source_is_a_configuration_error(
    plugin_context: PluginContext, make_entry: Callable[..., IngestionConfig]
) -> None:
    config = make_entry("x", source="no_such_package.sources:items")
    assert [key for key, _ in DltIngestionPlugin(plugin_context).validate(config)] == ["source"]

    error = failed(plugin_context, config).error

    assert (error.category, error.code) == (ErrorCategory.CONFIGURATION, "SOURCE_IMPORT_FAILED")
    assert "no_such_package" in error.message


def test_connection_error_is_transient_and_retryable(
    plugin_context: PluginContext,
    make_entry: Callable[..., IngestionConfig],
    fresh_catalog: Callable[[], Catalog],
) -> None:
    error = failed(
        plugin_context, make_entry("flaky", source="dlt_test_sources:unreachable_api")
    ).error

    assert (error.category, error.code, error.retryable) == (
        ErrorCategory.TRANSIENT,
        "NETWORK_ERROR",
        True,
    )
    assert "api.example.com" in error.message
    assert not fresh_catalog().table_exists("bronze.flaky")


def test_http_429_is_rate_limited_with_retry_after(
    plugin_context: PluginContext, make_entry: Callable[..., IngestionConfig]
) -> None:
    error = failed(
        plugin_context, make_entry("limited", source="dlt_test_sources:rate_limited_api")
    ).error

    assert (error.category, error.code) == (ErrorCategory.TRANSIENT, "RATE_LIMITED")
    assert error.retry_after_seconds == 30


def test_unknown_resource_is_source_not_found(
    plugin_context: PluginContext, make_entry: Callable[..., IngestionConfig]
) -> None:
    config = make_entry("shop", source="dlt_test_sources:shop", options={"resources": ["invoices"]})

    error = failed(plugin_context, config).error

    assert (error.category, error.code) == (ErrorCategory.PERMANENT, "SOURCE_NOT_FOUND")
    assert "invoices" in error.message


def test_several_resources_for_one_table_is_a_configuration_error(
    plugin_context: PluginContext,
    make_entry: Callable[..., IngestionConfig],
    fresh_catalog: Callable[[], Catalog],
) -> None:
    error = failed(plugin_context, make_entry("shop", source="dlt_test_sources:shop")).error
    assert (error.category, error.code) == (ErrorCategory.CONFIGURATION, "MULTIPLE_RESOURCES")
    assert "customers" in error.message and "orders" in error.message

    ok = run(
        plugin_context,
        make_entry("shop", source="dlt_test_sources:shop", options={"resources": ["orders"]}),
    )
    assert ok.success and ok.rows_loaded == 1
    assert "order_id" in {f.name for f in fresh_catalog().load_table("bronze.shop").schema().fields}


def test_missing_secret_is_auth_failed(
    plugin_context: PluginContext, make_entry: Callable[..., IngestionConfig]
) -> None:
    error = failed(
        plugin_context, make_entry("keyed", source="dlt_test_sources:needs_api_key")
    ).error
    assert (error.category, error.code) == (ErrorCategory.PERMANENT, "AUTH_FAILED")
    assert "api_key" in error.message

    with_secret = make_entry(
        "keyed",
        source="dlt_test_sources:needs_api_key",
        secret_refs={"api_key": "vault:key"},
        secrets={"api_key": "s3cr3t-value"},
    )
    assert run(plugin_context, with_secret).rows_loaded == 1


def test_secrets_never_appear_in_errors(
    plugin_context: PluginContext, make_entry: Callable[..., IngestionConfig]
) -> None:
    config = make_entry(
        "leaky", source="dlt_test_sources:leaky", secrets={"token": "tok-123456789"}
    )
    result = failed(plugin_context, config)

    assert result.error.code == "UNEXPECTED_ERROR"
    assert result.error.details["exception_type"] == "RuntimeError"
    rendered = repr(result) + repr(result.error.to_dict()) + str(result.error)
    assert "tok-123456789" not in rendered
    assert "***" in result.error.message


# -- crash safety ------------------------------------------------------------------------


def _snapshot_load_ids(catalog: Catalog, table: str) -> list[str | None]:
    return [s.summary.get("floe.load_id") for s in catalog.load_table(table).snapshots()]


def test_unexpected_commit_error_sets_the_package_aside_and_the_next_run_goes_on(
    plugin_context: PluginContext,
    make_entry: Callable[..., IngestionConfig],
    fresh_catalog: Callable[[], Catalog],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An error raised inside the commit (before it reached the catalog) that a retry cannot
    fix: the table is untouched, the written file removed, the package set aside with the
    reason, and the next run is not wedged by it. (Real crashes: tests/crash/.)"""
    config = make_entry("people", config={"count": 3})
    first = run(plugin_context, config)
    table_before = fresh_catalog().load_table("bronze.people")

    real_commit = Transaction.commit_transaction
    calls = {"n": 0}

    def fail_once(self: Transaction):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("simulated bug between normalize and commit")
        return real_commit(self)

    monkeypatch.setattr(Transaction, "commit_transaction", fail_once)
    failed_run = run(plugin_context, config)
    assert not failed_run.success and failed_run.error.code == "UNEXPECTED_ERROR"
    assert "simulated bug" in failed_run.error.message

    table_after = fresh_catalog().load_table("bronze.people")
    assert table_after.metadata == table_before.metadata  # not a single metadata change
    data_dir = Path(table_after.location().removeprefix("file://")) / "data"
    assert len(list(data_dir.iterdir())) == 1  # the uncommitted file was removed again

    plugin = DltIngestionPlugin(plugin_context)
    assert not list(plugin.create_pipeline(config).dlt_pipeline.list_normalized_load_packages())
    (aside,) = plugin.set_aside_packages("people")
    assert aside.reason["code"] == "UNEXPECTED_ERROR" and aside.rows == 3
    assert failed_run.details["set_aside_load_ids"] == [aside.load_id]

    recovered = run(plugin_context, config)  # not wedged: a new package, committed
    assert recovered.success and "recovered_load_ids" not in recovered.details
    assert fresh_catalog().load_table("bronze.people").scan().to_arrow().num_rows == 6

    outcome = plugin.retry_set_aside(config, aside.load_id)  # `floe packages retry`
    assert outcome.snapshot_id is not None and outcome.rows == 3
    assert not plugin.set_aside_packages("people")
    load_ids = _snapshot_load_ids(fresh_catalog(), "bronze.people")
    assert len(load_ids) == len(set(load_ids)) == 3
    assert load_ids[0] == first.details["load_ids"][0] and load_ids[-1] == aside.load_id
    assert fresh_catalog().load_table("bronze.people").scan().to_arrow().num_rows == 9


def test_error_on_first_commit_creates_no_table(
    plugin_context: PluginContext,
    make_entry: Callable[..., IngestionConfig],
    fresh_catalog: Callable[[], Catalog],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def fail(self: Transaction):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(CreateTableTransaction, "commit_transaction", fail)
    assert not run(plugin_context, make_entry("people")).success
    assert not fresh_catalog().table_exists("bronze.people")
    warehouse = Path(plugin_context.catalog_properties["warehouse"].removeprefix("file://"))
    assert not list(warehouse.rglob("*.parquet"))  # the written file was removed again

    monkeypatch.undo()
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    recovered = run(plugin_context, make_entry("people"))
    assert recovered.success and recovered.tables_created == ["bronze.people"]
    assert fresh_catalog().load_table("bronze.people").scan().to_arrow().num_rows == 3


def test_crash_after_commit_before_cleanup_is_not_committed_twice(
    plugin_context: PluginContext,
    make_entry: Callable[..., IngestionConfig],
    fresh_catalog: Callable[[], Catalog],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = make_entry("people", config={"count": 3})
    real_retire = plugin_module._retire_package

    def crash(*_args: object) -> None:
        raise RuntimeError("simulated crash after commit")

    monkeypatch.setattr(plugin_module, "_retire_package", crash)
    crashed = run(plugin_context, config)
    assert not crashed.success
    committed = _snapshot_load_ids(fresh_catalog(), "bronze.people")
    assert len(committed) == 1

    monkeypatch.setattr(plugin_module, "_retire_package", real_retire)
    recovered = run(plugin_context, config)

    assert recovered.success
    assert recovered.details["recovered_load_ids"] == committed
    load_ids = _snapshot_load_ids(fresh_catalog(), "bronze.people")
    assert load_ids[0] == committed[0] and len(load_ids) == len(set(load_ids)) == 2
    assert fresh_catalog().load_table("bronze.people").scan().to_arrow().num_rows == 6
    assert recovered.rows_loaded == 3  # the recovered package was loaded by the crashed run


def test_commit_conflicts_are_retried_then_transient(
    plugin_context: PluginContext,
    make_entry: Callable[..., IngestionConfig],
    fresh_catalog: Callable[[], Catalog],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import stamina

    # Backoffs off, attempts capped (not set) at 100: the plugin's own commit_attempts counts.
    # 4 is neither the default (5) nor a testing pin, so an ignored setting fails the test.
    stamina.set_testing(True, attempts=100, cap=True)
    monkeypatch.setattr(
        plugin_module, "DltPluginSettings", _settings_with(commit_attempts=4), raising=True
    )
    real_create = CreateTableTransaction.commit_transaction
    real_commit = Transaction.commit_transaction
    attempts = {"n": 0}

    def conflict(self: Transaction):
        attempts["n"] += 1
        raise CommitFailedException("metadata location changed concurrently")

    monkeypatch.setattr(Transaction, "commit_transaction", conflict)
    monkeypatch.setattr(CreateTableTransaction, "commit_transaction", conflict)
    try:
        error = failed(plugin_context, make_entry("people")).error
        assert (error.category, error.code, error.retryable) == (
            ErrorCategory.TRANSIENT,
            "COMMIT_CONFLICT",
            True,
        )
        assert attempts["n"] == 4

        # one conflict, then success: committed once
        attempts["n"] = 0

        def conflict_once(self: Transaction):
            attempts["n"] += 1
            if attempts["n"] == 1:
                raise CommitFailedException("metadata location changed concurrently")
            return real_create(self)

        monkeypatch.setattr(CreateTableTransaction, "commit_transaction", conflict_once)
        monkeypatch.setattr(Transaction, "commit_transaction", real_commit)
        ok = run(plugin_context, make_entry("people"))
        assert ok.success
        # the conflicted package and the new one, each committed once
        load_ids = _snapshot_load_ids(fresh_catalog(), "bronze.people")
        assert len(load_ids) == len(set(load_ids)) == 2
    finally:
        stamina.set_testing(False)


def _settings_with(**overrides: object) -> type:
    from plugins.dlt.options import DltPluginSettings

    class Settings(DltPluginSettings):
        @classmethod
        def model_validate(cls, obj: object, **kwargs: object) -> DltPluginSettings:  # type: ignore[override]
            return DltPluginSettings.model_validate({**dict(obj), **overrides})  # type: ignore[arg-type]

    return Settings


def test_glob_matching_no_file_is_source_not_found(tmp_path: Path, plugin_context) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "landing").mkdir()
    plugin = DltIngestionPlugin(plugin_context)
    config = IngestionConfig(
        name="empty_glob",
        source="dlt.sources.filesystem",
        destination_table="bronze.empty_glob",
        options={"config": {"bucket_url": str(tmp_path / "landing"), "file_glob": "*.csv"}},
    )

    result = plugin.run(plugin.create_pipeline(config))

    assert result.error is not None
    assert (result.error.category, result.error.code) == ("PERMANENT", "SOURCE_NOT_FOUND")
    assert "matches '*.csv'" in result.error.message
