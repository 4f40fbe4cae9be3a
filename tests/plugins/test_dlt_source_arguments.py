"""A source's arguments come from floe.yaml (`dlt.config`) and `secret_refs` only.

dlt fills any argument of a @dlt.source / @dlt.resource function it was not given from its
config providers, the environment included, down to the bare argument name: an argument
`path` received $PATH. floe passes every declared argument explicitly, so nothing is left to
fill; one floe.yaml does not give is reported, at validate time and at run time.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from platform_defs.config import ConfigError, load_project
from plugins.base import ErrorCategory
from tests.plugins.floe_project import land, run_pipeline, table_rows, write_project

pytestmark = pytest.mark.integration


def _project(root: Path, source: str, extra: str = "") -> Path:
    return write_project(
        root,
        f"""\
        ingestion:
          - name: items
            destination: bronze.items
            dlt:
              source: documented_sources:{source}
        {extra}""",
    )


def test_an_argument_named_like_an_environment_variable_keeps_its_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", f"/opt/elsewhere:{Path('/usr/bin')}:/bin")
    monkeypatch.setenv("SOURCES__PATH", "/from/dlt/sections")

    _, project = land(_project(tmp_path / "project", "files_at"), "items")

    assert table_rows(project, "bronze.items", "path") == [{"path": "landing/default"}]


def test_an_argument_from_floe_yaml_is_used(tmp_path: Path) -> None:
    root = _project(tmp_path / "project", "files_at", "      config: {path: landing/orders}\n")

    _, project = land(root, "items")

    assert table_rows(project, "bronze.items", "path") == [{"path": "landing/orders"}]


def test_a_resource_functions_arguments_are_not_filled_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COUNT", "5")

    _, project = land(_project(tmp_path / "project", "counted"), "items")

    assert table_rows(project, "bronze.items", "i", "path") == [
        {"i": 0, "path": "default"},
        {"i": 1, "path": "default"},
    ]


def test_an_optional_config_argument_is_none_not_the_environments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAG", "from-the-environment")

    _, project = land(_project(tmp_path / "project", "tagged"), "items")

    assert table_rows(project, "bronze.items", "tag") == [{"tag": "untagged"}]


def test_a_required_argument_floe_yaml_does_not_give_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    root = _project(tmp_path / "project", "files_in")

    with pytest.raises(ConfigError) as excinfo:
        load_project(root)
    assert [str(issue) for issue in excinfo.value.issues] == [
        "floe.yaml:4: ingestion[0].dlt.config: documented_sources:files_in needs argument "
        "'path': give it in dlt.config (or secret_refs for a secret)"
    ]

    result = run_pipeline(load_project(root, check_plugins=False), "items")
    assert result.error is not None
    assert (result.error.category, result.error.code) == (
        ErrorCategory.CONFIGURATION,
        "CONFIG_MISSING",
    )
    assert "'path'" in result.error.message


def test_a_secret_argument_is_never_read_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("API_KEY", "from-the-environment")
    root = _project(tmp_path / "project", "keyed")

    with pytest.raises(ConfigError) as excinfo:
        load_project(root)
    (issue,) = excinfo.value.issues
    assert "'api_key'" in issue.message

    result = run_pipeline(load_project(root, check_plugins=False), "items")
    assert result.error is not None
    assert (result.error.category, result.error.code) == (ErrorCategory.PERMANENT, "AUTH_FAILED")


def test_an_argument_the_source_does_not_take_is_reported(tmp_path: Path) -> None:
    root = _project(tmp_path / "project", "files_at", "      config: {pth: x}\n")

    with pytest.raises(ConfigError) as excinfo:
        load_project(root)

    assert [str(issue) for issue in excinfo.value.issues] == [
        "floe.yaml:6: ingestion[0].dlt.config.pth: documented_sources:files_at has no "
        "argument 'pth' (it takes: path)"
    ]
