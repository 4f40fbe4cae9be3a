"""Configuration errors that point at a file, a line and a key path.

Config problems are user mistakes, not bugs: they are collected (all of them, from both files)
and shown as ``floe.yaml:14: ingestion[2].write_disposition: ...`` lines, never as a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class ConfigIssue:
    """One problem in one config file."""

    file: str
    """The file as the user knows it (relative to the project directory when inside it)."""
    line: int | None
    """1-based line, or None when there is no line to point at (e.g. a missing file)."""
    path: str
    """Key path with list indexes, e.g. ``ingestion[2].write_disposition``; "" for the file."""
    message: str

    def __str__(self) -> str:
        location = self.file if self.line is None else f"{self.file}:{self.line}"
        if self.path:
            return f"{location}: {self.path}: {self.message}"
        return f"{location}: {self.message}"


class ConfigError(Exception):
    """The configuration is invalid; ``issues`` lists every problem found (never empty)."""

    def __init__(self, issues: Iterable[ConfigIssue]) -> None:
        self.issues: list[ConfigIssue] = list(issues)
        super().__init__("\n".join(str(issue) for issue in self.issues))
