"""The API's settings: environment variables ``FLOE_API_*``, then the manifest.

==============================  =========================================================
``FLOE_API_HOST``               interface to listen on (``127.0.0.1``: loopback only)
``FLOE_API_PORT``               TCP port (8000)
``FLOE_API_WORKERS``            uvicorn worker processes (1)
``FLOE_API_MAX_BODY_BYTES``     request body limit; larger bodies get 413 (1 MiB)
``FLOE_API_MAX_WINDOW_DAYS``    longest chart window start..end (3660 days)
``FLOE_API_OPS_URL``            ops store URL (default: the manifest's ``ops.url``)
``FLOE_API_OPS_SCHEMA``         ops schema (default: the manifest's ``ops.schema``)
``FLOE_API_OPS_PASSWORD``       ops database password with ``FLOE_API_OPS_URL``
``FLOE_API_PROJECT_DIR``        where platform-manifest.yaml is (default: as ``floe``)
``FLOE_API_LOG_LEVEL``          ``info``
==============================  =========================================================
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from platform_defs.ops.store import OpsStore

DEFAULT_MAX_BODY_BYTES = 1024 * 1024


class Settings(BaseSettings):
    """Settings of the usage API; every field reads ``FLOE_API_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="FLOE_API_", extra="forbid")

    host: str = Field(default="127.0.0.1", description="Interface to listen on.")
    port: int = Field(default=8000, ge=0, le=65535, description="TCP port to listen on.")
    workers: int = Field(default=1, ge=1, description="uvicorn worker processes.")
    max_body_bytes: int = Field(
        default=DEFAULT_MAX_BODY_BYTES, ge=1, description="Largest request body, in bytes."
    )
    max_window_days: int = Field(
        default=3660, ge=1, description="Longest chart window (end - start + 1), in days."
    )
    ops_url: str | None = Field(
        default=None, description="Ops store URL; default: the manifest's ops.url."
    )
    ops_schema: str | None = Field(
        default=None, description="Ops schema; default: the manifest's ops.schema."
    )
    ops_password: SecretStr | None = Field(
        default=None, description="Password for ops_url (the manifest's comes from its secrets)."
    )
    project_dir: Path | None = Field(
        default=None, description="Directory of floe.yaml and platform-manifest.yaml."
    )
    log_level: str = Field(default="info", description="Log level of the API's loggers.")

    def open_store(self) -> OpsStore:
        """The ops store these settings name (connects to nothing yet)."""
        if self.ops_url is not None:
            password = self.ops_password.get_secret_value() if self.ops_password else None
            return OpsStore(self.ops_url, self.ops_schema or "ops", password=password)
        from platform_defs.config import load_project

        manifest = load_project(self.project_dir, check_plugins=False).manifest
        store = OpsStore.from_manifest(manifest)
        if self.ops_schema is not None and self.ops_schema != store.schema:
            store.dispose()
            password = manifest.ops.password(manifest.secrets.resolver())
            store = OpsStore(manifest.ops.url, self.ops_schema, password=password)
        return store
