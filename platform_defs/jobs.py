"""The platform's main job: materialize every asset, bronze first, then the marts."""

from __future__ import annotations

import dagster as dg

MAIN_JOB_NAME = "floe_main"


def main_job_definitions() -> dg.Definitions:
    return dg.Definitions(
        jobs=[
            dg.define_asset_job(
                MAIN_JOB_NAME,
                selection=dg.AssetSelection.all(),
                description="Ingest every floe.yaml pipeline into Iceberg, then build the marts.",
            )
        ]
    )
