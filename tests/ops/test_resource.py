"""The ``ops_store`` Dagster resource: built from the manifest, migrating on first use, used
by a real asset materialization.

No ``from __future__ import annotations``: Dagster reads the asset's ``context`` annotation
as an object.
"""

from pathlib import Path

import dagster as dg
import pytest

from platform_defs.config.manifest import PlatformManifest
from platform_defs.ops import RunStatus, current_revision, head_revision, last_runs, upsert_run
from platform_defs.ops.definitions import RESOURCE_KEY, ops_definitions
from platform_defs.ops.resource import OpsStoreResource

from .conftest import OpsTarget, write_project

pytestmark = pytest.mark.integration


@dg.asset
def tracked(context: dg.AssetExecutionContext, ops_store: OpsStoreResource) -> dg.MaterializeResult:
    """Records its own run in ops.pipeline_runs."""
    with ops_store.session() as session:
        upsert_run(
            session,
            run_id=context.run_id,
            job_name=context.job_name,
            pipeline="tracked",
            status=RunStatus.RUNNING,
        )
    with ops_store.session() as session:
        runs = last_runs(session, 5)
    return dg.MaterializeResult(metadata={"runs_on_record": len(runs)})


def test_an_asset_gets_its_session_and_the_store_is_migrated_on_first_use(
    ops_target: OpsTarget,
) -> None:
    engine = ops_target.engine()
    assert current_revision(engine, ops_target.schema) is None  # nothing ran the migrations

    resource = OpsStoreResource(url=ops_target.url, schema_name=ops_target.schema)
    result = dg.materialize([tracked], resources={"ops_store": resource})

    assert result.success
    assert current_revision(engine, ops_target.schema) == head_revision()
    (materialization,) = result.asset_materializations_for_node("tracked")
    assert materialization.metadata["runs_on_record"] == dg.IntMetadataValue(1)
    with ops_target.store().session() as session:
        (run,) = last_runs(session)
    assert (run.run_id, run.pipeline, run.status) == (result.run_id, "tracked", RunStatus.RUNNING)
    engine.dispose()


def test_the_password_comes_from_an_env_var_at_run_time(
    ops_target: OpsTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the env secrets backend the resource holds ``dg.EnvVar``, never the value; a
    missing variable fails the run when the resource starts."""
    manifest = PlatformManifest.model_validate(
        {
            "catalog": {"uri": "sqlite:///catalog.db", "warehouse": "warehouse"},
            "ops": {"url": ops_target.url, "schema": ops_target.schema, "password_ref": "ops-db"},
        }
    )
    resource = OpsStoreResource.from_manifest(manifest)
    assert resource.password == dg.EnvVar("FLOE_SECRET_OPS_DB")

    monkeypatch.delenv("FLOE_SECRET_OPS_DB", raising=False)
    with pytest.raises(Exception, match="FLOE_SECRET_OPS_DB"):
        dg.materialize([tracked], resources={"ops_store": resource})

    # The local PostgreSQL trusts 127.0.0.1 and SQLite has no password: any value connects.
    monkeypatch.setenv("FLOE_SECRET_OPS_DB", "s3cret")
    assert dg.materialize([tracked], resources={"ops_store": resource}).success


def test_the_file_backend_reads_the_secret_at_first_use(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    manifest = PlatformManifest.model_validate(
        {
            "catalog": {"uri": "sqlite:///catalog.db", "warehouse": "warehouse"},
            "ops": {"password_ref": "ops-db"},
            "secrets": {"backend": "file", "directory": str(secrets)},
        },
        context={"base_dir": tmp_path},
    )
    resource = OpsStoreResource.from_manifest(manifest)
    assert (resource.password, resource.password_ref) == (None, "ops-db")
    with pytest.raises(LookupError, match="secret 'ops-db' not found"):
        resource.store  # noqa: B018 - opening it is the point
    (secrets / "ops-db").write_text("s3cret\n")
    assert resource.store.current_revision() == head_revision()
    resource.store.dispose()


def test_the_code_location_gets_the_resource_without_touching_the_database(tmp_path: Path) -> None:
    from platform_defs.config import load_project

    project = load_project(write_project(tmp_path), check_plugins=False)

    defs = ops_definitions(project)

    resource = defs.resources[RESOURCE_KEY]
    assert isinstance(resource, OpsStoreResource)
    assert resource.url == f"sqlite:///{tmp_path / '.floe' / 'ops.db'}"
    assert not (tmp_path / ".floe").exists()
