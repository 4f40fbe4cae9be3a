"""The ``landing_zone:`` section of ``platform-manifest.yaml``: where dropped files land.

A file pipeline marked ``landing_zone: true`` in ``floe.yaml`` reads its ``bucket_url``
relative to this root; a sensor per such pipeline ingests each new or changed file once
(``platform_defs/landing``), recorded in ``ops.raw_ingest_manifest``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_LANDING_ROOT = "data_lake"


class LandingZoneConfig(BaseModel):
    """The landing zone: a local (or mounted) directory that producers drop files into."""

    model_config = ConfigDict(extra="forbid")

    root: str = Field(
        default=DEFAULT_LANDING_ROOT,
        min_length=1,
        description=(
            "Directory of the landing zone, relative to the manifest (data_lake in "
            "production, sample_data in the demo). A landing pipeline's bucket_url is a folder "
            "under it."
        ),
    )
    sensor_interval_seconds: int = Field(
        default=30, ge=5, description="How often each landing sensor lists its folder."
    )
    max_files_per_run: int = Field(
        default=500,
        ge=1,
        description="Files per requested run; a larger batch of new files becomes several runs.",
    )
    settle_seconds: float = Field(
        default=5.0,
        ge=0,
        description=(
            "A run started without the sensor (a schedule, the UI, make run) skips files "
            "modified this recently: they may still be being written. The sensor instead "
            "waits until a file's size and mtime are the same in two listings."
        ),
    )
    max_attempts: int = Field(
        default=3,
        ge=1,
        description=(
            "Runs a file version gets when they end without recording it (a crashed or "
            "killed run); then the manifest marks it failed until its content changes."
        ),
    )
