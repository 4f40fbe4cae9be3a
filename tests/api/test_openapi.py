"""The committed OpenAPI document is the one the app serves, and the SDK can rely on it."""

from __future__ import annotations

import json

import pytest

from platform_defs.api import openapi
from tests.api.conftest import Api

pytestmark = pytest.mark.integration


def test_the_committed_document_is_the_served_one(api: Api) -> None:
    served = api.client.get("/openapi.json")
    assert served.status_code == 200
    committed = json.loads(openapi.OPENAPI_PATH.read_text(encoding="utf-8"))
    assert served.json() == committed, f"stale: run {openapi.REGENERATE_COMMAND}"
    assert openapi.OPENAPI_PATH.read_text(encoding="utf-8") == openapi.render(served.json())


def test_check_says_when_the_document_is_stale(tmp_path: pytest.TempPathFactory) -> None:
    stale = tmp_path / "openapi.json"  # type: ignore[operator]
    stale.write_text("{}\n")
    assert openapi.is_stale(stale)
    assert not openapi.is_stale()


def test_every_operation_has_an_id_the_errors_and_the_headers() -> None:
    document = openapi.openapi_document()
    operations = {
        operation["operationId"]: operation
        for path in document["paths"].values()
        for operation in path.values()
    }
    assert set(operations) == {
        "push_usage_stats",
        "get_queries_over_time",
        "get_query_distribution",
        "get_popular_assets",
        "healthz",
    }
    push = operations["push_usage_stats"]
    assert set(push["responses"]) == {"202", "401", "403", "404", "409", "413", "422"}
    for code in ("401", "403", "404", "409", "413", "422"):
        schema = push["responses"][code]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ErrorResponse"}
    assert {p["name"] for p in push["parameters"]} >= {"Idempotency-Key", "X-Request-Id"}
    assert push["security"] == [{"ApiKey": []}]
    assert document["components"]["securitySchemes"]["ApiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": document["components"]["securitySchemes"]["ApiKey"]["description"],
    }
    assert "HTTPValidationError" not in document["components"]["schemas"]
