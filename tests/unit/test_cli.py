"""`floe validate | compile | schema`: exit codes and output, never a traceback for config."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from platform_defs import cli
from platform_defs.config import checks
from plugins.base import IngestionConfig, IngestionPlugin, IngestionResult

pytestmark = pytest.mark.unit

FLOE = """\
ingestion:
  - name: orders
    destination: bronze.orders
    write_disposition: merge
    primary_key: id
    schedule: "0 5 * * *"
    secret_refs: {token: shop-api-token}
    dlt:
      source: "json:loads"
  - name: customers
    destination: bronze.customers
    dlt:
      source: "json:loads"
"""
MANIFEST = """\
catalog:
  name: lake
  uri: postgresql+psycopg://floe:hunter2@127.0.0.1:5432/test
  warehouse: s3://lake/warehouse
retry:
  max_attempts: 4
"""


class NoChecksPlugin(IngestionPlugin):
    """An installed `dlt` type whose own checks pass: the real plugin has its own tests."""

    name, version, is_external = "dlt", "0", False

    def create_pipeline(self, config: IngestionConfig) -> Any:
        raise NotImplementedError

    def run(
        self, pipeline: Any, *, progress: Any = None, run_context: Any = None
    ) -> IngestionResult:
        raise NotImplementedError

    def get_destination_config(self) -> dict[str, Any]:
        return {}


@pytest.fixture(autouse=True)
def installed_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checks, "discover_plugins", lambda: {"dlt": NoChecksPlugin})


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "floe.yaml").write_text(FLOE)
    (tmp_path / "platform-manifest.yaml").write_text(MANIFEST)
    return tmp_path


def test_validate_ok(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["validate", "--project-dir", str(project)]) == 0
    assert capsys.readouterr().out == "ok: 2 pipelines, catalog lake (sql)\n"


def test_validate_reports_every_issue(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    floe = FLOE.replace("merge", "upsert").replace("bronze.customers", "bronze")
    (project / "floe.yaml").write_text(floe)
    assert cli.main(["validate", "--project-dir", str(project)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        "floe.yaml:4: ingestion[0].write_disposition: 'upsert' is not one of append, replace, "
        "merge",
        "floe.yaml:11: ingestion[1].destination: 'bronze' is not valid: expected "
        "'<namespace>.<table>', each part lower-case letters, digits and '_', starting with a "
        "letter",
        "2 problems found",
    ]


def test_validate_secrets(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FLOE_SECRET_SHOP_API_TOKEN", raising=False)
    assert cli.main(["validate", "--project-dir", str(project), "--secrets"]) == 1
    assert "FLOE_SECRET_SHOP_API_TOKEN is not set" in capsys.readouterr().err
    monkeypatch.setenv("FLOE_SECRET_SHOP_API_TOKEN", "t0ken")
    assert cli.main(["validate", "--project-dir", str(project), "--secrets"]) == 0
    assert "t0ken" not in capsys.readouterr().out


def test_compile(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOE_SECRET_SHOP_API_TOKEN", "t0ken")
    assert cli.main(["compile", "--project-dir", str(project)]) == 0
    out = capsys.readouterr().out
    assert "t0ken" not in out and "hunter2" not in out
    plan = json.loads(out)
    assert plan["catalog"] == {
        "name": "lake",
        "type": "sql",
        "uri": "postgresql+psycopg://floe:***@127.0.0.1:5432/test",
        "warehouse": "s3://lake/warehouse",
    }
    orders, customers = plan["pipelines"]
    assert orders == {
        "name": "orders",
        "asset_key": ["bronze", "orders"],
        "destination_table": "bronze.orders",
        "plugin": "dlt",
        "source": "json:loads",
        "write_disposition": "merge",
        "primary_key": ["id"],
        "incremental": None,
        "schedule": "0 5 * * *",
        "secret_refs": {"token": "shop-api-token"},
        "description": None,
        "retry": {
            "max_attempts": 4,
            "initial_delay_seconds": 5.0,
            "max_delay_seconds": 300.0,
            "backoff_multiplier": 2.0,
            "retryable_categories": ["TRANSIENT"],
        },
    }
    assert customers["write_disposition"] == "append" and customers["primary_key"] == []


def test_compile_to_file(project: Path, tmp_path: Path) -> None:
    target = tmp_path / "out" / "plan.json"
    assert cli.main(["compile", "--project-dir", str(project), "--output", str(target)]) == 0
    assert [p["name"] for p in json.loads(target.read_text())["pipelines"]] == [
        "orders",
        "customers",
    ]


def test_compile_with_bad_config_exits_1(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "platform-manifest.yaml").unlink()
    assert cli.main(["compile", "--project-dir", str(project)]) == 1
    assert "platform-manifest.yaml: file not found" in capsys.readouterr().err


def test_schema_prints_both(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["schema"]) == 0
    schemas = json.loads(capsys.readouterr().out)
    assert set(schemas) == {"floe.schema.json", "platform-manifest.schema.json"}
    assert cli.main(["schema", "--check"]) == 0


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 2
    assert "validate" in capsys.readouterr().out
