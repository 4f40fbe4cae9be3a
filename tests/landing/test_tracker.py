"""A landing sensor tick's bookkeeping (platform_defs/landing/tracker.py), on both ops-store
backends: what is hashed, what is a candidate, what waits, what is given up."""

from __future__ import annotations

from pathlib import Path

import pytest

from platform_defs.landing.tracker import Scan, scan_pipeline
from platform_defs.ops import ManifestStatus, mark_pending, record_manifest_entry

from .conftest import PIPELINE, Landing

pytestmark = pytest.mark.integration


def scan(landing: Landing, *, active: frozenset[str] = frozenset(), attempts: int = 3) -> Scan:
    with landing.ops_store.session() as session:
        return scan_pipeline(
            session,
            pipeline=PIPELINE,
            folder=landing.folder,
            file_glob="daily_activity*.csv",
            prefix="wearable/",
            run_is_active=lambda run_id: run_id in active,
            max_attempts=attempts,
        )


def test_unchanged_files_are_not_hashed_again(landing: Landing) -> None:
    for i in range(3):
        landing.drop(f"daily_activity_{i}.csv", f"{i},2026-01-01,1\n")
    first = scan(landing)
    assert (first.listed, first.hashed, len(first.settling), first.candidates) == (3, 0, 3, [])
    second = scan(landing)
    assert second.hashed == 3 and len(second.candidates) == 3
    third = scan(landing)
    assert third.hashed == 0 and len(third.candidates) == 3  # not in the manifest yet
    with landing.ops_store.session() as session:
        for candidate in third.candidates:
            record_manifest_entry(
                session,
                pipeline=PIPELINE,
                source_filename=candidate.source_filename,
                checksum=candidate.checksum,
                size_bytes=candidate.size_bytes,
                status=ManifestStatus.INGESTED,
            )
    settled = scan(landing)
    assert (settled.hashed, settled.candidates) == (0, [])
    steady = scan(landing)
    assert (steady.hashed, steady.candidates, steady.settling) == (0, [], [])


def test_a_removed_file_leaves_the_cache(landing: Landing) -> None:
    path: Path = landing.drop("daily_activity_a.csv", "1,2026-01-01,1\n")
    scan(landing)
    path.unlink()
    assert scan(landing).removed == 1
    assert scan(landing).listed == 0


def test_a_file_a_live_run_is_loading_waits_and_a_dead_runs_file_is_retried(
    landing: Landing,
) -> None:
    landing.drop("daily_activity_a.csv", "1,2026-01-01,1\n")
    scan(landing)
    (candidate,) = scan(landing).candidates
    with landing.ops_store.session() as session:
        mark_pending(
            session,
            pipeline=PIPELINE,
            files=[(candidate.source_filename, candidate.checksum, candidate.size_bytes)],
            run_id="run-1",
        )
    busy = scan(landing, active=frozenset({"run-1"}))
    assert (busy.candidates, busy.in_progress) == ([], ["wearable/daily_activity_a.csv"])
    (again,) = scan(landing).candidates  # run-1 ended without recording the file
    assert again.previous_run_id == "run-1"


def test_a_file_whose_runs_keep_dying_is_given_up(landing: Landing) -> None:
    landing.drop("daily_activity_a.csv", "1,2026-01-01,1\n")
    scan(landing)
    (candidate,) = scan(landing).candidates
    for attempt in range(2):
        with landing.ops_store.session() as session:
            mark_pending(
                session,
                pipeline=PIPELINE,
                files=[(candidate.source_filename, candidate.checksum, candidate.size_bytes)],
                run_id=f"run-{attempt}",
            )
    gave_up = scan(landing, attempts=2)
    assert gave_up.gave_up == ["wearable/daily_activity_a.csv"] and gave_up.candidates == []
    row = landing.manifest()["wearable/daily_activity_a.csv"]
    assert row.status == ManifestStatus.FAILED and "2 run(s)" in (row.error or "")
    assert scan(landing).candidates == []
    # a new version is a new chance
    landing.drop("daily_activity_a.csv", "1,2026-01-01,2\n")
    scan(landing)
    assert len(scan(landing).candidates) == 1


def test_a_listing_equal_to_the_last_quiet_one_skips_the_ops_store(landing: Landing) -> None:
    landing.drop("daily_activity_a.csv", "1,2026-01-01,1\n")
    scan(landing)
    (candidate,) = scan(landing).candidates
    with landing.ops_store.session() as session:
        record_manifest_entry(
            session,
            pipeline=PIPELINE,
            source_filename=candidate.source_filename,
            checksum=candidate.checksum,
            size_bytes=candidate.size_bytes,
            status=ManifestStatus.INGESTED,
        )
    quiet = scan(landing)
    assert quiet.quiet and not quiet.skipped
    with landing.ops_store.session() as session:
        skipped = scan_pipeline(
            session,
            pipeline=PIPELINE,
            folder=landing.folder,
            file_glob="daily_activity*.csv",
            prefix="wearable/",
            run_is_active=lambda run_id: False,
            max_attempts=3,
            quiet_digest=quiet.digest,
        )
    assert skipped.skipped and skipped.digest == quiet.digest
    # any change to the listing (a touched file) scans in full again
    landing.drop("daily_activity_a.csv", "1,2026-01-01,1\n")
    with landing.ops_store.session() as session:
        changed = scan_pipeline(
            session,
            pipeline=PIPELINE,
            folder=landing.folder,
            file_glob="daily_activity*.csv",
            prefix="wearable/",
            run_is_active=lambda run_id: False,
            max_attempts=3,
            quiet_digest=quiet.digest,
        )
    assert not changed.skipped and changed.settling == ["wearable/daily_activity_a.csv"]
