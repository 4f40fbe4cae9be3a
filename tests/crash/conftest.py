"""Fixtures for the crash tests: one child-process runner per test session (xdist worker)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.crash.harness import FRESH_ENV, Runner

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")


@pytest.fixture(scope="session")
def runner() -> Iterator[Runner]:
    """Forks runs from a pre-imported server (fresh interpreters with
    FLOE_CRASH_FRESH_INTERPRETER=1)."""
    runner = Runner(fresh=os.environ.get(FRESH_ENV) == "1")
    yield runner
    runner.close()


@pytest.fixture(scope="session")
def fresh_runner() -> Runner:
    """Every run in a new interpreter (``python child.py SPEC``): the cold path, for a few cases."""
    return Runner(fresh=True)
