"""The usage page's routes without a browser: the page shell, its static files, headers."""

from __future__ import annotations

import hashlib
import re
import uuid

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from platform_defs import ui
from platform_defs.api import Settings, create_app
from platform_defs.ui.routes import STATIC_DIR, plotly_js_path

pytestmark = pytest.mark.unit

PORT = uuid.UUID("8aff7028-c6c9-5276-a770-94a049d53f97")


@pytest.fixture
def client() -> TestClient:
    app = FastAPI()
    app.include_router(ui.router)
    return TestClient(app)


def test_the_page_names_the_port_and_loads_only_local_scripts(client: TestClient) -> None:
    response = client.get(f"/ui/output-ports/{PORT}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert f'data-output-port-id="{PORT}"' in page
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources  # the stylesheet and the two scripts
    assert all(src.startswith("/ui/static/") or src == "data:," for src in sources), sources
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "connect-src 'self'" in csp
    assert response.headers["cache-control"] == "no-cache"


def test_static_urls_carry_the_hash_of_their_content(client: TestClient) -> None:
    page = client.get(f"/ui/output-ports/{PORT}").text
    files = {
        "plotly.min.js": plotly_js_path(),
        "usage.js": STATIC_DIR / "usage.js",
        "usage.css": STATIC_DIR / "usage.css",
    }
    for name, path in files.items():
        version = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        url = f"/ui/static/{name}?v={version}"
        assert f'"{url}"' in page, name
        response = client.get(url)
        assert response.status_code == 200, name
        assert response.content == path.read_bytes()
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert (
        client.get("/ui/static/plotly.min.js").headers["content-type"].startswith("text/javascript")
    )


def test_plotly_is_the_package_s_own_bundle() -> None:
    path = plotly_js_path()
    assert path.parent.name == "package_data" and path.parent.parent.name == "plotly"
    assert b"plotly.js" in path.read_bytes()[:2000]


def test_a_port_that_is_not_a_uuid_is_a_422_naming_the_path(client: TestClient) -> None:
    response = client.get("/ui/output-ports/not-a-port")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "output_port_id"]


def test_other_static_names_are_not_served(client: TestClient) -> None:
    assert client.get("/ui/static/routes.py").status_code == 404
    assert client.get("/ui/static/../routes.py").status_code == 404


def test_the_api_serves_the_page_outside_its_openapi_document() -> None:
    app = create_app(Settings(ops_url="sqlite://", ops_schema="ops"))
    with TestClient(app) as client:
        assert client.get(f"/ui/output-ports/{PORT}").status_code == 200
        paths = client.get("/openapi.json").json()["paths"]
    assert not [path for path in paths if path.startswith("/ui")]
