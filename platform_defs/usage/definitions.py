"""The usage ingestion's part of the code location: the two bronze assets and their sensor."""

from __future__ import annotations

import dagster as dg

from platform_defs.config import Project
from platform_defs.usage.assets import usage_assets
from platform_defs.usage.sensors import usage_pushes_sensor


def usage_definitions(project: Project) -> dg.Definitions:
    return dg.Definitions(assets=usage_assets(project), sensors=[usage_pushes_sensor])
