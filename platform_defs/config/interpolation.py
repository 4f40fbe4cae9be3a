"""``${VAR}`` / ``${VAR:-default}`` substitution in YAML string values.

Done on each string scalar before validation, so the models only ever see final values and an
undefined variable can be reported at the line of the value that uses it. ``$${VAR}`` keeps a
literal ``${VAR}``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

_PATTERN = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")


class UndefinedVariableError(KeyError):
    """A ``${VAR}`` without a default names a variable that is not set."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return (
            f"environment variable '{self.name}' is not set "
            f"(set it, or write ${{{self.name}:-default}})"
        )


def interpolate(value: str, environ: Mapping[str, str] | None = None) -> str:
    """Replace every ``${VAR}`` and ``${VAR:-default}`` in ``value``.

    As in the shell, ``:-`` also applies when the variable is set but empty.
    """
    env = os.environ if environ is None else environ

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, default = match.group("name"), match.group("default")
        current = env.get(name)
        if current:
            return current
        if default is not None:
            return default
        if current is not None:  # set but empty, and no default: empty is what was asked
            return current
        raise UndefinedVariableError(name)

    return _PATTERN.sub(substitute, value)
