"""Schemathesis against the served OpenAPI document: generated requests, valid and not,
never get a 500 and every answer matches the document (status, headers, body)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from platform_defs.api import Settings, create_app
from platform_defs.ops import OpsStore
from platform_defs.ops.models import utc_now
from platform_defs.ops.usage import UsageApiKey, UsageApiKeyPort, UsageProducer, hash_secret
from tests.api.data import body, day, q, uid

pytestmark = pytest.mark.integration

PORT = uid("schemathesis-port")
# Made at import: Schemathesis asks for the credentials while it collects the cases.
KEY_ID, SECRET = secrets.token_hex(8), secrets.token_urlsafe(32)
TOKEN = f"floe_{KEY_ID}_{SECRET}"


# Built at import (the document needs no database); the fixture gives it its store.
APP = create_app(Settings(ops_url="sqlite://", max_body_bytes=16 * 1024))
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture(scope="module")
def api_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpsStore]:
    path: Path = tmp_path_factory.mktemp("schemathesis") / "ops.db"
    store = OpsStore(f"sqlite:///{path}")
    store.upgrade()
    with store.session() as session:
        now = utc_now()
        session.add(UsageProducer(producer="schemathesis", created_at=now))
        session.flush()
        session.add(
            UsageApiKey(
                key_id=KEY_ID,
                producer="schemathesis",
                key_hash=hash_secret(SECRET),
                prefix=TOKEN[:30],
                created_at=now,
            )
        )
        session.flush()
        session.add(UsageApiKeyPort(key_id=KEY_ID, output_port_id=PORT))
    previous = APP.state.store
    APP.state.store = store
    with TestClient(APP) as client:  # some data, so the charts have rows to sum
        client.post(
            f"/api/v1/output-ports/{PORT}/usage-stats",
            json=body([q(day(1), "alice", 3)]),
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
    yield store
    APP.state.store = previous
    store.dispose()


@schema.auth()
class ApiKeyAuth:
    """Our key on every case (Schemathesis itself tries requests without it: 401)."""

    def get(self, case: schemathesis.Case, context: schemathesis.AuthContext) -> str:
        return TOKEN

    def set(self, case: schemathesis.Case, data: str, context: schemathesis.AuthContext) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_keeps_to_its_document(case: schemathesis.Case, api_store: OpsStore) -> None:
    # Assigned, not passed to the call: Schemathesis re-validates what a test changes, so a
    # case these make valid is no longer expected to be rejected.
    if case.path_parameters and "output_port_id" in case.path_parameters:
        # Mostly our port, so the requests get past the scope check into the real work.
        case.path_parameters = {**case.path_parameters, "output_port_id": str(PORT)}
    # Schema-valid data may still break the cross-row rules (an asset row without its query
    # row, a future date): a 422 for it is right, not a failure.
    case.call_and_validate(excluded_checks=[positive_data_acceptance])
