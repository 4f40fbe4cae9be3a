"""The repository functions and the constraints behind them, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError, StatementError

from platform_defs.ops import (
    AlertSent,
    AlertStatus,
    ManifestStatus,
    OpsStore,
    PipelineRun,
    RawIngestManifest,
    RunStatus,
    claim_alert,
    known_checksums,
    last_runs,
    mark_failed,
    record_alert_attempt,
    record_manifest_entry,
    unsent_alerts,
    upsert_run,
)

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def sha(content: str) -> str:
    return hashlib.sha256(content.encode()).hexdigest()


def entry(store: OpsStore, filename: str, content: str, **fields: object) -> None:
    values: dict[str, object] = {"size_bytes": len(content), "row_count": 1, **fields}
    with store.session() as session:
        record_manifest_entry(
            session,
            pipeline=str(values.pop("pipeline", "wearable_sleep")),
            source_filename=filename,
            checksum=sha(content),
            **values,  # type: ignore[arg-type]
        )


def manifest_rows(store: OpsStore) -> list[RawIngestManifest]:
    with store.session() as session:
        query = select(RawIngestManifest).order_by(RawIngestManifest.id)
        return list(session.scalars(query))


# -- raw_ingest_manifest -------------------------------------------------------------------


def test_known_checksums_are_each_files_newest_version(store: OpsStore) -> None:
    entry(store, "sleep/2026-03-01.csv", "v1", at=T0)
    entry(store, "sleep/2026-03-01.csv", "v2", at=T0 + timedelta(hours=1))
    entry(store, "sleep/2026-03-02.csv", "a", at=T0)
    entry(store, "steps/2026-03-01.csv", "other pipeline", pipeline="wearable_steps", at=T0)

    with store.session() as session:
        assert known_checksums(session, "wearable_sleep") == {
            "sleep/2026-03-01.csv": sha("v2"),
            "sleep/2026-03-02.csv": sha("a"),
        }
        assert known_checksums(session, "wearable_steps") == {
            "steps/2026-03-01.csv": sha("other pipeline")
        }
        assert known_checksums(session, "nobody") == {}

    # Content changed back to v1: that version is the newest again (its row is updated).
    entry(store, "sleep/2026-03-01.csv", "v1", at=T0 + timedelta(hours=2))
    with store.session() as session:
        assert known_checksums(session, "wearable_sleep")["sleep/2026-03-01.csv"] == sha("v1")


def test_recording_a_version_again_updates_its_row(store: OpsStore) -> None:
    entry(store, "f.csv", "x", status=ManifestStatus.PENDING, row_count=None, run_id="run-1", at=T0)
    with store.session() as session:
        assert known_checksums(session, "wearable_sleep") == {}  # pending is not known yet
        pending = known_checksums(session, "wearable_sleep", statuses=[ManifestStatus.PENDING])
        assert pending == {"f.csv": sha("x")}

    entry(store, "f.csv", "x", row_count=42, snapshot_id=2**62 + 7, run_id="run-1", at=T0)

    (row,) = manifest_rows(store)
    assert (row.status, row.row_count, row.snapshot_id, row.run_id) == (
        ManifestStatus.INGESTED,
        42,
        2**62 + 7,
        "run-1",
    )
    assert row.ingested_at == T0 and row.ingested_at.tzinfo is UTC


def test_mark_failed_records_the_reason_but_never_unloads_a_file(store: OpsStore) -> None:
    with store.session() as session:
        assert mark_failed(
            session,
            pipeline="wearable_sleep",
            source_filename="bad.csv",
            checksum=sha("bad"),
            size_bytes=3,
            error="bad.csv: wrong header",
            run_id="run-1",
        )
    entry(store, "good.csv", "good")
    with store.session() as session:
        assert not mark_failed(
            session,
            pipeline="wearable_sleep",
            source_filename="good.csv",
            checksum=sha("good"),
            size_bytes=4,
            error="should not stick",
        )
        assert known_checksums(session, "wearable_sleep") == {
            "bad.csv": sha("bad"),
            "good.csv": sha("good"),
        }
        only_ingested = known_checksums(
            session, "wearable_sleep", statuses=[ManifestStatus.INGESTED]
        )
        assert only_ingested == {"good.csv": sha("good")}

    bad, good = manifest_rows(store)
    assert (bad.status, bad.error, bad.row_count) == (
        ManifestStatus.FAILED,
        "bad.csv: wrong header",
        None,
    )
    assert (good.status, good.error) == (ManifestStatus.INGESTED, None)

    # A fixed file has a new checksum: a new version, loaded like any other.
    entry(store, "bad.csv", "fixed")
    with store.session() as session:
        assert known_checksums(session, "wearable_sleep")["bad.csv"] == sha("fixed")


def test_a_checksum_must_be_a_sha256_hex_digest(store: OpsStore) -> None:
    with pytest.raises(ValueError, match="SHA-256"), store.session() as session:
        record_manifest_entry(
            session, pipeline="p", source_filename="f", checksum="ABC", size_bytes=1
        )


def test_the_manifest_holds_a_file_version_once(store: OpsStore) -> None:
    row = {
        "pipeline": "p",
        "source_filename": "f.csv",
        "checksum": sha("x"),
        "size_bytes": 1,
        "ingested_at": T0,
        "status": ManifestStatus.INGESTED,
    }
    with store.session() as session:
        session.add(RawIngestManifest(**row))
    with pytest.raises(IntegrityError), store.session() as session:
        session.add(RawIngestManifest(**row))
    with store.session() as session:  # another pipeline, or another content, is another row
        session.add(RawIngestManifest(**{**row, "pipeline": "q"}))
        session.add(RawIngestManifest(**{**row, "checksum": sha("y")}))
    assert len(manifest_rows(store)) == 3


def test_a_status_outside_the_list_is_refused_by_the_database(store: OpsStore) -> None:
    insert = text(
        f"INSERT INTO {store.schema}.pipeline_runs (run_id, job_name, started_at, status) "
        "VALUES ('r', 'j', CURRENT_TIMESTAMP, 'exploded')"
    )
    with pytest.raises(IntegrityError), store.session() as session:
        session.execute(insert)


# -- pipeline_runs -------------------------------------------------------------------------


def test_a_run_is_recorded_at_start_then_at_finish(store: OpsStore) -> None:
    with store.session() as session:
        upsert_run(
            session,
            run_id="run-1",
            job_name="wearable_sleep_job",
            pipeline="wearable_sleep",
            status=RunStatus.RUNNING,
            started_at=T0,
        )
    with store.session() as session:
        (run,) = last_runs(session)
        assert (run.status, run.started_at, run.finished_at) == (RunStatus.RUNNING, T0, None)

    with store.session() as session:
        upsert_run(
            session,
            run_id="run-1",
            job_name="wearable_sleep_job",
            status=RunStatus.FAILURE,
            finished_at=T0 + timedelta(minutes=3),
            error_summary="[PARTIAL/bad_rows] 2 rows rejected",
            category="PARTIAL",
            code="bad_rows",
            failed_records=2,
            rows_loaded=98,
        )
    with store.session() as session:
        (run,) = last_runs(session)
    assert run.pipeline == "wearable_sleep"  # kept: the finish did not say
    assert (run.status, run.started_at, run.finished_at) == (
        RunStatus.FAILURE,
        T0,
        T0 + timedelta(minutes=3),
    )
    assert (run.category, run.code, run.failed_records, run.rows_loaded) == (
        "PARTIAL",
        "bad_rows",
        2,
        98,
    )
    assert run.error_summary == "[PARTIAL/bad_rows] 2 rows rejected"


def test_a_late_start_event_never_reopens_a_finished_run(store: OpsStore) -> None:
    with store.session() as session:
        upsert_run(
            session, run_id="r", job_name="floe_main", status=RunStatus.SUCCESS, finished_at=T0
        )
        (run,) = last_runs(session)
        assert run.started_at == T0  # the finish is all we know so far
    with store.session() as session:
        start = T0 - timedelta(minutes=5)
        upsert_run(
            session, run_id="r", job_name="floe_main", status=RunStatus.RUNNING, started_at=start
        )
    with store.session() as session:
        (run,) = last_runs(session)
    assert (run.status, run.started_at, run.finished_at) == (RunStatus.SUCCESS, start, T0)


def test_last_runs_newest_first(store: OpsStore) -> None:
    with store.session() as session:
        for i in range(5):
            upsert_run(
                session,
                run_id=f"run-{i}",
                job_name="job",
                pipeline="a" if i % 2 else "b",
                status=RunStatus.SUCCESS,
                started_at=T0 + timedelta(minutes=i),
            )
    with store.session() as session:
        assert [run.run_id for run in last_runs(session, 3)] == ["run-4", "run-3", "run-2"]
        assert [run.run_id for run in last_runs(session, pipeline="a")] == ["run-3", "run-1"]


def test_timestamps_are_stored_and_read_as_utc(store: OpsStore) -> None:
    paris = timezone(timedelta(hours=2))
    with store.session() as session:
        upsert_run(
            session,
            run_id="r",
            job_name="j",
            status=RunStatus.RUNNING,
            started_at=datetime(2026, 6, 1, 14, 0, tzinfo=paris),
        )
    with store.session() as session:
        (run,) = last_runs(session)
        raw = session.execute(text(f"SELECT started_at FROM {store.schema}.pipeline_runs")).scalar()
    assert run.started_at == datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    assert run.started_at.tzinfo is UTC
    assert "12:00:00" in str(raw)  # stored as UTC, whatever the session's time zone

    naive = datetime(2026, 6, 1, 12, 0)
    with pytest.raises(StatementError, match="naive datetime"), store.session() as session:
        upsert_run(session, run_id="n", job_name="j", status=RunStatus.RUNNING, started_at=naive)


def test_a_run_id_is_recorded_once(store: OpsStore) -> None:
    run = {"job_name": "j", "started_at": T0, "status": RunStatus.RUNNING}
    with store.session() as session:
        session.add(PipelineRun(run_id="r", **run))
    with pytest.raises(IntegrityError), store.session() as session:
        session.add(PipelineRun(run_id="r", **run))


# -- alerts_sent ---------------------------------------------------------------------------


def test_an_alert_is_claimed_once_per_run_and_channel(store: OpsStore) -> None:
    with store.session() as session:
        assert claim_alert(session, "run-1", "slack")
    with store.session() as session:
        assert not claim_alert(session, "run-1", "slack")
        assert claim_alert(session, "run-1", "email")
        assert claim_alert(session, "run-2", "slack")

    claim = {"claimed_at": T0, "status": AlertStatus.PENDING, "attempts": 0}
    with pytest.raises(IntegrityError), store.session() as session:
        session.add(AlertSent(run_id="run-1", channel="slack", **claim))


def test_concurrent_claims_give_the_alert_to_one_sender(store: OpsStore) -> None:
    barrier = threading.Barrier(6)
    wins: list[bool] = []
    errors: list[BaseException] = []

    def claim() -> None:
        try:
            barrier.wait()
            with store.session() as session:
                wins.append(claim_alert(session, "run-1", "slack"))
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=claim) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(wins) == [False] * 5 + [True]


def test_alert_attempts_are_counted_until_one_is_sent(store: OpsStore) -> None:
    with store.session() as session:
        claim_alert(session, "run-1", "slack", at=T0)
        claim_alert(session, "run-2", "slack", at=T0 + timedelta(seconds=1))
    with store.session() as session:
        record_alert_attempt(session, "run-1", "slack", error="HTTP 503 from the webhook")
        record_alert_attempt(session, "run-2", "slack", at=T0 + timedelta(seconds=2))
    with store.session() as session:
        (failed,) = unsent_alerts(session)
        assert (failed.run_id, failed.status, failed.attempts) == ("run-1", AlertStatus.FAILED, 1)
        assert failed.last_error == "HTTP 503 from the webhook" and failed.sent_at is None
        assert unsent_alerts(session, max_attempts=1) == []

    with store.session() as session:
        record_alert_attempt(session, "run-1", "slack", at=T0 + timedelta(minutes=1))
    with store.session() as session:
        assert unsent_alerts(session) == []
        sent = session.get(AlertSent, ("run-1", "slack"))
    assert sent is not None
    assert (sent.status, sent.attempts, sent.last_error) == (AlertStatus.SENT, 2, None)
    assert sent.sent_at == T0 + timedelta(minutes=1)

    with pytest.raises(LookupError, match="no alert claimed"), store.session() as session:
        record_alert_attempt(session, "run-9", "slack")


def test_sessions_that_read_then_write_can_run_at_once(store: OpsStore) -> None:
    """A sensor's pattern (read the manifest, then record) from several threads: on SQLite a
    deferred transaction would fail with "database is locked" instead of waiting."""
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            barrier.wait()
            for i in range(10):
                with store.session() as session:
                    known_checksums(session, "p")
                    record_manifest_entry(
                        session,
                        pipeline="p",
                        source_filename=f"{worker}/{i}.csv",
                        checksum=sha(f"{worker}/{i}"),
                        size_bytes=1,
                    )
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(worker,)) for worker in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    with store.session() as session:
        assert len(known_checksums(session, "p")) == 60
