"""The ops store's part of the code location: the ``ops_store`` resource."""

from __future__ import annotations

import dagster as dg

from platform_defs.config import Project
from platform_defs.ops.resource import OpsStoreResource

RESOURCE_KEY = "ops_store"


def ops_definitions(project: Project) -> dg.Definitions:
    return dg.Definitions(
        resources={RESOURCE_KEY: OpsStoreResource.from_manifest(project.manifest)}
    )
