"""floe.yaml / platform-manifest.yaml loading: every problem as `file:line: key: message`."""

from __future__ import annotations

import textwrap
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any, ClassVar

import pytest

from platform_defs.config import ConfigError, ConfigIssue, Project, checks, load_project
from plugins.base import IngestionConfig, IngestionPlugin, IngestionResult, PluginContext
from plugins.dlt.options import DltBlock, DltIncremental

pytestmark = pytest.mark.unit

CHEAP_SOURCE = "json:loads"  # importable and instant: the source itself doesn't matter here

MANIFEST = """\
catalog:
  uri: sqlite:///.floe/catalog.db
  warehouse: .floe/warehouse
"""


class FakeDltPlugin(IngestionPlugin):
    """Stands in for the installed plugins, so these tests check the loader, not a plugin."""

    name = "dlt"
    version = "0"
    is_external = False
    # the models of the keys the plugin owns, as the real dlt plugin declares them
    options_model = DltBlock
    incremental_model = DltIncremental
    seen: ClassVar[list[tuple[PluginContext, IngestionConfig]]] = []

    def validate(self, config: IngestionConfig) -> list[tuple[str, str]]:
        FakeDltPlugin.seen.append((self.context, config))
        if config.options.get("config", {}).get("bucket_url") == "missing":
            return [("config.bucket_url", "directory 'missing' does not exist")]
        if config.options.get("config", {}).get("explode"):
            raise RuntimeError("plugin bug")
        if config.options.get("config", {}).get("cursor_check"):
            return [("incremental", "needs a cursor")]  # an entry-level key
        return []

    def create_pipeline(self, config: IngestionConfig) -> Any:
        raise NotImplementedError

    def run(
        self, pipeline: Any, *, progress: Any = None, run_context: Any = None
    ) -> IngestionResult:
        raise NotImplementedError

    def get_destination_config(self) -> dict[str, Any]:
        return {}


@pytest.fixture(autouse=True)
def fake_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeDltPlugin.seen.clear()
    monkeypatch.setattr(checks, "discover_plugins", lambda: {"dlt": FakeDltPlugin})


def write_project(root: Path, floe: str | None, manifest: str | None = MANIFEST) -> Path:
    """Write the two files (None: leave the file out). Line 1 is the text's first line."""
    root.mkdir(parents=True, exist_ok=True)
    if floe is not None:
        (root / "floe.yaml").write_text(textwrap.dedent(floe), encoding="utf-8")
    if manifest is not None:
        (root / "platform-manifest.yaml").write_text(textwrap.dedent(manifest), encoding="utf-8")
    return root


def issues_of(root: Path, **kwargs: Any) -> list[str]:
    with pytest.raises(ConfigError) as excinfo:
        load_project(root, **kwargs)
    return [str(issue) for issue in excinfo.value.issues]


def one_pipeline(**overrides: str) -> str:
    """A valid one-entry floe.yaml; overrides replace or add `key: value` lines of the entry."""
    fields = {
        "name": "orders",
        "destination": "bronze.orders",
        "write_disposition": "append",
    } | overrides
    lines = ["ingestion:"]
    for i, (key, value) in enumerate(fields.items()):
        lines.append(f"  {'- ' if i == 0 else '  '}{key}: {value}")
    lines += ["    dlt:", f"      source: {CHEAP_SOURCE}"]
    return "\n".join(lines) + "\n"


# -- pydantic errors, rewritten ------------------------------------------------------------


def test_bad_write_disposition(tmp_path: Path) -> None:
    write_project(tmp_path, one_pipeline(write_disposition="upsert"))
    assert issues_of(tmp_path) == [
        "floe.yaml:4: ingestion[0].write_disposition: 'upsert' is not one of append, replace, merge"
    ]


def test_unknown_key(tmp_path: Path) -> None:
    write_project(tmp_path, one_pipeline(foo="bar"))
    assert issues_of(tmp_path) == ["floe.yaml:5: ingestion[0].foo: unknown key 'foo'"]


def test_unknown_key_suggests_the_close_one(tmp_path: Path) -> None:
    write_project(tmp_path, one_pipeline(primary_kye="id"))
    assert issues_of(tmp_path) == [
        "floe.yaml:5: ingestion[0].primary_kye: unknown key 'primary_kye' "
        "(did you mean 'primary_key'?)"
    ]


