"""platform-manifest.yaml: path resolution, catalog properties, retry policy, cross-checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from platform_defs.config import PlatformManifest, RetryPolicy, mask_url_password

pytestmark = pytest.mark.unit


def manifest(base: Path, **sections: object) -> PlatformManifest:
    data = {"catalog": {"uri": "sqlite:///.floe/catalog.db", "warehouse": ".floe/wh"}} | sections
    return PlatformManifest.model_validate(data, context={"base_dir": base})


def test_relative_local_paths_resolve_against_the_manifest(tmp_path: Path) -> None:
    m = manifest(tmp_path, secrets={"backend": "file", "directory": "secrets"})
    assert m.catalog.uri == f"sqlite:///{tmp_path / '.floe' / 'catalog.db'}"
    assert m.catalog.warehouse == (tmp_path / ".floe" / "wh").as_uri()
    assert m.storage.root == str(tmp_path / ".floe")
    assert m.storage.dlt_dir == tmp_path / ".floe" / "dlt"
    assert m.storage.marts_database == tmp_path / ".floe" / "floe.duckdb"
    assert m.secrets.directory == str(tmp_path / "secrets")
    assert not (tmp_path / ".floe").exists()


@pytest.mark.parametrize(
    ("warehouse", "expected"),
    [
        ("file://data/wh", "{base}/data/wh"),
        ("file:///abs/wh", "/abs/wh"),
        ("s3://bucket/wh", None),
    ],
)
def test_warehouse_forms(tmp_path: Path, warehouse: str, expected: str | None) -> None:
    m = manifest(tmp_path, catalog={"uri": "sqlite:////abs/cat.db", "warehouse": warehouse})
    if expected is None:
        assert m.catalog.warehouse == warehouse
    else:
        assert m.catalog.warehouse == Path(expected.format(base=tmp_path)).as_uri()
    assert m.catalog.uri == "sqlite:////abs/cat.db"


def test_postgres_catalog_is_left_as_is(tmp_path: Path) -> None:
    uri = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    m = manifest(tmp_path, catalog={"uri": uri, "warehouse": "s3://lake/wh"})
    assert m.catalog.pyiceberg_properties() == {
        "type": "sql",
        "uri": uri,
        "warehouse": "s3://lake/wh",
    }


def test_rest_warehouse_is_not_a_path(tmp_path: Path) -> None:
    m = manifest(
        tmp_path,
        catalog={"type": "rest", "uri": "http://localhost:8181", "warehouse": "analytics"},
    )
    assert m.catalog.warehouse == "analytics"


def test_properties_become_strings(tmp_path: Path) -> None:
    m = manifest(
        tmp_path,
        catalog={
            "uri": "sqlite:///c.db",
            "warehouse": "wh",
            "properties": {"s3.path-style-access": True, "pool-size": 5},
        },
    )
    props = m.catalog.pyiceberg_properties()
    assert props["s3.path-style-access"] == "true"
    assert props["pool-size"] == "5"


def test_s3_settings_join_the_properties_only_when_resolved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOE_SECRET_S3_KEY_ID", "AKIA-not-shown")
    monkeypatch.setenv("FLOE_SECRET_S3_SECRET", "very-secret")
    m = manifest(
        tmp_path,
        storage={
            "s3": {
                "endpoint": "http://127.0.0.1:9000",
                "region": "eu-west-1",
                "access_key_id_ref": "s3-key-id",
                "secret_access_key_ref": "s3-secret",
            }
        },
    )
    shown = m.pyiceberg_properties(resolve_secrets=False)
    assert shown["s3.endpoint"] == "http://127.0.0.1:9000"
    assert "s3.secret-access-key" not in shown

    used = m.pyiceberg_properties()
    assert used["s3.access-key-id"] == "AKIA-not-shown"
    assert used["s3.secret-access-key"] == "very-secret"
    assert "very-secret" not in repr(used) and "AKIA-not-shown" not in str(used)
    assert "very-secret" not in m.model_dump_json()


def test_retry_policy_delays() -> None:
    policy = RetryPolicy(initial_delay_seconds=5, backoff_multiplier=2, max_delay_seconds=12)
    assert [policy.delay_seconds(n) for n in (1, 2, 3)] == [5, 10, 12]
    assert policy.is_retryable("TRANSIENT") and not policy.is_retryable("PERMANENT")


def test_mask_url_password() -> None:
    assert (
        mask_url_password("postgresql+psycopg://floe:hunter2@db:5432/x")
        == "postgresql+psycopg://floe:***@db:5432/x"
    )
    assert mask_url_password("sqlite:////tmp/c.db") == "sqlite:////tmp/c.db"
