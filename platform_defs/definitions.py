"""The floe code location: load the project's config once and merge each concern's Definitions."""

from __future__ import annotations

import dagster as dg

from platform_defs.config import Project, load_project
from platform_defs.ingestion.assets import ingestion_definitions
from platform_defs.jobs import main_job_definitions
from platform_defs.landing.sensors import landing_definitions
from platform_defs.maintenance.jobs import maintenance_definitions
from platform_defs.observability import observability_definitions
from platform_defs.ops.definitions import ops_definitions
from platform_defs.transform.assets import transform_definitions
from platform_defs.usage.definitions import usage_definitions


def build_definitions(project: Project) -> dg.Definitions:
    return dg.Definitions.merge(
        ingestion_definitions(project),
        landing_definitions(project),
        usage_definitions(project),
        transform_definitions(project),
        main_job_definitions(),
        maintenance_definitions(project),
        ops_definitions(project),
        observability_definitions(project),
    )


# Only the files' own checks at import. The checks that depend on this worker (a local folder,
# an importable source, a plugin's validate() hook) run in each asset at run time
# (Project.code_issues): a broken pipeline fails alone instead of hiding every asset, schedule
# and sensor behind a code location load error (issue #7). `floe validate` and the set-up step
# (`make run` / `make test`, hence CI) still run all of them.
project = load_project(check_plugins=False)
defs = build_definitions(project)