def test_missing_required_key_points_at_its_block(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        """\
        ingestion:
          - name: orders
            dlt:
              source: json:loads
        """,
    )
    assert issues_of(tmp_path) == ["floe.yaml:2: ingestion[0].destination: missing required key"]


def test_wrong_type(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        one_pipeline(primary_key="{a: 1}"),
        MANIFEST + "retry:\n  max_attempts: many\n",
    )
    assert issues_of(tmp_path) == [
        "floe.yaml:5: ingestion[0].primary_key: expected a list, got a mapping",
        "platform-manifest.yaml:5: retry.max_attempts: expected an integer, got 'many'",
    ]


def test_bad_destination_format(tmp_path: Path) -> None:
    write_project(tmp_path, one_pipeline(destination="Bronze"))
    assert issues_of(tmp_path) == [
        "floe.yaml:3: ingestion[0].destination: 'Bronze' is not valid: expected "
        "'<namespace>.<table>', each part lower-case letters, digits and '_', "
        "starting with a letter"
    ]


def test_invalid_cron(tmp_path: Path) -> None:
    write_project(tmp_path, one_pipeline(schedule="'0 25 * * *'"))
    assert issues_of(tmp_path) == [
        "floe.yaml:5: ingestion[0].schedule: '0 25 * * *' is not a valid cron expression "
        "(5 fields: minute hour day-of-month month day-of-week, or @hourly/@daily/...)"
    ]


def test_cron_with_seconds_is_rejected_like_dagster_does(tmp_path: Path) -> None:
    write_project(tmp_path, one_pipeline(schedule="'0 0 * * * *'"))
    assert issues_of(tmp_path)[0].startswith("floe.yaml:5: ingestion[0].schedule: '0 0 * * * *'")


def test_primary_key_string_becomes_a_list(tmp_path: Path) -> None:
    write_project(tmp_path, one_pipeline(write_disposition="merge", primary_key="id"))
    assert load_project(tmp_path).pipeline("orders").primary_key == ["id"]


def test_duplicate_yaml_key(tmp_path: Path) -> None:
    write_project(tmp_path, one_pipeline() + "    name: again\n")
    assert issues_of(tmp_path) == ["floe.yaml:7: ingestion[0].name: duplicate key 'name'"]


# -- cross-field rules -----------------------------------------------------------------------

TWO_PIPELINES = """\
ingestion:
  - name: orders
    destination: bronze.orders
    dlt: {source: "json:loads"}
  - name: {second_name}
    destination: {second_destination}
    dlt: {source: "json:loads"}
"""


def test_duplicate_pipeline_names_point_at_the_second(tmp_path: Path) -> None:
    floe = TWO_PIPELINES.replace("{second_name}", "orders")
    write_project(tmp_path, floe.replace("{second_destination}", "bronze.orders_copy"))
    assert issues_of(tmp_path) == [
        "floe.yaml:5: ingestion[1].name: duplicate pipeline name 'orders' "
        "(already used by ingestion[0])"
    ]


def test_duplicate_destinations_point_at_the_second(tmp_path: Path) -> None:
    floe = TWO_PIPELINES.replace("{second_name}", "orders_again")
    write_project(tmp_path, floe.replace("{second_destination}", "bronze.orders"))
    assert issues_of(tmp_path) == [
        "floe.yaml:6: ingestion[1].destination: duplicate destination 'bronze.orders' "
        "(already written by ingestion[0]); each table has one pipeline"
    ]


def test_merge_without_primary_key(tmp_path: Path) -> None:
    write_project(tmp_path, one_pipeline(write_disposition="merge"))
    assert issues_of(tmp_path) == [
        "floe.yaml:4: ingestion[0].write_disposition: 'merge' needs a primary_key"
    ]


def test_plugin_blocks_must_match_the_type(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        """\
        ingestion:
          - name: orders
            destination: bronze.orders
            airbyte:
              connection_id: abc
        """,
    )
    assert issues_of(tmp_path) == [
        "floe.yaml:2: ingestion[0].dlt: a 'dlt:' block is required when type is 'dlt'",
        "floe.yaml:4: ingestion[0].airbyte: not allowed when type is 'dlt'",
    ]


