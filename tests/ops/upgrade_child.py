"""A process migrating an ops store: ``python -m tests.ops.upgrade_child URL SCHEMA DIR``.

It imports everything, writes ``DIR/ready-<pid>``, waits for ``DIR/go``, then upgrades, so
the test's processes all reach ``upgrade_to_head`` at the same moment. Each holds its
migration transaction open a little longer than a real one (a short sleep before Alembic
runs): without the lock their DDL would then overlap, and fail.
"""

from __future__ import annotations

import os
import sys
import time
from functools import wraps
from pathlib import Path
from typing import Any

from alembic import command

from platform_defs.ops import upgrade_to_head

HOLD_SECONDS = 0.5


def _slowly(upgrade: Any) -> Any:
    @wraps(upgrade)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        time.sleep(HOLD_SECONDS)
        return upgrade(*args, **kwargs)

    return wrapper


def main(url: str, schema: str, directory: str) -> None:
    command.upgrade = _slowly(command.upgrade)  # type: ignore[method-assign]
    (Path(directory) / f"ready-{os.getpid()}").touch()
    deadline = time.monotonic() + 60
    while not (Path(directory) / "go").exists():
        if time.monotonic() > deadline:
            raise SystemExit("the go file never appeared")
        time.sleep(0.002)
    sys.stdout.write(upgrade_to_head(url, schema) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:4])
