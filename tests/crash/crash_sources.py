"""Sources the crash tests' child processes run, as ``crash_sources:<function>``.

The plugin imports a source by ``module:function`` like a user's; the child puts this
directory on ``sys.path``.
"""

from __future__ import annotations

from typing import Any


def rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows the test wrote into the entry's config: the plugin names the resource after
    the table."""
    return rows
