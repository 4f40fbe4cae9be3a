"""The floe code location: load the project's config once and merge each concern's Definitions."""

from __future__ import annotations

import dagster as dg

from platform_defs.config import Project, load_project
from platform_defs.ingestion.assets import ingestion_definitions
from platform_defs.jobs import main_job_definitions
from platform_defs.maintenance.jobs import maintenance_definitions
from platform_defs.transform.assets import transform_definitions


def build_definitions(project: Project) -> dg.Definitions:
    return dg.Definitions.merge(
        ingestion_definitions(project),
        transform_definitions(project),
        main_job_definitions(),
        maintenance_definitions(project),
    )


project = load_project()
defs = build_definitions(project)
