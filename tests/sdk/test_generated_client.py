"""The low-level client is generated from the committed OpenAPI document, never edited.

Regenerating it (sdk/regenerate.py, openapi-python-client pinned in the dev group) into a
temp directory must give exactly the committed package. When this fails after the API
changed: `.floe/bootstrap/bin/uv run --frozen python sdk/regenerate.py`.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.unit


def _regenerate_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sdk_regenerate", REPO / "sdk" / "regenerate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_client_is_what_the_generator_makes_of_the_openapi_document() -> None:
    regenerate = _regenerate_module()
    stale = regenerate.stale_files()
    assert stale == [], (
        f"sdk/src/data_portal_sdk/_generated differs from a fresh generation from "
        f"platform_defs/api/openapi.json in {stale}: run "
        "`.floe/bootstrap/bin/uv run --frozen python sdk/regenerate.py`"
    )


def test_the_comparison_sees_an_edit(tmp_path: Path) -> None:
    regenerate = _regenerate_module()
    edited = tmp_path / "_generated"
    shutil.copytree(regenerate.PACKAGE, edited, ignore=shutil.ignore_patterns("__pycache__"))
    client = edited / "client.py"
    client.write_text(client.read_text() + "# edited by hand\n")
    (edited / "models" / "extra.py").write_text("")
    assert regenerate.stale_files(package=edited) == ["client.py", "models/extra.py"]


def test_the_usage_layer_calls_the_generated_endpoint() -> None:
    from data_portal_sdk import _client
    from data_portal_sdk._generated.api.usage_stats import push_usage_stats

    assert _client._push_endpoint is push_usage_stats
