"""Shared fixtures: a real Iceberg SQL catalog in a temp dir, and PostgreSQL when present.

PostgreSQL-dependent tests skip with a reason when the server is absent, except when
``FLOE_REQUIRE_POSTGRES=1`` (set by ``.ci/run``), where the skip becomes a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.catalogs import local_catalog_properties

POSTGRES_DSN = os.environ.get("FLOE_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")
REPO_ROOT = Path(__file__).resolve().parent.parent
DEMO_DROP = shutil.ignore_patterns("*_landing_demo*")
"""Leave out of a copy of sample_data/ the file `make run`'s landing demo dropped there."""


def install_distribution(site: Path, name: str, entry_points: str) -> None:
    """Write a minimal installed distribution (a dist-info with entry points) into `site`.

    How a third-party package declares a plugin; put `site` on sys.path to "install" it."""
    dist_info = site / f"{name.replace('-', '_')}-0.0.1.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.0.1\n")
    (dist_info / "entry_points.txt").write_text(entry_points)


@pytest.fixture
def catalog_properties(tmp_path: Path) -> dict[str, str]:
    """pyiceberg properties for a fresh SQLite catalog with a local warehouse."""
    return local_catalog_properties(tmp_path)


def _postgres_unavailable_reason() -> str | None:
    try:
        import psycopg

        with psycopg.connect(POSTGRES_DSN, connect_timeout=3) as conn:
            conn.execute("select 1")
    except Exception as exc:  # any failure means "not usable here"
        return f"PostgreSQL not reachable at {POSTGRES_DSN}: {exc}"
    return None


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """A DSN for the real PostgreSQL; skip (or fail in CI) when it is not running."""
    reason = _postgres_unavailable_reason()
    if reason is not None:
        if os.environ.get("FLOE_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"FLOE_REQUIRE_POSTGRES=1 but {reason}")
        pytest.skip(reason)
    yield POSTGRES_DSN
