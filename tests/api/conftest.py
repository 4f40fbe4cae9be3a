"""The API on a real ops store: a temp SQLite file and a schema of its own on the local
PostgreSQL (dropped afterwards), each migrated to head; requests go through the ASGI app
(``TestClient``) or, where processes matter, a real ``floe api serve`` (tests/api/server.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from platform_defs.api import Settings, create_app
from platform_defs.ops import OpsStore
from platform_defs.ops.usage import create_api_key
from tests.ops.conftest import OpsTarget, _drop_schema, unique_schema


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def api_target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpsTarget]:
    """An empty ops store on each backend (not migrated yet)."""
    if request.param == "sqlite":
        yield OpsTarget("sqlite", f"sqlite:///{tmp_path / 'ops.db'}", "ops")
        return
    dsn: str = request.getfixturevalue("postgres_dsn")
    schema = unique_schema()
    try:
        yield OpsTarget("postgresql", dsn, schema)
    finally:
        _drop_schema(dsn, schema)


@pytest.fixture
def api_store(api_target: OpsTarget) -> Iterator[OpsStore]:
    """The ops store, migrated to head."""
    store = api_target.store()
    store.upgrade()
    yield store
    store.dispose()


@dataclass
class Api:
    """A test client on the app, and keys made straight in the store."""

    client: TestClient
    store: OpsStore
    settings: Settings
    tokens: dict[str, str] = field(default_factory=dict)

    def key(self, *ports: uuid.UUID, producer: str = "warehouse") -> str:
        with self.store.session() as session:
            return create_api_key(session, producer, ports).token

    def headers(self, token: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}", **extra}

    def push(
        self,
        token: str,
        port: uuid.UUID,
        body: Any,
        *,
        idempotency_key: str | None = None,
        **headers: str,
    ) -> Any:
        extra = dict(headers)
        if idempotency_key is not None:
            extra["Idempotency-Key"] = idempotency_key
        return self.client.post(
            f"/api/v1/output-ports/{port}/usage-stats",
            json=body,
            headers=self.headers(token, **extra),
        )

    def get(self, token: str, port: uuid.UUID, chart: str, **params: Any) -> Any:
        return self.client.get(
            f"/api/v1/output-ports/{port}/usage/{chart}", params=params, headers=self.headers(token)
        )


def make_settings(target: OpsTarget, **overrides: Any) -> Settings:
    return Settings(ops_url=target.url, ops_schema=target.schema, **overrides)


@pytest.fixture
def api(api_target: OpsTarget, api_store: OpsStore) -> Iterator[Api]:
    settings = make_settings(api_target, max_body_bytes=64 * 1024)
    with TestClient(create_app(settings, store=api_store), raise_server_exceptions=False) as client:
        yield Api(client=client, store=api_store, settings=settings)
