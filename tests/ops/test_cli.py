"""``floe db upgrade`` and ``floe db current`` through ``platform_defs.cli.main``."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from platform_defs import cli
from platform_defs.ops import head_revision

from .conftest import OpsTarget, write_project

pytestmark = pytest.mark.integration


def test_upgrade_then_current(
    ops_target: OpsTarget, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = str(write_project(tmp_path / "project", ops_target.manifest_block()))
    head = head_revision()

    assert cli.main(["db", "current", "--project-dir", project]) == 0
    assert f"empty (run `floe db upgrade`; head is {head})" in capsys.readouterr().out

    assert cli.main(["db", "upgrade", "--project-dir", project]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ops store ") and f"(schema {ops_target.schema})" in out
    assert f"upgraded empty -> {head} (head)" in out

    assert cli.main(["db", "upgrade", "--project-dir", project]) == 0
    assert f"already at {head} (head)" in capsys.readouterr().out
    assert cli.main(["db", "current", "--project-dir", project]) == 0
    assert capsys.readouterr().out.endswith(f": {head} (head)\n")


def test_the_default_store_is_a_file_under_the_projects_floe_dir(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = write_project(tmp_path)
    assert cli.main(["db", "upgrade", "--project-dir", str(project)]) == 0
    assert f"sqlite:///{project / '.floe' / 'ops.db'} (schema ops)" in capsys.readouterr().out
    assert (project / ".floe" / "ops.db").is_file()


def test_a_password_in_the_url_is_refused_and_never_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ops = "ops:\n  url: postgresql+psycopg://floe:hunter2@127.0.0.1:5432/floe\n"
    project = write_project(tmp_path, ops)
    assert cli.main(["db", "upgrade", "--project-dir", str(project)]) == 1
    err = capsys.readouterr().err
    assert "platform-manifest.yaml:3: ops.url: the URL holds a password" in err
    assert "hunter2" not in err


def test_a_missing_password_secret_names_the_reference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FLOE_SECRET_OPS_DB_PASSWORD", raising=False)
    ops = (
        "ops:\n  url: postgresql+psycopg://floe@127.0.0.1:5432/floe\n"
        "  password_ref: ops-db-password\n"
    )
    project = write_project(tmp_path, ops)
    assert cli.main(["db", "upgrade", "--project-dir", str(project)]) == 1
    err = capsys.readouterr().err
    assert "ops.password_ref: secret 'ops-db-password' not found" in err
    assert "FLOE_SECRET_OPS_DB_PASSWORD" in err


def test_an_unreachable_database_is_one_line_with_the_password_masked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOE_SECRET_OPS_DB_PASSWORD", "hunter2")
    ops = (
        "ops:\n  url: postgresql+psycopg://floe@127.0.0.1:1/floe\n  password_ref: ops-db-password\n"
    )
    project = write_project(tmp_path, ops)
    assert cli.main(["db", "upgrade", "--project-dir", str(project)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(
        "floe: ops store postgresql+psycopg://floe@127.0.0.1:1/floe (schema ops): "
    )
    assert len(err.strip().splitlines()) == 1
    assert "hunter2" not in err


def test_a_store_from_a_newer_floe_is_reported_not_migrated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = write_project(tmp_path)
    assert cli.main(["db", "upgrade", "--project-dir", str(project)]) == 0
    with sqlite3.connect(project / ".floe" / "ops.db") as plain:
        plain.execute("UPDATE alembic_version SET version_num = '0099'")
    capsys.readouterr()

    assert cli.main(["db", "current", "--project-dir", str(project)]) == 0
    assert capsys.readouterr().out.endswith(
        f": 0099, newer than this floe's head {head_revision()}\n"
    )
    assert cli.main(["db", "upgrade", "--project-dir", str(project)]) == 1
    assert "migrated by a newer floe; upgrade this one" in capsys.readouterr().err
