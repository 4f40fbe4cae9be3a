"""The usage page: ``/ui/output-ports/{id}`` draws the usage API's three charts in the browser.

One HTML page, its script and stylesheet, and plotly.js served from plotly's Python package
(no CDN: the page works offline). The page holds no secret: it asks for an API key and calls
the JSON endpoints with it (docs/usage-page.md). ``router`` is included by
:func:`platform_defs.api.create_app`.
"""

from __future__ import annotations

from platform_defs.ui.routes import router

__all__ = ["router"]
