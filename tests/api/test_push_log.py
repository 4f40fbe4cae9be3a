"""What the ingestion sensor reads: committed pushes after a cursor, and the slices' rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from platform_defs.api import Settings
from platform_defs.ops.usage import committed_pushes_after, slice_rows
from tests.api.conftest import Api
from tests.api.data import a, body, day, q, uid
from tests.ops.conftest import write_project

pytestmark = pytest.mark.integration

PORT = uid("log-port")


def test_committed_pushes_after_a_cursor(api: Api) -> None:
    token = api.key(PORT)
    first = api.push(token, PORT, body([q(day(2), "ann", 1), q(day(1), "ann", 2)])).json()
    second = api.push(token, PORT, body([q(day(1), "ann", 3)], [a(day(1), "t", "ann", 3)])).json()
    api.push(token, PORT, body([q(day(1), "ann", 3)], [a(day(1), "t", "ann", 3)]))  # third

    with api.store.session() as session:
        pushes = committed_pushes_after(session, 0, limit=2)
        later = committed_pushes_after(session, pushes[-1].sequence)
        query_rows, asset_rows = slice_rows(session, PORT, [day(1), day(2)])

    assert [(str(p.push_id), p.sequence) for p in pushes] == [
        (first["push_id"], 1),
        (second["push_id"], 2),
    ]
    assert list(pushes[0].dates) == sorted([day(1), day(2)])
    assert pushes[0].output_port_id == PORT
    assert [p.sequence for p in later] == [3]
    assert [(row.date, row.query_count) for row in query_rows] == [(day(2), 1), (day(1), 3)]
    assert [(row.date, row.query_count) for row in asset_rows] == [(day(1), 3)]


def test_the_store_defaults_to_the_manifests_ops_section(tmp_path: Path) -> None:
    ops_file = tmp_path / "from-manifest.db"
    root = write_project(tmp_path / "project", f"ops:\n  url: 'sqlite:///{ops_file}'\n")
    store = Settings(project_dir=root).open_store()
    try:
        assert store.engine.url.database == str(ops_file)
        assert store.schema == "ops"
    finally:
        store.dispose()