# -- code: sources and plugins ---------------------------------------------------------------


def test_unimportable_source_module(tmp_path: Path) -> None:
    write_project(tmp_path, one_pipeline().replace(CHEAP_SOURCE, "no_such_pkg.sources:orders"))
    assert issues_of(tmp_path) == [
        "floe.yaml:6: ingestion[0].dlt.source: cannot import 'no_such_pkg.sources': "
        "ModuleNotFoundError: No module named 'no_such_pkg'"
    ]


def test_source_module_without_the_function(tmp_path: Path) -> None:
    # The project directory is importable, like the code location makes it.
    (tmp_path / "floe_loader_test_sources.py").write_text("def customers():\n    return []\n")
    source = "floe_loader_test_sources:orders"
    write_project(tmp_path, one_pipeline().replace(CHEAP_SOURCE, source))
    assert issues_of(tmp_path) == [
        "floe.yaml:6: ingestion[0].dlt.source: "
        "module 'floe_loader_test_sources' has no attribute 'orders'"
    ]


def test_source_that_is_neither_builtin_nor_module_function(tmp_path: Path) -> None:
    write_project(tmp_path, one_pipeline().replace(CHEAP_SOURCE, "github"))
    assert issues_of(tmp_path) == [
        "floe.yaml:6: ingestion[0].dlt.source: 'github' is not valid: expected a dlt built-in "
        "(dlt.sources.filesystem, dlt.sources.rest_api, dlt.sources.sql_database) "
        "or 'package.module:function'"
    ]


def test_unknown_plugin_type(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        """\
        ingestion:
          - name: orders
            destination: bronze.orders
            dlt: {source: "json:loads"}
          - name: accounts
            type: foo
            destination: bronze.accounts
        """,
    )
    assert issues_of(tmp_path) == [
        "floe.yaml:6: ingestion[1].type: unknown plugin 'foo' (installed: dlt)"
    ]


def test_airbyte_is_an_unknown_plugin_until_one_is_installed(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        """\
        ingestion:
          - name: accounts
            type: airbyte
            destination: bronze.accounts
            airbyte: {connection_id: abc-123}
        """,
    )
    assert issues_of(tmp_path) == [
        "floe.yaml:3: ingestion[0].type: unknown plugin 'airbyte' (installed: dlt)"
    ]


def test_unknown_manifest_plugin_type(tmp_path: Path) -> None:
    write_project(tmp_path, one_pipeline(), MANIFEST + "plugins:\n  ingestion:\n    type: foo\n")
    assert issues_of(tmp_path) == [
        "platform-manifest.yaml:6: plugins.ingestion.type: unknown plugin 'foo' (installed: dlt)"
    ]


def test_plugin_validate_findings_are_placed_in_the_plugin_block(tmp_path: Path) -> None:
    floe = one_pipeline() + "      config:\n        bucket_url: missing\n"
    write_project(tmp_path, floe)
    assert issues_of(tmp_path) == [
        "floe.yaml:8: ingestion[0].dlt.config.bucket_url: directory 'missing' does not exist"
    ]


def test_plugin_findings_on_entry_fields_point_at_the_entry(tmp_path: Path) -> None:
    write_project(tmp_path, one_pipeline() + "      config:\n        cursor_check: true\n")
    assert issues_of(tmp_path) == ["floe.yaml:2: ingestion[0].incremental: needs a cursor"]


def test_a_failing_plugin_hook_is_an_issue_not_a_crash(tmp_path: Path) -> None:
    write_project(tmp_path, one_pipeline() + "      config:\n        explode: true\n")
    assert issues_of(tmp_path) == [
        "floe.yaml:2: ingestion[0].type: plugin 'dlt' failed to validate this entry: "
        "RuntimeError: plugin bug"
    ]


def test_a_plugin_that_fails_to_load_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_discovery() -> dict[str, type[IngestionPlugin]]:
        raise ModuleNotFoundError("No module named 'no_such_module'")

    monkeypatch.setattr(checks, "discover_plugins", broken_discovery)
    monkeypatch.setattr(
        checks,
        "entry_points",
        lambda group: [EntryPoint(name="dlt", value="no_such_module:Plugin", group=group)],
    )
    write_project(tmp_path, one_pipeline())
    assert issues_of(tmp_path) == [
        "floe.yaml:2: ingestion[0].type: plugin 'dlt' is installed but fails to load: "
        "ModuleNotFoundError: No module named 'no_such_module'",
        "platform-manifest.yaml:1: plugins.ingestion.type: plugin 'dlt' is installed but fails "
        "to load: ModuleNotFoundError: No module named 'no_such_module'",
    ]


