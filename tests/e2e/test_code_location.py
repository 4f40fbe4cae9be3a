"""The code location loads whatever one pipeline's environment lacks (issue #7, item 9).

A check that needs the worker's environment (a local folder, an importable source, a plugin's
``validate()`` hook) fails that pipeline's asset at run time with the same ``file:line`` message
``floe validate`` prints; every other asset, schedule and sensor stays in the UI.
"""

from __future__ import annotations

import json
import os
import runpy
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from platform_defs.config import load_project
from platform_defs.transform.prepare import prepare, write_project_profiles
from platform_defs.transform.project import DBT_PROJECT_DIR

from ..conftest import DEMO_DROP, REPO_ROOT
from .conftest import ACTIVITY_PIPELINE, WEARABLE_CSV, write_project

pytestmark = pytest.mark.e2e

MISSING_FOLDER_PIPELINE = """\
- name: usage_port_stats
  destination: bronze.port_stats
  write_disposition: append
  schedule: "30 5 * * *"
  dlt:
    source: dlt.sources.filesystem
    config:
      bucket_url: usage_not_delivered_yet
      file_glob: "*.csv"
      format: csv
"""


@pytest.fixture(scope="module", autouse=True)
def dbt_manifest() -> None:
    """The code location reads dbt/target/manifest.json (written by the set-up step)."""
    if not (DBT_PROJECT_DIR / "target" / "manifest.json").exists():
        prepare(load_project(REPO_ROOT))


@pytest.fixture
def broken_project(tmp_path: Path) -> Path:
    """Two pipelines: one whose folder exists, one whose folder does not (yet)."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "daily_activity.csv").write_text(WEARABLE_CSV)
    write_project(tmp_path, pipelines=ACTIVITY_PIPELINE + MISSING_FOLDER_PIPELINE)
    write_project_profiles(load_project(tmp_path, check_plugins=False))  # the set-up step's part
    return tmp_path


def _load_location(project_dir: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Run ``platform_defs/definitions.py`` as Dagster does, without touching the module the
    other tests import (``runpy`` executes a fresh copy)."""
    monkeypatch.setenv("FLOE_PROJECT_DIR", str(project_dir))
    monkeypatch.delenv("FLOE_CATALOG_URI", raising=False)
    monkeypatch.delenv("FLOE_WAREHOUSE", raising=False)
    location = REPO_ROOT / "platform_defs" / "definitions.py"
    return runpy.run_path(str(location), run_name="floe_location_under_test")


def _materialize(defs: dg.Definitions, table: str) -> dg.ExecuteInProcessResult:
    """The location's own bronze asset, alone (its dbt source tests are another step)."""
    asset = defs.resolve_assets_def(dg.AssetKey(["bronze", table]))
    return dg.materialize([asset], raise_on_error=False)


def test_a_missing_local_folder_does_not_take_down_the_code_location(
    broken_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    defs: dg.Definitions = _load_location(broken_project, monkeypatch)["defs"]

    keys = defs.resolve_asset_graph().get_all_asset_keys()
    assert dg.AssetKey(["bronze", "daily_activity"]) in keys
    assert dg.AssetKey(["bronze", "port_stats"]) in keys
    assert defs.resolve_schedule_def("ingest_usage_port_stats_schedule") is not None
    assert defs.resolve_schedule_def("ingest_wearable_daily_activity_schedule") is not None
    assert defs.resolve_sensor_def("marts_automation") is not None


def test_the_broken_pipeline_fails_its_own_asset_with_the_validate_message(
    broken_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    defs: dg.Definitions = _load_location(broken_project, monkeypatch)["defs"]

    broken = _materialize(defs, "port_stats")
    assert not broken.success
    failure = broken.failure_data_for_node("bronze__port_stats")
    assert failure is not None and failure.user_failure_data is not None
    metadata = failure.user_failure_data.metadata
    assert metadata["error/category"].value == "CONFIGURATION"
    assert metadata["error/retryable"].value is False
    folder = broken_project / "usage_not_delivered_yet"
    # The same line `floe validate` prints: file, line, key path, what is wrong.
    assert metadata["error/message"].value == (
        f"floe.yaml:21: ingestion[1].dlt.config.bucket_url: directory {folder} does not exist"
    )
    restarts = [e for e in broken.all_events if e.event_type == dg.DagsterEventType.STEP_RESTARTED]
    assert restarts == []  # a configuration error is not retried

    assert _materialize(defs, "daily_activity").success


def test_the_check_runs_again_at_run_time(
    broken_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The folder arrives after the code location loaded: the next run finds it."""
    defs: dg.Definitions = _load_location(broken_project, monkeypatch)["defs"]
    (broken_project / "usage_not_delivered_yet").mkdir()
    sample = REPO_ROOT / "sample_data" / "usage" / "output_port_query_stats_daily.csv"
    head = sample.read_text().splitlines(keepends=True)[:11]  # the header and ten rows
    (broken_project / "usage_not_delivered_yet" / "stats.csv").write_text("".join(head))

    result = _materialize(defs, "port_stats")
    assert result.success
    [materialization] = result.asset_materializations_for_node("bronze__port_stats")
    assert materialization.metadata["rows_loaded"].value == 10


def test_floe_validate_still_reports_the_missing_folder(broken_project: Path) -> None:
    from platform_defs.config import ConfigError

    with pytest.raises(ConfigError) as excinfo:
        load_project(broken_project)
    assert [str(issue) for issue in excinfo.value.issues] == [
        f"floe.yaml:21: ingestion[1].dlt.config.bucket_url: directory "
        f"{broken_project / 'usage_not_delivered_yet'} does not exist"
    ]


def _env_without_the_venv_on_path(tmp_path: Path) -> dict[str, str]:
    """The environment of a process manager running the venv's python directly: no activated
    venv, so the venv's bin/ (where `dbt` is) is not on PATH."""
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "FLOE_PROJECT_DIR"}}
    env["PATH"] = str(empty_bin)
    return env


def test_definitions_load_with_the_venv_python_and_no_dbt_on_path(tmp_path: Path) -> None:
    """`.venv/bin/python -c "import platform_defs.definitions"`."""
    env = _env_without_the_venv_on_path(tmp_path)
    script = (
        "import json, platform_defs.definitions as d;"
        "print(json.dumps(d.defs.resources['dbt'].dbt_executable))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    executable = Path(json.loads(done.stdout.strip().splitlines()[-1]))
    assert executable.parent == Path(sys.executable).parent
    assert executable.name in {"dbt", "dbt.exe"}
    version = subprocess.run(
        [str(executable), "--version"], env=env, capture_output=True, text=True, timeout=120
    )
    assert version.returncode == 0, version.stderr[-3000:]


def test_the_set_up_step_runs_with_the_venv_python_and_no_dbt_on_path(tmp_path: Path) -> None:
    """`.venv/bin/python -m platform_defs.transform.prepare` (profile + `dbt parse`)."""
    project = tmp_path / "project"
    project.mkdir()
    for name in ("floe.yaml", "platform-manifest.yaml"):
        shutil.copy(REPO_ROOT / name, project / name)
    shutil.copytree(REPO_ROOT / "sample_data", project / "sample_data", ignore=DEMO_DROP)
    env = _env_without_the_venv_on_path(tmp_path) | {"FLOE_PROJECT_DIR": str(project)}
    env.pop("FLOE_CATALOG_URI", None)
    env.pop("FLOE_WAREHOUSE", None)
    done = subprocess.run(
        [sys.executable, "-m", "platform_defs.transform.prepare"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "project parsed" in done.stdout
    assert (project / ".floe" / "dbt_profiles" / "profiles.yml").is_file()
