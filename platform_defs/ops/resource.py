"""The Dagster resource giving assets and sensors their ops-store session.

Built from the manifest by :meth:`OpsStoreResource.from_manifest` without reading a secret:
the password reaches the resource as ``dg.EnvVar`` (the ``env`` secrets backend; Dagster reads
it when a run or sensor starts and shows only the variable's name) or as the secret reference
and directory of the ``file`` backend (the file is read at first use). Nothing connects at
import: the first :meth:`~OpsStoreResource.session` of a process opens the engine and applies
the migrations.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
from pydantic import Field, PrivateAttr
from sqlalchemy.orm import Session

from platform_defs.config.manifest import PlatformManifest
from platform_defs.config.secrets import SecretResolver, env_var_name
from platform_defs.ops.models import OPS_SCHEMA
from platform_defs.ops.store import OpsStore


class OpsStoreResource(dg.ConfigurableResource):
    """Sessions on the ops store (``ops.raw_ingest_manifest``, ``ops.pipeline_runs``, ...)."""

    url: str = Field(description="SQLAlchemy URL of the ops store, without a password.")
    schema_name: str = Field(default=OPS_SCHEMA, description="Schema of the ops tables.")
    password: str | None = Field(
        default=None, description="Database password; pass dg.EnvVar(...), never a literal."
    )
    password_ref: str | None = Field(
        default=None, description="file secrets backend: the secret holding the password."
    )
    secrets_directory: str | None = Field(
        default=None, description="file secrets backend: the directory of the secret files."
    )

    _store: OpsStore | None = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @classmethod
    def from_manifest(cls, manifest: PlatformManifest) -> OpsStoreResource:
        ops, secrets = manifest.ops, manifest.secrets
        if ops.password_ref is None:
            return cls(url=ops.url, schema_name=ops.schema_name)
        if secrets.backend == "env":
            password = dg.EnvVar(env_var_name(ops.password_ref, secrets.env_prefix))
            return cls(url=ops.url, schema_name=ops.schema_name, password=password)
        return cls(
            url=ops.url,
            schema_name=ops.schema_name,
            password_ref=ops.password_ref,
            secrets_directory=secrets.directory,
        )

    @property
    def store(self) -> OpsStore:
        """The process's store, migrated to the newest revision on first use."""
        with self._lock:
            if self._store is None:
                store = OpsStore(self.url, self.schema_name, password=self._password())
                try:
                    store.upgrade()
                except BaseException:
                    store.dispose()
                    raise
                self._store = store
            return self._store

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with self.store.session() as session:
            yield session

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._store is not None:
            self._store.dispose()
            self._store = None

    def _password(self) -> str | None:
        if self.password_ref is None:
            return self.password
        directory = Path(self.secrets_directory) if self.secrets_directory else None
        resolver = SecretResolver(backend="file", directory=directory)
        return resolver.resolve(self.password_ref).get_secret_value()
