"""Where the dbt project, its generated profile and the marts DuckDB file live.

The profile is generated from platform-manifest.yaml (one source of truth for the catalog), so
the dbt iceberg plugin reads bronze from the same catalog the ingestion plugins write to.
"""

from __future__ import annotations

from pathlib import Path

from dagster_dbt import DbtProject

from platform_defs.config import Project

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt"


def profiles_dir(project: Project) -> Path:
    return project.manifest.storage.root_path / "dbt_profiles"


def marts_path(project: Project) -> Path:
    return project.manifest.storage.marts_database


def dbt_project(project: Project) -> DbtProject:
    return DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=profiles_dir(project))
