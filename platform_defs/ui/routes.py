"""The usage page's routes: the page, its script and stylesheet, and plotly.js.

The page is a static shell: it names the output port and loads its script, which asks for
an API key and fetches the chart data from ``/api/v1/output-ports/{id}/usage/...``. Static
files are addressed with a hash of their content (``?v=``), so they are cached for a year
and a new release is fetched at once; the page itself is revalidated on every visit.
None of these routes is part of the API's OpenAPI document.
"""

from __future__ import annotations

import hashlib
import html
import uuid
from functools import cache
from importlib import resources
from pathlib import Path
from string import Template
from typing import Annotated

from fastapi import APIRouter
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
PAGE_TEMPLATE = HERE / "templates" / "usage.html"

LONG_CACHE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"

# plotly.js injects <style> elements and sets style attributes, hence 'unsafe-inline' for
# styles only; scripts come from this origin alone, so an injected <script> cannot run and
# read the key the page keeps in sessionStorage.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
PAGE_HEADERS = {
    "Cache-Control": REVALIDATE,
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}

router = APIRouter(prefix="/ui", include_in_schema=False)


@cache
def plotly_js_path() -> Path:
    """plotly.min.js as plotly's Python package ships it (its offline mode uses the same)."""
    path = Path(str(resources.files("plotly") / "package_data" / "plotly.min.js"))
    if not path.is_file():
        raise FileNotFoundError(f"plotly.min.js is not in the plotly package at {path}")
    return path


@cache
def content_version(path: Path) -> str:
    """A short hash of the file: its URLs change whenever its content does."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def _static_url(name: str, path: Path) -> str:
    return f"/ui/static/{name}?v={content_version(path)}"


@cache
def _page_template() -> Template:
    return Template(PAGE_TEMPLATE.read_text(encoding="utf-8"))


def render_page(output_port_id: uuid.UUID) -> str:
    """The page of one output port (no data in it: the script fetches that)."""
    return _page_template().substitute(
        output_port_id=html.escape(str(output_port_id)),
        plotly_js=_static_url("plotly.min.js", plotly_js_path()),
        usage_js=_static_url("usage.js", STATIC_DIR / "usage.js"),
        usage_css=_static_url("usage.css", STATIC_DIR / "usage.css"),
    )


@router.get("/output-ports/{output_port_id}", response_class=HTMLResponse)
def usage_page(
    output_port_id: Annotated[uuid.UUID, PathParam(description="The output port.")],
) -> HTMLResponse:
    """The usage page of an output port: queries over time, consumers, popular assets."""
    return HTMLResponse(render_page(output_port_id), headers=PAGE_HEADERS)


def _static(path: Path, media_type: str) -> FileResponse:
    return FileResponse(
        path,
        media_type=media_type,
        headers={"Cache-Control": LONG_CACHE, "X-Content-Type-Options": "nosniff"},
    )


@router.get("/static/plotly.min.js")
def plotly_js() -> FileResponse:
    """plotly.js from the installed plotly package."""
    return _static(plotly_js_path(), "text/javascript; charset=utf-8")


@router.get("/static/usage.js")
def usage_js() -> FileResponse:
    """The page's script."""
    return _static(STATIC_DIR / "usage.js", "text/javascript; charset=utf-8")


@router.get("/static/usage.css")
def usage_css() -> FileResponse:
    """The page's stylesheet."""
    return _static(STATIC_DIR / "usage.css", "text/css; charset=utf-8")
