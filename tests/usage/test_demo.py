"""``make run``'s usage demo on a temp project: the real API server, the SDK, the sensor."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from platform_defs.usage.bronze import ASSET_STATS, QUERY_STATS
from platform_defs.usage.demo import SAMPLE_DIR, push_sample_usage
from tests.usage.conftest import UsagePlatform

pytestmark = pytest.mark.e2e


def _csv_rows(name: str) -> int:
    with (SAMPLE_DIR / name).open(newline="") as handle:
        return sum(1 for _ in csv.DictReader(handle))


@pytest.mark.parametrize("ops_target", ["sqlite"], indirect=True)
def test_sample_usage_is_pushed_ingested_and_read_back(
    usage: UsagePlatform, tmp_path: Path
) -> None:
    said: list[str] = []
    lines = push_sample_usage(
        usage.defs, usage.project, usage.instance, usage.ops_store, usage.execute, say=said.append
    )
    ports = {line.split()[1] for line in lines if line.startswith("  port ")}
    assert len(ports) == 4
    assert sum(line.startswith("    #1 asset ") for line in lines) >= 4
    assert len(usage.bronze(QUERY_STATS)) == _csv_rows("output_port_query_stats_daily.csv")
    assert len(usage.bronze(ASSET_STATS)) == _csv_rows("tech_asset_stats_daily.csv")
    assert usage.bronze(QUERY_STATS) == usage.ops(QUERY_STATS)
    runs = len(usage.runs)
    assert runs > 0

    # A second `make run`: the pushes replay (same Idempotency-Key, same rows), nothing new.
    said.clear()
    again = push_sample_usage(
        usage.defs, usage.project, usage.instance, usage.ops_store, usage.execute, say=said.append
    )
    assert again == lines
    assert sum("replayed" in line for line in said) == 4
    assert len(usage.runs) == runs
