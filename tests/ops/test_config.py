"""The manifest's ``ops:`` section."""

from __future__ import annotations

from pathlib import Path

import pytest

from platform_defs.config import ConfigError, load_project
from platform_defs.config.ops import DEFAULT_OPS_URL

from .conftest import write_project

pytestmark = pytest.mark.unit


def test_defaults_to_a_sqlite_file_under_the_manifests_floe_dir(tmp_path: Path) -> None:
    ops = load_project(write_project(tmp_path), check_plugins=False).manifest.ops
    assert ops.url == f"sqlite:///{tmp_path / '.floe' / 'ops.db'}"
    assert (ops.schema_name, ops.password_ref) == ("ops", None)
    assert DEFAULT_OPS_URL == "sqlite:///.floe/ops.db"


def test_the_repositorys_manifest_reads_the_env_var(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import REPO_ROOT

    monkeypatch.delenv("FLOE_OPS_URL", raising=False)
    ops = load_project(REPO_ROOT, check_plugins=False).manifest.ops
    assert ops.url == f"sqlite:///{REPO_ROOT / '.floe' / 'ops.db'}"

    monkeypatch.setenv("FLOE_OPS_URL", "postgresql+psycopg://floe@db:5432/floe")
    ops = load_project(REPO_ROOT, check_plugins=False).manifest.ops
    assert ops.url == "postgresql+psycopg://floe@db:5432/floe"


def test_a_relative_sqlite_file_is_relative_to_the_manifest(tmp_path: Path) -> None:
    root = write_project(tmp_path, "ops:\n  url: sqlite:///state/ops.db\n  schema: floe_ops\n")
    ops = load_project(root, check_plugins=False).manifest.ops
    assert ops.url == f"sqlite:///{tmp_path / 'state' / 'ops.db'}"
    assert ops.schema_name == "floe_ops"


@pytest.mark.parametrize(
    ("block", "message"),
    [
        (
            "ops:\n  url: postgresql://u:hunter2@h/db\n",
            "platform-manifest.yaml:3: ops.url: the URL holds a password",
        ),
        (
            "ops:\n  url: postgresql://u@h/db?password=hunter2\n",
            "platform-manifest.yaml:3: ops.url: the URL holds a password",
        ),
        (
            "ops:\n  url: mysql://u@h/db\n",
            "platform-manifest.yaml:3: ops.url: 'mysql' is not supported",
        ),
        ("ops:\n  schema: Ops-1\n", "platform-manifest.yaml:3: ops.schema: 'Ops-1' is not valid"),
        ("ops:\n  shema: ops\n", "platform-manifest.yaml:3: ops.shema: unknown key 'shema'"),
    ],
)
def test_bad_settings_are_reported_at_their_line(tmp_path: Path, block: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_project(write_project(tmp_path, block), check_plugins=False)
    text = "\n".join(str(issue) for issue in caught.value.issues)
    assert message in text
    assert "hunter2" not in text


def test_the_repr_never_shows_a_password() -> None:
    from platform_defs.config.ops import OpsConfig

    ops = OpsConfig.model_construct(url="postgresql://u:hunter2@h/db", schema_name="ops")
    assert "hunter2" not in repr(ops) and "hunter2" not in ops.display_url
