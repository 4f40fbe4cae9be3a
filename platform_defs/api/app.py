"""The app factory: ``create_app(settings)``.

Middleware, outermost first: the request id (so every answer, a 413 included, carries it),
then the body limit. The ops store is opened here but connects on first use, so building
the app — for the OpenAPI document, say — needs no database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from platform_defs import ui
from platform_defs.api.errors import install_error_handlers
from platform_defs.api.limits import BodyLimitMiddleware
from platform_defs.api.requestid import RequestIdMiddleware
from platform_defs.api.routers import health, usage, usage_stats
from platform_defs.api.settings import Settings
from platform_defs.ops.store import OpsStore

API_TITLE = "floe usage API"
API_VERSION = "1.0.0"
"""The document's version: changes with the HTTP contract, not with floe's releases."""
DESCRIPTION = """\
Producers push daily usage stats of their output ports; the usage charts read them back.
Authenticate with an API key (`floe api create-key`) as `Authorization: Bearer <key>`.
Every error answers `{"error": {"code", "message", "request_id", "details"}}`.
See docs/usage-api.md."""


def create_app(settings: Settings | None = None, *, store: OpsStore | None = None) -> FastAPI:
    """The API on ``store`` (default: the one ``settings`` name; disposed at shutdown)."""
    settings = settings or Settings()
    owned = store is None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        if owned and app.state.store is not None:
            app.state.store.dispose()

    app = FastAPI(
        title=API_TITLE,
        version=API_VERSION,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.store = store if store is not None else _LazyStore(settings)
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(RequestIdMiddleware)
    app.include_router(usage_stats.router)
    app.include_router(usage.router)
    app.include_router(health.router)
    app.include_router(ui.router)
    return app


class _LazyStore:
    """Opens the settings' store (reading the manifest) at first use, not at import."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._store: OpsStore | None = None

    def __getattr__(self, name: str) -> object:
        if self._store is None:
            self._store = self._settings.open_store()
        return getattr(self._store, name)

    def dispose(self) -> None:
        if self._store is not None:
            self._store.dispose()


def app_from_environment() -> FastAPI:
    """The uvicorn factory ``floe api serve`` runs in each worker: settings from FLOE_API_*."""
    return create_app(Settings())
