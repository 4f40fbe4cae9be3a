"""Dropping files into the landing zone: each version is ingested once through the sensor,
dropping it again does nothing, changing it replaces its rows, a bad file is refused whole
while the others land, a file still being written waits."""

from __future__ import annotations

import gzip
import hashlib

import dagster as dg
import pytest

from platform_defs.ops import ManifestStatus

from .conftest import Landing

pytestmark = pytest.mark.integration

A = "1,2026-01-01,10\n2,2026-01-01,20\n3,2026-01-01,30\n"
B = "4,2026-01-02,40\n"


def files_of(request: dg.RunRequest) -> list[str]:
    (op,) = request.run_config["ops"].values()
    return [file["source_filename"] for file in op["config"]["files"]]


def sha(path) -> str:  # type: ignore[no-untyped-def]
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_dropped_file_is_ingested_once_and_again_only_when_it_changes(
    landing: Landing,
) -> None:
    a = landing.drop("daily_activity_a.csv", A)
    landing.drop("daily_activity_b.csv", B)
    assert landing.tick() == []  # first listing: the files may still be being written
    (request,) = landing.tick()
    assert files_of(request) == ["wearable/daily_activity_a.csv", "wearable/daily_activity_b.csv"]
    assert request.run_key and request.run_key.startswith("landing:")
    assert landing.execute(request).success
    assert landing.rows() == [
        (1, "2026-01-01", 10, "wearable/daily_activity_a.csv"),
        (2, "2026-01-01", 20, "wearable/daily_activity_a.csv"),
        (3, "2026-01-01", 30, "wearable/daily_activity_a.csv"),
        (4, "2026-01-02", 40, "wearable/daily_activity_b.csv"),
    ]
    manifest = landing.manifest()
    assert {name: (row.status, row.row_count) for name, row in manifest.items()} == {
        "wearable/daily_activity_a.csv": (ManifestStatus.INGESTED, 3),
        "wearable/daily_activity_b.csv": (ManifestStatus.INGESTED, 1),
    }
    assert manifest["wearable/daily_activity_a.csv"].checksum == sha(a)
    snapshots = landing.snapshots()

    assert landing.tick() == [] and landing.tick() == []  # nothing new: nothing requested
    # dropped again, same content (a new mtime): hashed once more, found in the manifest
    landing.drop("daily_activity_a.csv", A)
    assert landing.settle() == []
    assert landing.snapshots() == snapshots

    # changed: row 2 gone, row 3 changed, row 5 new — the old rows of a are replaced
    landing.drop("daily_activity_a.csv", "1,2026-01-01,10\n3,2026-01-01,33\n5,2026-01-03,50\n")
    (request,) = landing.settle()
    assert files_of(request) == ["wearable/daily_activity_a.csv"]
    assert landing.execute(request).success
    assert landing.rows() == [
        (1, "2026-01-01", 10, "wearable/daily_activity_a.csv"),
        (3, "2026-01-01", 33, "wearable/daily_activity_a.csv"),
        (4, "2026-01-02", 40, "wearable/daily_activity_b.csv"),
        (5, "2026-01-03", 50, "wearable/daily_activity_a.csv"),
    ]
    assert landing.manifest()["wearable/daily_activity_a.csv"].row_count == 3


def test_the_same_versions_get_the_same_run_key(landing_sqlite: Landing) -> None:
    landing = landing_sqlite
    landing.drop("daily_activity_a.csv", A)
    (first,) = landing.settle()
    # not executed: the next tick asks for the same run, which Dagster deduplicates by key
    (again,) = landing.tick()
    assert again.run_key == first.run_key
    landing.drop("daily_activity_a.csv", A + B)
    (changed,) = landing.settle()
    assert changed.run_key != first.run_key


def test_a_file_still_being_written_waits_until_two_listings_agree(
    landing_sqlite: Landing,
) -> None:
    landing = landing_sqlite
    landing.drop("daily_activity_a.csv", "1,2026-01-01,10\n")
    assert landing.tick() == []
    landing.drop("daily_activity_a.csv", "1,2026-01-01,10\n2,2026-01-01,20\n")  # grew
    assert landing.tick() == []
    (request,) = landing.tick()  # unchanged since the last listing: stable
    assert landing.execute(request).success
    assert [row[0] for row in landing.rows()] == [1, 2]


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        pytest.param("daily_activity_empty.csv", b"", "is empty", id="empty"),
        pytest.param(
            "daily_activity_header.csv",
            b"Id,ActivityDate,TotalSteps\n",
            "no data rows",
            id="header-only",
        ),
        pytest.param(
            "daily_activity_wrong.csv",
            b"Identifier,Day,Steps\n9,2026-01-01,1\n",
            "wrong header",
            id="wrong-header",
        ),
        pytest.param(
            "daily_activity_latin1.csv",
            "Id,ActivityDate,TotalSteps\n9,2026-01-01,1\n8,2026-01-01,caf\u00e9\n".encode(
                "latin-1"
            ),
            "not valid utf-8",
            id="latin-1",
        ),
        pytest.param(
            "daily_activity_cut.csv",  # gzip bytes (found by their magic)
            gzip.compress(b"Id,ActivityDate,TotalSteps\n" + b"9,2026-01-01,1\n" * 500, mtime=0)[
                :-30
            ],
            "truncated or corrupt gzip",
            id="truncated-gzip",
        ),
    ],
)
def test_a_bad_file_is_refused_whole_and_the_others_land(
    landing_sqlite: Landing, name: str, content: bytes, reason: str
) -> None:
    landing = landing_sqlite
    landing.drop("daily_activity_a.csv", A)
    bad = landing.folder / name
    bad.write_bytes(content)
    (request,) = landing.settle()
    result = landing.execute(request)
    assert result.success  # the good file landed; the refusal is a warning
    assert [row[3] for row in landing.rows()] == ["wearable/daily_activity_a.csv"] * 3
    row = landing.manifest()[f"wearable/{name}"]
    assert row.status == ManifestStatus.FAILED
    assert name in (row.error or "") and reason in (row.error or "").lower()
    (materialization,) = result.asset_materializations_for_node("bronze__daily_activity")
    assert materialization.metadata["error/code"].value == "FILES_REFUSED"
    checks = result.get_asset_check_evaluations()
    assert [c.passed for c in checks] == [False]
    assert landing.settle() == []  # refused until it changes

    # fixed (a new checksum): ingested
    bad.write_bytes(b"Id,ActivityDate,TotalSteps\n9,2026-01-05,90\n")
    (request,) = landing.settle()
    assert files_of(request) == [f"wearable/{name}"]
    assert landing.execute(request).success
    assert landing.manifest()[f"wearable/{name}"].status == ManifestStatus.INGESTED
    assert (9, "2026-01-05", 90, f"wearable/{name}") in landing.rows()