def test_check_plugins_false_imports_nothing(tmp_path: Path) -> None:
    write_project(tmp_path, one_pipeline(type="foo").replace(CHEAP_SOURCE, "no_such_pkg.x:y"))
    with pytest.raises(ConfigError):  # the dlt-block rule is about the file, still checked
        load_project(tmp_path, check_plugins=False)
    assert FakeDltPlugin.seen == []


# -- interpolation -----------------------------------------------------------------------------


def test_undefined_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLOE_TEST_DEST", raising=False)
    write_project(tmp_path, one_pipeline(destination="${FLOE_TEST_DEST}"))
    assert issues_of(tmp_path) == [
        "floe.yaml:3: ingestion[0].destination: environment variable 'FLOE_TEST_DEST' is not "
        "set (set it, or write ${FLOE_TEST_DEST:-default})"
    ]


def test_variables_and_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLOE_TEST_NS", raising=False)
    monkeypatch.setenv("FLOE_TEST_TABLE", "orders")
    write_project(
        tmp_path,
        one_pipeline(
            destination="${FLOE_TEST_NS:-bronze}.${FLOE_TEST_TABLE}",
            description="'costs $$5'",
        ),
    )
    entry = load_project(tmp_path).pipeline("orders")
    assert entry.destination == "bronze.orders"
    assert entry.description == "costs $5"


# -- file level --------------------------------------------------------------------------------


def test_yaml_syntax_error_has_a_line(tmp_path: Path) -> None:
    write_project(tmp_path, "ingestion:\n  - name: orders\n    destination: [bronze\n")
    (issue,) = issues_of(tmp_path)
    assert issue.startswith("floe.yaml:4: invalid YAML: ")


def test_missing_file(tmp_path: Path) -> None:
    write_project(tmp_path, one_pipeline(), manifest=None)
    assert issues_of(tmp_path) == [
        f"platform-manifest.yaml: file not found: {tmp_path / 'platform-manifest.yaml'}"
    ]


def test_all_problems_of_both_files_are_reported_together(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        """\
        ingestion:
          - name: orders
            destination: bronze.orders
            write_disposition: upsert
            dlt: {source: "json:loads"}
          - name: orders
            destination: bronze
            dlt: {source: "json:loads"}
          - name: customers
            destination: bronze.customers
            write_disposition: merge
            dlt: {source: "json:loads"}
        """,
        MANIFEST + "retry:\n  initial_delay_seconds: 10\n  max_delay_seconds: 1\n",
    )
    assert issues_of(tmp_path) == [
        "floe.yaml:4: ingestion[0].write_disposition: 'upsert' is not one of append, replace, "
        "merge",
        "floe.yaml:7: ingestion[1].destination: 'bronze' is not valid: expected "
        "'<namespace>.<table>', each part lower-case letters, digits and '_', starting with a "
        "letter",
        "floe.yaml:11: ingestion[2].write_disposition: 'merge' needs a primary_key",
        "platform-manifest.yaml:6: retry.max_delay_seconds: must be >= initial_delay_seconds "
        "(10), got 1",
    ]


def test_config_error_str_lists_every_issue() -> None:
    error = ConfigError(
        [
            ConfigIssue("floe.yaml", 3, "ingestion[0].name", "bad"),
            ConfigIssue("x.yaml", None, "", "gone"),
        ]
    )
    assert str(error) == "floe.yaml:3: ingestion[0].name: bad\nx.yaml: gone"


# -- a valid project ---------------------------------------------------------------------------

VALID_FLOE = """\
ingestion:
  - name: wearable_sleep
    description: Nightly sleep records.
    destination: bronze.sleep
    write_disposition: merge
    primary_key: [Id, SleepDay]
    incremental: {cursor: SleepDay, initial_value: "2016-01-01"}
    schedule: "0 5 * * *"
    secret_refs: {api_token: wearable-api-token}
    dlt:
      source: dlt.sources.filesystem
      resources: [sleep]
      config:
        bucket_url: data
        file_glob: "sleep*.csv"
"""


