"""The dlt plugin owns the models of its floe.yaml keys (the `dlt:` block and `incremental`):
the loader validates an entry with them, line-numbered, and the JSON Schema is theirs."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from platform_defs.config import ConfigError, checks, load_project, schema
from plugins.dlt import DltIngestionPlugin
from plugins.dlt.options import DltBlock, DltIncremental

pytestmark = pytest.mark.unit

MANIFEST = "catalog:\n  uri: sqlite:///.floe/catalog.db\n  warehouse: .floe/warehouse\n"


def issues_of(root: Path, floe_yaml: str) -> list[str]:
    root.mkdir(parents=True, exist_ok=True)
    (root / "floe.yaml").write_text(textwrap.dedent(floe_yaml), encoding="utf-8")
    (root / "platform-manifest.yaml").write_text(MANIFEST, encoding="utf-8")
    with pytest.raises(ConfigError) as excinfo:
        load_project(root)
    return [str(issue) for issue in excinfo.value.issues]


def test_the_plugin_declares_the_models_the_loader_uses() -> None:
    models = checks.plugin_models(DltIngestionPlugin, "dlt")
    assert models == {"dlt": DltBlock, "incremental": DltIncremental}


def test_the_dlt_block_is_validated_by_the_plugins_model(tmp_path: Path) -> None:
    assert issues_of(
        tmp_path,
        """\
        ingestion:
          - name: orders
            destination: bronze.orders
            dlt:
              source: json:loads
              resorce: orders
              max_table_nesting: -1
        """,
    ) == [
        "floe.yaml:6: ingestion[0].dlt.resorce: unknown key 'resorce' (did you mean 'resource'?)",
        "floe.yaml:7: ingestion[0].dlt.max_table_nesting: must be >= 0, got -1",
    ]


def test_a_bad_source_is_reported_by_the_plugins_model(tmp_path: Path) -> None:
    assert issues_of(
        tmp_path,
        """\
        ingestion:
          - name: orders
            destination: bronze.orders
            dlt: {source: github}
        """,
    ) == [
        "floe.yaml:4: ingestion[0].dlt.source: 'github' is not valid: expected a dlt built-in "
        "(dlt.sources.filesystem, dlt.sources.rest_api, dlt.sources.sql_database) "
        "or 'package.module:function'"
    ]


def test_incremental_is_validated_by_the_plugins_model(tmp_path: Path) -> None:
    assert issues_of(
        tmp_path,
        """\
        ingestion:
          - name: orders
            destination: bronze.orders
            incremental:
              cursor_pth: updated_at
              last_value_func: avg
            dlt: {source: "json:loads"}
        """,
    ) == [
        "floe.yaml:4: ingestion[0].incremental.cursor_path: missing required key",
        "floe.yaml:5: ingestion[0].incremental.cursor_pth: unknown key 'cursor_pth' "
        "(did you mean 'cursor_path'?)",
        "floe.yaml:6: ingestion[0].incremental.last_value_func: 'avg' is not one of max, min",
    ]


def test_documented_keys_validate(tmp_path: Path) -> None:
    (tmp_path / "landing").mkdir(parents=True)
    (tmp_path / "floe.yaml").write_text(
        textwrap.dedent(
            """\
            ingestion:
              - name: orders
                destination: bronze.orders
                incremental: {cursor_path: UpdatedAt, initial_value: "2024-01-01"}
                dlt:
                  source: dlt.sources.filesystem
                  resource: orders
                  max_table_nesting: 1
                  config: {bucket_url: landing, file_glob: "*.csv"}
            """
        ),
        encoding="utf-8",
    )
    (tmp_path / "platform-manifest.yaml").write_text(MANIFEST, encoding="utf-8")
    config = load_project(tmp_path).ingestion_config("orders")
    assert config.incremental == {"cursor_path": "UpdatedAt", "initial_value": "2024-01-01"}
    assert config.options == {
        "resource": "orders",
        "max_table_nesting": 1,
        "config": {"bucket_url": "landing", "file_glob": "*.csv"},
    }


def test_the_json_schema_is_the_plugins() -> None:
    generated = schema.json_schemas()["floe.schema.json"]
    definitions = generated["$defs"]
    entry = definitions["IngestionPipeline"]["properties"]

    def properties(prop: dict) -> set[str]:
        (ref,) = [option["$ref"] for option in prop["anyOf"] if "$ref" in option]
        return set(definitions[ref.rsplit("/", 1)[-1]]["properties"])

    assert properties(entry["dlt"]) == set(DltBlock.model_fields)
    assert properties(entry["incremental"]) == set(DltIncremental.model_fields)
    committed = json.loads((schema.SCHEMA_DIR / "floe.schema.json").read_text())
    assert committed == json.loads(schema.render(generated))
