"""Fixtures for end-to-end tests: a small floe project in a temp dir, and a fake plugin
installed the way a third-party package would install one (an entry point in a dist-info)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from ..conftest import install_distribution

WEARABLE_CSV = """Id,ActivityDate,TotalSteps,TotalDistance,VeryActiveMinutes,FairlyActiveMinutes,LightlyActiveMinutes,SedentaryMinutes,Calories
1503960366,4/12/2026,13162,8.5,25,13,328,728,1985
1503960366,4/13/2026,10735,6.97,21,19,217,776,1797
1624580081,4/12/2026,8163,5.31,0,0,146,1294,1432
"""


def write_project(
    root: Path,
    *,
    pipelines: str,
    retry: str = "max_attempts: 3\n  initial_delay_seconds: 0\n  max_delay_seconds: 0",
) -> Path:
    (root / "floe.yaml").write_text("version: 1\ningestion:\n" + textwrap.indent(pipelines, "  "))
    (root / "platform-manifest.yaml").write_text(
        textwrap.dedent(
            """\
            version: 1
            plugins:
              ingestion:
                type: dlt
            catalog:
              name: floe
              type: sql
              uri: sqlite:///.floe/catalog.db
              warehouse: .floe/warehouse
            storage:
              root: .floe
            retry:
              {retry}
            """
        ).format(retry=retry)
    )
    return root


ACTIVITY_PIPELINE = """\
- name: wearable_daily_activity
  destination: bronze.daily_activity
  write_disposition: merge
  primary_key: [Id, ActivityDate]
  schedule: "0 5 * * *"
  dlt:
    source: dlt.sources.filesystem
    config:
      bucket_url: data
      file_glob: daily_activity*.csv
      format: csv
"""


@pytest.fixture
def activity_project(tmp_path: Path) -> Path:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "daily_activity.csv").write_text(WEARABLE_CSV)
    return write_project(tmp_path, pipelines=ACTIVITY_PIPELINE)


FAKE_PLUGIN_MODULE = '''
from plugins.base import (
    IngestionPlugin, IngestionResult, PermanentIngestionError, TransientIngestionError,
)

CALLS = []


class FlakyPlugin(IngestionPlugin):
    """Fails with the category named in the pipeline's `source` (for retry tests)."""

    name = "flaky"
    version = "0.0.1"
    is_external = True

    def create_pipeline(self, config):
        return config

    def run(self, pipeline, *, progress=None, run_context=None):
        CALLS.append(pipeline.name)
        if pipeline.source == "transient":
            error = TransientIngestionError("RATE_LIMITED", "slow down", source="fake")
        else:
            error = PermanentIngestionError("AUTH_FAILED", "bad token", source="fake")
        return IngestionResult(False, 0, [], 0.0, error=error)

    def get_destination_config(self):
        return {}
'''


@pytest.fixture
def flaky_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Install `flaky` through the floe.ingestion entry-point group, only for this test."""
    site = tmp_path / "site"
    install_distribution(
        site, "floe-flaky-plugin", "[floe.ingestion]\nflaky = floe_flaky_plugin:FlakyPlugin\n"
    )
    (site / "floe_flaky_plugin.py").write_text(FAKE_PLUGIN_MODULE)
    monkeypatch.syspath_prepend(str(site))
    import importlib

    module = importlib.import_module("floe_flaky_plugin")
    yield module
    import sys

    sys.modules.pop("floe_flaky_plugin", None)
