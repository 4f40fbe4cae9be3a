"""The manifest's `maintenance:` block: defaults, bounds, cross-checks with line numbers."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from platform_defs.config import ConfigError, MaintenancePolicy, load_project

from .conftest import write_project

pytestmark = pytest.mark.unit


def test_defaults() -> None:
    policy = MaintenancePolicy()
    assert policy.schedule == "0 3 * * *"
    assert (policy.expire_snapshots_older_than_days, policy.keep_last_snapshots) == (7, 5)
    assert policy.orphan_files_older_than_hours == 24
    assert policy.small_file_bytes == 32 * 1024 * 1024 < policy.target_file_bytes


@pytest.mark.parametrize(
    "values",
    [
        {"keep_last_snapshots": 0},
        {"orphan_files_older_than_hours": 0},  # would race commits in flight
        {"schedule": "every night"},
        {"retain": 3},
    ],
)
def test_bad_values_are_refused(values: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        MaintenancePolicy.model_validate(values)


def test_target_must_exceed_the_small_size(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        ["bronze.events"],
        "maintenance:\n  small_file_bytes: 100\n  target_file_bytes: 100\n",
    )
    with pytest.raises(ConfigError) as error:
        load_project(tmp_path, check_plugins=False)
    assert [str(issue) for issue in error.value.issues] == [
        "platform-manifest.yaml:5: maintenance.target_file_bytes: "
        "must be > small_file_bytes (100), got 100"
    ]


def test_the_repository_manifest_states_the_defaults() -> None:
    from tests.conftest import REPO_ROOT

    project = load_project(REPO_ROOT, check_plugins=False)
    assert project.manifest.maintenance == MaintenancePolicy()