def test_valid_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_project(
        tmp_path,
        VALID_FLOE,
        MANIFEST + "plugins:\n  ingestion:\n    type: dlt\n    config: {file_max_items: 100}\n",
    )
    monkeypatch.setenv("FLOE_SECRET_WEARABLE_API_TOKEN", "s3cr3t")
    project = load_project(tmp_path)
    assert isinstance(project, Project)
    assert project.root == tmp_path.resolve()

    context = project.plugin_context()
    assert context.catalog_name == "floe"
    assert context.catalog_properties == {
        "type": "sql",
        "uri": f"sqlite:///{tmp_path.resolve() / '.floe/catalog.db'}",
        "warehouse": (tmp_path.resolve() / ".floe/warehouse").as_uri(),
    }
    assert context.work_dir == tmp_path.resolve() / ".floe" / "dlt"
    assert context.plugin_config == {"file_max_items": 100}
    assert context.project_dir == tmp_path.resolve()
    assert (tmp_path / ".floe" / "warehouse").is_dir()  # created at use

    config = project.ingestion_config("wearable_sleep")
    assert config == IngestionConfig(
        name="wearable_sleep",
        source="dlt.sources.filesystem",
        destination_table="bronze.sleep",
        write_disposition="merge",
        primary_key=("Id", "SleepDay"),
        incremental={"cursor": "SleepDay", "initial_value": "2016-01-01"},
        secret_refs={"api_token": "wearable-api-token"},
        secrets={"api_token": "s3cr3t"},
        options={
            "resources": ["sleep"],
            "config": {"bucket_url": "data", "file_glob": "sleep*.csv"},
        },
    )
    assert "s3cr3t" not in repr(config)
    assert [c.secrets for c in project.ingestion_configs()] == [{}]

    # validate() got the same view of the entry (without secrets) and the platform context.
    ((seen_context, seen_config),) = FakeDltPlugin.seen
    assert seen_config.options == config.options and seen_config.secrets == {}
    assert seen_context.work_dir == context.work_dir


def test_loading_creates_no_directories(tmp_path: Path) -> None:
    write_project(tmp_path, one_pipeline())
    load_project(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["floe.yaml", "platform-manifest.yaml"]


def test_unknown_pipeline_name(tmp_path: Path) -> None:
    write_project(tmp_path, one_pipeline())
    with pytest.raises(KeyError, match="known: orders"):
        load_project(tmp_path).pipeline("nope")


def test_project_dir_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_project(tmp_path / "proj", one_pipeline())
    monkeypatch.setenv("FLOE_PROJECT_DIR", str(tmp_path / "proj"))
    assert load_project().root == (tmp_path / "proj").resolve()


def test_project_dir_from_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_project(tmp_path, one_pipeline())
    monkeypatch.delenv("FLOE_PROJECT_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert load_project().root == tmp_path.resolve()


def test_files_elsewhere_are_named_as_given(tmp_path: Path) -> None:
    write_project(tmp_path / "config", one_pipeline(write_disposition="upsert"))
    issues = issues_of(
        tmp_path,
        floe_file="config/floe.yaml",
        manifest_file="config/platform-manifest.yaml",
    )
    assert issues[0].startswith("config/floe.yaml:4: ingestion[0].write_disposition:")


def test_a_pipeline_may_not_write_a_table_the_usage_push_owns(tmp_path: Path) -> None:
    from platform_defs.config.models import PLATFORM_TABLES
    from platform_defs.usage.bronze import TABLES

    assert {table.identifier for table in TABLES} == PLATFORM_TABLES
    (tmp_path / "floe.yaml").write_text(
        "ingestion:\n"
        "  - name: stats\n"
        "    destination: bronze.tech_asset_stats_daily\n"
        "    dlt: {source: 'json:loads'}\n"
    )
    (tmp_path / "platform-manifest.yaml").write_text(
        "catalog: {uri: 'sqlite:///.floe/catalog.db', warehouse: .floe/warehouse}\n"
    )
    with pytest.raises(ConfigError) as raised:
        load_project(tmp_path, check_plugins=False)
    message = str(raised.value)
    assert "floe.yaml:3" in message and "written by the platform's usage push" in message
