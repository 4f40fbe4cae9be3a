"""The platform's main job: materialize every asset, bronze first, then the marts."""

from __future__ import annotations

import dagster as dg

from platform_defs.usage.assets import ASSET_KEYS as PUSHED_USAGE_ASSETS

MAIN_JOB_NAME = "floe_main"


def main_job_definitions() -> dg.Definitions:
    return dg.Definitions(
        jobs=[
            dg.define_asset_job(
                MAIN_JOB_NAME,
                # Not the bronze usage tables: they are daily partitions, written by the
                # usage_pushes sensor's runs (platform_defs/usage); their dbt source tests
                # stay in (they run with the marts).
                selection=dg.AssetSelection.all()
                - dg.AssetSelection.assets(*PUSHED_USAGE_ASSETS).without_checks(),
                description="Ingest every floe.yaml pipeline into Iceberg, then build the marts.",
            )
        ]
    )
