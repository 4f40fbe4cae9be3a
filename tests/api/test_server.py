"""``floe api serve`` for real: migrates at start-up, answers on loopback, keys from the CLI."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from platform_defs.cli import main
from tests.api.data import body, day, q, uid
from tests.api.server import ApiServer
from tests.ops.conftest import OpsTarget

pytestmark = pytest.mark.integration

PORT = uid("served-port")


def _cli_env(monkeypatch: pytest.MonkeyPatch, target: OpsTarget) -> None:
    monkeypatch.setenv("FLOE_API_OPS_URL", target.url)
    monkeypatch.setenv("FLOE_API_OPS_SCHEMA", target.schema)


def test_serve_migrates_an_empty_store_and_keys_come_from_the_cli(
    api_target: OpsTarget, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with ApiServer(api_target.url, api_target.schema) as server:
        _cli_env(monkeypatch, api_target)
        assert (
            main(
                [
                    "api",
                    "create-key",
                    "--producer",
                    "snowflake",
                    "--output-port",
                    str(PORT),
                    "--json",
                ]
            )
            == 0
        )
        created = json.loads(capsys.readouterr().out)
        token = created["api_key"]
        assert token.startswith(f"floe_{created['key_id']}_")

        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())}
        pushed = httpx.post(
            f"{server.url}/api/v1/output-ports/{PORT}/usage-stats",
            json=body([q(day(1), "alice", 4)]),
            headers=headers,
        )
        assert pushed.status_code == 202, pushed.text
        assert pushed.headers["x-request-id"]

        assert main(["api", "list-keys", "--json"]) == 0
        listed = json.loads(capsys.readouterr().out)
        assert [key["key_id"] for key in listed] == [created["key_id"]]
        assert token not in json.dumps(listed)  # never the secret again
        assert listed[0]["revoked_at"] is None

        assert main(["api", "revoke-key", created["key_id"]]) == 0
        again = httpx.get(
            f"{server.url}/api/v1/output-ports/{PORT}/usage/queries-over-time", headers=headers
        )
        assert again.status_code == 401
        assert main(["api", "revoke-key", "nope"]) == 1
        log = server.log()
    # One JSON line per request, with its id.
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    access = [line for line in lines if line["logger"] == "platform_defs.api.access"]
    assert pushed.headers["x-request-id"] in {line["request_id"] for line in access}


def test_serve_listens_on_loopback_by_default() -> None:
    from platform_defs.api import Settings

    assert Settings().host == "127.0.0.1"