def test_a_run_without_the_sensor_loads_what_the_manifest_lacks(landing_sqlite: Landing) -> None:
    landing = landing_sqlite
    landing.drop("daily_activity_a.csv", A)
    # dropped "seconds ago": older than settle_seconds
    import os
    import time

    old = time.time_ns() - 60 * 10**9
    os.utime(landing.folder / "daily_activity_a.csv", ns=(old, old))
    assert landing.materialize().success
    assert len(landing.rows()) == 3
    snapshots = landing.snapshots()
    assert landing.materialize().success  # nothing new
    assert landing.snapshots() == snapshots
    assert landing.settle() == []  # the sensor agrees: already ingested


def test_a_commit_the_manifest_missed_is_reconciled_not_loaded_twice(
    landing_sqlite: Landing,
) -> None:
    """What a crash between the Iceberg commit and the manifest write leaves (the real
    SIGKILL version is in tests/crash): the snapshot records the file, the manifest not."""
    landing = landing_sqlite
    landing.drop("daily_activity_a.csv", A)
    (request,) = landing.settle()
    assert landing.execute(request).success
    snapshots = landing.snapshots()
    with landing.ops_store.session() as session:
        from sqlalchemy import update

        from platform_defs.ops import RawIngestManifest

        session.execute(
            update(RawIngestManifest).values(status=ManifestStatus.PENDING, snapshot_id=None)
        )
    result = landing.execute(request)
    assert result.success
    assert landing.snapshots() == snapshots  # nothing committed again
    row = landing.manifest()["wearable/daily_activity_a.csv"]
    assert (row.status, row.row_count) == (ManifestStatus.INGESTED, 3)
    assert row.snapshot_id is not None
    (materialization,) = result.asset_materializations_for_node("bronze__daily_activity")
    assert materialization.metadata["floe/landing"].value["files_reconciled"] == [
        "wearable/daily_activity_a.csv"
    ]


def test_many_new_files_become_several_runs(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from .conftest import make_landing

    landing = make_landing(tmp_path / "p", "sqlite:///.floe/ops.db", "ops", max_files=2)
    for i in range(5):
        landing.drop(f"daily_activity_{i}.csv", f"{i},2026-01-01,{i}\n")
    requests = landing.settle()
    assert [len(files_of(r)) for r in requests] == [2, 2, 1]
    assert len({r.run_key for r in requests}) == 3
    for request in requests:
        assert landing.execute(request).success
    assert len(landing.rows()) == 5


def test_a_run_that_died_before_marking_its_files_is_launched_again(
    landing_sqlite: Landing,
) -> None:
    """A launched run killed before it wrote anything to the manifest: the same files give
    the same key, which the daemon launches once — so the key chains on the dead run."""
    from platform_defs.landing.sensors import LANDING_KEY_TAG

    landing = landing_sqlite
    landing.drop("daily_activity_a.csv", A)
    (first,) = landing.settle()
    base = first.tags[LANDING_KEY_TAG]
    assert first.run_key == base

    def dead_run(run_id: str, status: dg.DagsterRunStatus) -> None:
        landing.instance.add_run(
            dg.DagsterRun(
                job_name="__ASSET_JOB", run_id=run_id, status=status, tags={LANDING_KEY_TAG: base}
            )
        )

    dead_run("11111111-1111-1111-1111-111111111111", dg.DagsterRunStatus.STARTED)
    assert landing.tick() == []  # still running: wait
    landing.instance.report_run_failed(
        landing.instance.get_run_by_id("11111111-1111-1111-1111-111111111111")  # type: ignore[arg-type]
    )
    (again,) = landing.tick()
    assert again.run_key == f"{base}:11111111-1111-1111-1111-111111111111"
    assert landing.execute(again).success
    assert len(landing.rows()) == 3
    assert landing.tick() == []
