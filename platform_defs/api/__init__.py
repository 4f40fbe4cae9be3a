"""The usage API: producers push daily usage stats, the usage charts read them back.

``create_app(settings)`` builds the FastAPI app (:mod:`platform_defs.api.app`); ``floe api
serve`` runs it on uvicorn. Routers: :mod:`~platform_defs.api.routers.usage_stats` (the push),
:mod:`~platform_defs.api.routers.usage` (the charts), :mod:`~platform_defs.api.routers.health`.
The committed OpenAPI document is ``openapi.json`` beside this file (docs/usage-api.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from platform_defs.api.app import create_app
    from platform_defs.api.settings import Settings

__all__ = ["Settings", "create_app"]


def __getattr__(name: str) -> Any:
    # Lazy: `floe` registers `floe api ...` from this package, and its other commands should
    # not pay for importing FastAPI.
    if name == "create_app":
        from platform_defs.api.app import create_app

        return create_app
    if name == "Settings":
        from platform_defs.api.settings import Settings

        return Settings
    raise AttributeError(name)
