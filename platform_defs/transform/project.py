"""Where the dbt project, its generated profile and the marts DuckDB file live.

The profile is generated from platform-manifest.yaml (one source of truth for the catalog), so
the dbt iceberg plugin reads bronze from the same catalog the ingestion plugins write to.
"""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
from pathlib import Path

from dagster_dbt import DbtProject

from platform_defs.config import Project

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt"


def profiles_dir(project: Project) -> Path:
    return project.manifest.storage.root_path / "dbt_profiles"


def marts_path(project: Project) -> Path:
    return project.manifest.storage.marts_database


def dbt_executable() -> str:
    """The ``dbt`` installed with floe: the script next to this Python (the venv's ``bin/``),
    else ``dbt`` on PATH.

    dagster-dbt looks only on PATH, which a process manager running ``.venv/bin/python`` or
    ``.venv/bin/dagster`` directly does not extend with the venv's ``bin/`` (issue #7).
    """
    names = ("dbt.exe", "dbt") if os.name == "nt" else ("dbt",)
    # The environment's scripts dir, then the interpreter's own dir (the same in a venv).
    for directory in dict.fromkeys(
        [sysconfig.get_path("scripts"), str(Path(sys.executable).parent)]
    ):
        for name in names:
            candidate = Path(directory) / name
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
    return shutil.which("dbt") or "dbt"  # dagster-dbt then says dbt is not installed


def dbt_project(project: Project) -> DbtProject:
    return DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=profiles_dir(project))
