"""`make run-prod`'s set-up (platform_defs/prod.py) and its Dagster instance file, without
running the job (tests/e2e/test_run_prod.py runs it)."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest
import yaml

from platform_defs.config import load_project
from platform_defs.landing.demo import DEMO_FILE
from platform_defs.prod import (
    DAGSTER_URL_ENV,
    INSTANCE_TEMPLATE,
    ProdSettings,
    ProdSetupError,
    check_wiring,
    ensure_databases,
    seed_landing_zone,
)

pytestmark = pytest.mark.unit

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_the_prod_instance_differs_from_dagster_yaml_only_in_its_storage() -> None:
    # Concurrency pools, run monitoring, JSON step logs, telemetry: one behaviour, two storages.
    embedded = yaml.safe_load((REPO_ROOT / "dagster.yaml").read_text())
    prod = yaml.safe_load(INSTANCE_TEMPLATE.read_text())
    storage = prod.pop("storage")
    assert prod == embedded
    assert storage == {"postgres": {"postgres_url": {"env": DAGSTER_URL_ENV}}}


def test_the_environment_points_everything_at_postgres(tmp_path: Path) -> None:
    settings = ProdSettings.from_env(
        {
            "FLOE_PG_URL": "postgresql://floe@db.example:6543/admin",
            "FLOE_PG_DATABASE": "platform",
            "FLOE_PG_DAGSTER_DATABASE": "platform_dagster",
        },
        tmp_path,
    )
    env = settings.environment()
    assert env["FLOE_CATALOG_URI"] == "postgresql+psycopg://floe@db.example:6543/platform"
    assert env["FLOE_OPS_URL"] == env["FLOE_CATALOG_URI"]
    # dagster-postgres needs psycopg2: SQLAlchemy 2.1 maps postgresql:// to psycopg 3
    assert env[DAGSTER_URL_ENV] == "postgresql+psycopg2://floe@db.example:6543/platform_dagster"
    assert env["FLOE_LANDING_ROOT"] == "data_lake"
    assert env["DAGSTER_HOME"] == str(tmp_path.resolve() / ".floe" / "prod" / "dagster")
    assert settings.where == "db.example:6543"


def test_the_defaults_are_the_local_postgres(tmp_path: Path) -> None:
    env = ProdSettings.from_env({}, tmp_path).environment()
    assert env["FLOE_CATALOG_URI"] == "postgresql+psycopg://postgres@127.0.0.1:5432/floe"
    assert env[DAGSTER_URL_ENV] == "postgresql+psycopg2://postgres@127.0.0.1:5432/floe_dagster"


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"FLOE_PG_URL": "postgresql://postgres:secret@127.0.0.1:5432"}, "FLOE_PG_URL"),
        ({"FLOE_PG_URL": "mysql://root@127.0.0.1:3306"}, "FLOE_PG_URL"),
        ({"FLOE_PG_DATABASE": "Floe-Prod"}, "FLOE_PG_DATABASE"),
        ({"FLOE_PG_DAGSTER_DATABASE": "x; drop"}, "FLOE_PG_DAGSTER_DATABASE"),
        ({"FLOE_PG_DATABASE": "same", "FLOE_PG_DAGSTER_DATABASE": "same"}, "must differ"),
    ],
)
def test_bad_settings_are_refused_naming_the_variable(
    tmp_path: Path, environ: dict[str, str], named: str
) -> None:
    with pytest.raises(ProdSetupError, match=named) as raised:
        ProdSettings.from_env(environ, tmp_path)
    assert "secret" not in str(raised.value)


def test_an_unreachable_server_is_named_with_host_and_port(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = ProdSettings.from_env(
        {"FLOE_PG_URL": f"postgresql://postgres@127.0.0.1:{port}"}, tmp_path
    )
    with pytest.raises(ProdSetupError, match=f"not reachable at 127.0.0.1:{port}"):
        ensure_databases(settings)


def _sample(root: Path) -> Path:
    seed = root / "sample_data"
    (seed / "wearable").mkdir(parents=True)
    (seed / "usage").mkdir()
    (seed / "generate.py").write_text("# the generator, not data\n")
    (seed / "wearable" / "daily_activity.csv").write_text("Id,ActivityDate\n1,4/12/2026\n")
    (seed / "wearable" / DEMO_FILE).write_text("Id,ActivityDate\n9,4/12/2026\n")
    (seed / "usage" / "tech_asset_stats_daily.csv").write_text("date\n2026-04-12\n")
    return seed


def test_an_empty_landing_zone_is_seeded_with_the_sample_folders(tmp_path: Path) -> None:
    seed = _sample(tmp_path)
    landing = tmp_path / "data_lake"
    landing.mkdir()
    (landing / ".gitkeep").touch()  # the committed placeholder is not data
    source = seed / "wearable" / "daily_activity.csv"

    copied = seed_landing_zone(landing, seed)

    assert [path.relative_to(landing).as_posix() for path in copied] == [
        "usage/tech_asset_stats_daily.csv",
        "wearable/daily_activity.csv",
    ]  # no generator script, no `make run` demo drop
    # modification times kept: an old file is not mistaken for one still being written
    assert (landing / "wearable" / "daily_activity.csv").stat().st_mtime == source.stat().st_mtime


def test_a_landing_zone_with_data_is_left_alone(tmp_path: Path) -> None:
    seed = _sample(tmp_path)
    landing = tmp_path / "data_lake"
    (landing / "wearable").mkdir(parents=True)
    (landing / "wearable" / "daily_activity_2026.csv").write_text("Id,ActivityDate\n")

    assert seed_landing_zone(landing, seed) == []
    assert sorted(p.name for p in landing.rglob("*") if p.is_file()) == ["daily_activity_2026.csv"]


def _project(root: Path, catalog_uri: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO_ROOT / "floe.yaml", root / "floe.yaml")
    manifest = (REPO_ROOT / "platform-manifest.yaml").read_text()
    assert "${FLOE_CATALOG_URI:-sqlite:///.floe/catalog.db}" in manifest
    manifest = manifest.replace("${FLOE_CATALOG_URI:-sqlite:///.floe/catalog.db}", catalog_uri)
    (root / "platform-manifest.yaml").write_text(manifest)
    return root


def test_the_repository_manifest_takes_every_production_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(tmp_path / "ok", "${FLOE_CATALOG_URI:-sqlite:///.floe/catalog.db}")
    settings = ProdSettings.from_env({}, root)
    for name, value in settings.environment().items():
        monkeypatch.setenv(name, value)
    check_wiring(load_project(root, check_plugins=False).manifest, settings)


def test_a_manifest_that_hard_codes_its_catalog_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(tmp_path / "hard_coded", "sqlite:///.floe/catalog.db")
    settings = ProdSettings.from_env({}, root)
    for name, value in settings.environment().items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ProdSetupError, match=r"catalog\.uri is .*sqlite.*FLOE_CATALOG_URI"):
        check_wiring(load_project(root, check_plugins=False).manifest, settings)
