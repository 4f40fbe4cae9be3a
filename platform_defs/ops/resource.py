"""The Dagster resource giving assets and sensors their ops-store session.

Built from the manifest by :meth:`OpsStoreResource.from_manifest` without reading a secret:
the password reaches the resource as ``dg.EnvVar`` (the ``env`` secrets backend; Dagster reads
it when a run or sensor starts and shows only the variable's name) or as the secret reference
and directory of the ``file`` backend (the file is read at first use). Nothing connects at
import: the first :meth:`~OpsStoreResource.session` of a process opens the engine and applies
the migrations; the process keeps that store for every later copy of the resource.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
from pydantic import Field
from sqlalchemy.orm import Session

from platform_defs.config.manifest import PlatformManifest
from platform_defs.config.secrets import SecretResolver, env_var_name
from platform_defs.ops.models import OPS_SCHEMA
from platform_defs.ops.store import OpsStore

# One migrated store (engine + pool) per process and database: Dagster copies a resource for
# every sensor evaluation and tears the copy down after it, so a store kept on the instance
# was opened — and migrations checked — once per tick. Bounded, so a process that opens many
# stores (a test run) disposes the oldest instead of holding their pools.
_STORES: OrderedDict[tuple[str, str, str | None], OpsStore] = OrderedDict()
_STORES_LOCK = threading.Lock()
_MAX_STORES = 8


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
        key = (self.url, self.schema_name, self._password())
        with _STORES_LOCK:
            store = _STORES.get(key)
            if store is None:
                store = OpsStore(self.url, self.schema_name, password=key[2])
                try:
                    store.upgrade()
                except BaseException:
                    store.dispose()
                    raise
                _STORES[key] = store
                while len(_STORES) > _MAX_STORES:
                    _, oldest = _STORES.popitem(last=False)
                    oldest.dispose()
            else:
                _STORES.move_to_end(key)
            return store

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with self.store.session() as session:
            yield session

    def _password(self) -> str | None:
        if self.password_ref is None:
            return self.password
        directory = Path(self.secrets_directory) if self.secrets_directory else None
        resolver = SecretResolver(backend="file", directory=directory)
        return resolver.resolve(self.password_ref).get_secret_value()
