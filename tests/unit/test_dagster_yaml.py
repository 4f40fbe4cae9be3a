"""The shipped ``dagster.yaml`` (copied into ``$DAGSTER_HOME`` by every make target)."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest

pytestmark = pytest.mark.unit

DAGSTER_YAML = Path(__file__).resolve().parents[2] / "dagster.yaml"


@pytest.fixture
def instance(tmp_path: Path):  # type: ignore[no-untyped-def]
    shutil.copy(DAGSTER_YAML, tmp_path / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        yield instance


def test_the_ui_shows_no_newsletter_pop_up(instance: dg.DagsterInstance) -> None:
    # dagster-webserver opens its sign-up dialog when GraphQL `shouldShowNux` is true, which is
    # `instance.nux_enabled and not get_has_seen_nux()` (dagster_graphql, Dagster 1.13).
    assert instance.nux_enabled is False


def test_the_instance_never_phones_home(instance: dg.DagsterInstance) -> None:
    assert instance.telemetry_enabled is False


def test_one_run_per_pipeline_pool(instance: dg.DagsterInstance) -> None:
    settings = instance.get_concurrency_config().pool_config
    assert settings.default_pool_limit == 1
    assert str(settings.pool_granularity.value).lower() == "run"
