"""Secret references resolve through env or files; errors name the ref, never a value."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from platform_defs.config import (
    ConfigError,
    SecretNotFoundError,
    SecretResolver,
    env_var_name,
    load_project,
)
from platform_defs.config.models import NOT_A_SECRET_REFERENCE

pytestmark = pytest.mark.unit

FLOE = """\
ingestion:
  - name: events
    destination: bronze.events
    secret_refs:
      api_token: events-api-token
    dlt:
      source: "json:loads"
"""


def project_dir(tmp_path: Path, secrets_block: str = "") -> Path:
    (tmp_path / "floe.yaml").write_text(FLOE)
    manifest = "catalog:\n  uri: sqlite:///c.db\n  warehouse: wh\n" + textwrap.dedent(secrets_block)
    (tmp_path / "platform-manifest.yaml").write_text(manifest)
    return tmp_path


def test_env_var_name() -> None:
    assert env_var_name("airbyte-api-token") == "FLOE_SECRET_AIRBYTE_API_TOKEN"
    assert env_var_name("db.password", "APP_") == "APP_DB_PASSWORD"


def test_secret_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOE_SECRET_EVENTS_API_TOKEN", "tok-123")
    project = load_project(project_dir(tmp_path), check_plugins=False)
    assert project.ingestion_config("events").secrets == {"api_token": "tok-123"}
    assert project.ingestion_config("events", resolve_secrets=False).secrets == {}


def test_secret_from_files(tmp_path: Path) -> None:
    secrets = tmp_path / "run-secrets"
    secrets.mkdir()
    (secrets / "events-api-token").write_text("tok-from-file\n")
    root = project_dir(tmp_path, "secrets:\n  backend: file\n  directory: run-secrets\n")
    project = load_project(root, check_plugins=False)
    assert project.ingestion_config("events").secrets == {"api_token": "tok-from-file"}


def test_missing_secret_names_the_ref_and_the_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FLOE_SECRET_EVENTS_API_TOKEN", raising=False)
    project = load_project(project_dir(tmp_path), check_plugins=False)
    with pytest.raises(ConfigError) as excinfo:
        project.ingestion_config("events")
    assert str(excinfo.value) == (
        "floe.yaml:5: ingestion[0].secret_refs.api_token: secret 'events-api-token' not found: "
        "environment variable FLOE_SECRET_EVENTS_API_TOKEN is not set"
    )


def test_missing_secret_file(tmp_path: Path) -> None:
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "other").write_text("do-not-leak")
    root = project_dir(tmp_path, "secrets:\n  backend: file\n  directory: s\n")
    project = load_project(root, check_plugins=False)
    (issue,) = project.check_secrets()
    assert str(issue) == (
        "floe.yaml:5: ingestion[0].secret_refs.api_token: secret 'events-api-token' not found: "
        f"no file {tmp_path / 's' / 'events-api-token'}"
    )
    assert "do-not-leak" not in str(issue)


def test_errors_never_contain_values(tmp_path: Path) -> None:
    (tmp_path / "empty").write_text("   \n")
    resolver = SecretResolver(backend="file", directory=tmp_path)
    with pytest.raises(SecretNotFoundError, match="is empty"):
        resolver.resolve("empty")
    env = SecretResolver(environ={"FLOE_SECRET_PRESENT": "shh"})
    value = env.resolve("present")
    assert value.get_secret_value() == "shh"
    assert "shh" not in repr(value) and "shh" not in str(value)


def test_file_backend_stays_in_its_directory(tmp_path: Path) -> None:
    resolver = SecretResolver(backend="file", directory=tmp_path / "secrets")
    with pytest.raises(SecretNotFoundError, match="not a valid secret name"):
        resolver.resolve("../floe.yaml")


def test_file_backend_needs_a_directory(tmp_path: Path) -> None:
    project_dir(tmp_path, "secrets:\n  backend: file\n")
    with pytest.raises(ConfigError) as excinfo:
        load_project(tmp_path, check_plugins=False)
    assert [str(i) for i in excinfo.value.issues] == [
        "platform-manifest.yaml:4: secrets.directory: required when backend is 'file'"
    ]


def test_secret_refs_are_names_not_paths(tmp_path: Path) -> None:
    (tmp_path / "floe.yaml").write_text(FLOE.replace("events-api-token", "../etc/passwd"))
    (tmp_path / "platform-manifest.yaml").write_text(
        "catalog: {uri: 'sqlite:///c.db', warehouse: wh}\n"
    )
    with pytest.raises(ConfigError) as excinfo:
        load_project(tmp_path, check_plugins=False)
    # the value is not repeated: what is pasted where a reference belongs may be a secret
    assert [str(i) for i in excinfo.value.issues] == [
        f"floe.yaml:5: ingestion[0].secret_refs.api_token: {NOT_A_SECRET_REFERENCE}"
    ]
