"""Secret references, resolved at use through the manifest's secrets backend.

Config files only ever hold *references* (``airbyte-api-token``); values are read when a run
needs them, returned as :class:`pydantic.SecretStr`, and never put in a model, a dump or a
message. Errors say which reference was missing and where it was looked for, never a value.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import SecretStr

from plugins.redact import is_secret_key


class SecretNotFoundError(LookupError):
    """A secret reference does not resolve. The message names the ref and the place looked."""

    def __init__(self, ref: str, looked_in: str) -> None:
        super().__init__(ref, looked_in)
        self.ref = ref
        self.looked_in = looked_in

    def __str__(self) -> str:
        return f"secret '{self.ref}' not found: {self.looked_in}"


def env_var_name(ref: str, prefix: str = "FLOE_SECRET_") -> str:
    """``airbyte-api-token`` -> ``FLOE_SECRET_AIRBYTE_API_TOKEN``."""
    return prefix + re.sub(r"[^A-Za-z0-9]", "_", ref).upper()


@dataclass(frozen=True)
class SecretResolver:
    """Reads secret values from environment variables or from one file per secret."""

    backend: Literal["env", "file"] = "env"
    directory: Path | None = None
    env_prefix: str = "FLOE_SECRET_"
    environ: Mapping[str, str] | None = None
    """Defaults to ``os.environ``, read at each call (tests and late exports just work)."""

    def resolve(self, ref: str) -> SecretStr:
        if self.backend == "env":
            name = env_var_name(ref, self.env_prefix)
            value = (os.environ if self.environ is None else self.environ).get(name)
            if not value:
                raise SecretNotFoundError(ref, f"environment variable {name} is not set")
            return SecretStr(value)

        if self.directory is None:
            raise SecretNotFoundError(ref, "secrets.backend is 'file' but no directory is set")
        if "/" in ref or "\\" in ref or ref.startswith("."):  # stay inside the directory
            raise SecretNotFoundError(ref, f"not a valid secret name for {self.directory}")
        path = self.directory / ref
        try:
            value = path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            raise SecretNotFoundError(ref, f"no file {path}") from None
        except OSError as exc:
            raise SecretNotFoundError(ref, f"cannot read {path}: {exc.strerror}") from None
        if not value:
            raise SecretNotFoundError(ref, f"file {path} is empty")
        return SecretStr(value)

    def resolve_all(self, refs: Mapping[str, str]) -> dict[str, SecretStr]:
        """``{argument: ref}`` -> ``{argument: value}``; raises on the first missing ref."""
        return {argument: self.resolve(ref) for argument, ref in refs.items()}


class SecretValues(dict[str, str]):
    """A plain ``dict`` (pyiceberg and dlt take it as is) whose repr hides secret-looking keys,
    so printing a context or catalog properties cannot leak a credential."""

    def __repr__(self) -> str:
        shown = {k: ("***" if is_secret_key(k) else v) for k, v in self.items()}
        return repr(shown)

    __str__ = __repr__
