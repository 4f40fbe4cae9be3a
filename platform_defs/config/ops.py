"""The ``ops:`` section of ``platform-manifest.yaml``: where the ops store lives.

The ops store holds the platform's own records (the landing-zone manifest, pipeline runs,
alerts sent, usage stats): a SQLite file under ``.floe/`` in the embedded default, PostgreSQL
in production. A password never sits in ``url``: it comes from the secrets backend through
``password_ref``, so it cannot reach Dagster's resource config, ``floe`` output or a log.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from platform_defs.config.models import SecretRef
from platform_defs.config.secrets import SecretResolver
from plugins.redact import mask_url_password

DEFAULT_OPS_URL = "sqlite:///.floe/ops.db"
DEFAULT_OPS_SCHEMA = "ops"
SCHEMA_NAME_PATTERN = r"^[a-z_][a-z0-9_]{0,62}$"


def _sqlite_relative_to(uri: str, base: Path) -> str:
    # Imported here: manifest.py imports this module for its `ops` field.
    from platform_defs.config.manifest import resolve_sqlite_uri

    return resolve_sqlite_uri(uri, base)


class OpsConfig(BaseModel):
    """The ops store: a SQLAlchemy database whose tables live in one schema."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    url: str = Field(
        default=DEFAULT_OPS_URL,
        min_length=1,
        description=(
            "SQLAlchemy URL of the ops store: sqlite:///.floe/ops.db (relative to the manifest) "
            "or postgresql+psycopg://user@host:5432/db. No password here: use password_ref."
        ),
    )
    schema_name: str = Field(
        default=DEFAULT_OPS_SCHEMA,
        alias="schema",
        pattern=SCHEMA_NAME_PATTERN,
        description=(
            "Schema holding the ops tables (created by the migrations on PostgreSQL; on "
            "SQLite the file is attached under this name), so queries read ops.pipeline_runs "
            "on both."
        ),
    )
    password_ref: SecretRef | None = Field(
        default=None,
        description="Secret reference holding the database password (PostgreSQL).",
    )

    @field_validator("url")
    @classmethod
    def _no_password_in_url(cls, value: str) -> str:
        parts = urlsplit(value)
        in_query = any(key.lower() == "password" for key in parse_qs(parts.query))
        if parts.password or in_query:
            # The message never repeats the URL: it holds the password.
            raise ValueError(
                "the URL holds a password: put it in a secret and name that secret in "
                "ops.password_ref (a password in the URL would show in Dagster's resource config)"
            )
        if parts.scheme.split("+")[0] not in ("sqlite", "postgresql"):
            raise ValueError(
                f"{parts.scheme or value!r} is not supported: use sqlite:///... or "
                "postgresql+psycopg://..."
            )
        return value

    @model_validator(mode="after")
    def _resolve_sqlite_path(self, info: ValidationInfo) -> OpsConfig:
        # Like catalog.uri: a relative SQLite file is relative to the manifest's directory.
        context: Any = info.context
        if isinstance(context, dict) and context.get("base_dir") is not None:
            self.url = _sqlite_relative_to(self.url, Path(context["base_dir"]))
        return self

    @property
    def display_url(self) -> str:
        """The URL for messages: a password, should one get in, shows as ``***``."""
        return mask_url_password(self.url)

    def password(self, resolver: SecretResolver) -> str | None:
        """The password from the secrets backend (raises SecretNotFoundError), if any."""
        if self.password_ref is None:
            return None
        return resolver.resolve(self.password_ref).get_secret_value()

    def __repr_args__(self) -> Any:
        for key, value in super().__repr_args__():
            yield key, (mask_url_password(value) if key == "url" else value)
