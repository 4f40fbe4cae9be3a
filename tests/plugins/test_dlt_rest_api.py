"""`dlt.sources.rest_api` from floe.yaml against a real HTTP server on 127.0.0.1 (no internet).

The incremental cursor of a REST API belongs in the endpoint (the API filters, floe does not):
floe's entry-level `incremental:` is rejected at validate time with the form to use, and that
form loads only new items run after run. An HTTP failure is one request per attempt: the
manifest's `retry` block is the only layer that retries.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from platform_defs.config import ConfigError, load_project
from plugins.base import ErrorCategory
from plugins.dlt import DltIngestionPlugin
from plugins.dlt.sources import http_retries_off
from tests.plugins.floe_project import land, run_pipeline, table_rows, write_project

pytestmark = pytest.mark.integration


@dataclass
class Api:
    """What the local API serves and what it was asked."""

    url: str
    items: list[dict[str, Any]] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


@pytest.fixture
def api() -> Iterator[Api]:
    state = Api(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's spelling
            state.requests.append(self.path)
            url = urlparse(self.path)
            if url.path == "/fail":
                self.send_response(500)
                self.end_headers()
                return
            since = parse_qs(url.query).get("since", [""])[0]
            body = [item for item in state.items if item["updated_at"] >= since]
            payload = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join()


def _floe_yaml(api: Api, endpoint: str, incremental: str = "") -> str:
    return f"""\
        ingestion:
          - name: items
            destination: bronze.items
            {incremental or "description: items of the local API"}
            dlt:
              source: dlt.sources.rest_api
              config:
                client: {{base_url: "{api.url}"}}
                resources:
                  - name: items
                    endpoint:
{endpoint}
        """


def test_floe_incremental_on_rest_api_is_rejected_with_the_form_to_use(
    api: Api, tmp_path: Path
) -> None:
    endpoint = "                      path: items\n                      paginator: single_page"
    incremental = 'incremental: {cursor_path: updated_at, initial_value: "2024-01-01"}'
    root = write_project(tmp_path / "project", _floe_yaml(api, endpoint, incremental))

    with pytest.raises(ConfigError) as excinfo:
        load_project(root)

    (issue,) = excinfo.value.issues
    assert (issue.file, issue.line, issue.path) == ("floe.yaml", 4, "ingestion[0].incremental")
    assert "endpoint.params" in issue.message and "type: incremental" in issue.message

    # run anyway (the code location does not stop at validation): a configuration error,
    # before any request, instead of dlt's AttributeError
    project = load_project(root, check_plugins=False)
    result = run_pipeline(project, "items")
    assert result.error is not None
    assert (result.error.category, result.error.code) == (
        ErrorCategory.CONFIGURATION,
        "INVALID_INCREMENTAL",
    )
    assert api.requests == []


def test_rest_api_incremental_in_the_endpoint_params_loads_only_new_items(
    api: Api, tmp_path: Path
) -> None:
    api.items = [
        {"id": 1, "updated_at": "2024-01-01T00:00:00Z"},
        {"id": 2, "updated_at": "2024-02-01T00:00:00Z"},
    ]
    endpoint = """\
                      path: items
                      paginator: single_page
                      params:
                        since:
                          type: incremental
                          cursor_path: updated_at
                          initial_value: "2024-01-15T00:00:00Z\""""
    root = write_project(tmp_path / "project", _floe_yaml(api, endpoint))

    result, project = land(root, "items")
    assert result.rows_loaded == 1
    api.items.append({"id": 3, "updated_at": "2024-03-01T00:00:00Z"})
    second, _ = land(root, "items")

    # the second request asks from the last cursor value on
    assert [parse_qs(urlparse(path).query)["since"] for path in api.requests] == [
        ["2024-01-15T00:00:00Z"],
        ["2024-02-01T00:00:00Z"],
    ]
    assert second.rows_loaded == 1
    assert table_rows(project, "bronze.items", "id") == [{"id": 2}, {"id": 3}]


def test_http_500_is_one_request_per_attempt(api: Api, tmp_path: Path) -> None:
    endpoint = "                      path: fail\n                      paginator: single_page"
    root = write_project(tmp_path / "project", _floe_yaml(api, endpoint))
    project = load_project(root)
    plugin = DltIngestionPlugin(project.plugin_context("dlt"))

    result = plugin.run(plugin.create_pipeline(project.ingestion_config("items")))

    assert result.error is not None
    assert (result.error.category, result.error.code) == (
        ErrorCategory.TRANSIENT,
        "NETWORK_ERROR",
    )
    # dlt's own HTTP client would have made 5 (and waited ~15 s) before the asset's retry
    # block even saw the failure
    assert api.requests == ["/fail"]


def test_dlts_shared_http_client_makes_one_attempt_inside_http_retries_off(api: Api) -> None:
    from dlt.sources.helpers import requests

    with http_retries_off(), pytest.raises(requests.HTTPError):
        requests.get(f"{api.url}/fail")

    assert api.requests == ["/fail"]
    # restored afterwards (read back from the client: dlt has no public getter)
    assert requests.client._retry_kwargs["max_attempts"] == 5


def test_a_custom_source_on_dlts_http_client_is_one_request_per_attempt(
    api: Api, tmp_path: Path
) -> None:
    root = write_project(
        tmp_path / "project",
        f"""\
        ingestion:
          - name: items
            destination: bronze.items
            dlt:
              source: documented_sources:through_dlt_requests
              config: {{url: "{api.url}/fail"}}
        """,
    )
    result = run_pipeline(load_project(root), "items")

    assert result.error is not None and result.error.category == ErrorCategory.TRANSIENT
    assert api.requests == ["/fail"]
