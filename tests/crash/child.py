"""One ingestion run in a process of its own, SIGKILLed at a dangerous point on request.

Run by the crash tests (which import it only for its constants):

* ``python child.py SPEC.json``: one run in a fresh interpreter.
* ``python child.py --serve``: a fork server. Importing dlt, pyiceberg and pyarrow costs
  4-5 s of CPU per interpreter, which would dominate ~100 runs; the server imports them once,
  then for each request line (JSON ``{"runs": [spec, ...], "timeout": s}``) forks one process
  per spec, all at once, waits for all of them and answers one line
  ``{"returncodes": [...]}`` (``0`` a successful run, ``1`` a failed one, ``3`` an exception
  out of the plugin, ``-9`` a process killed by SIGKILL, ``null`` one the server had to kill
  after the timeout). Each forked process is a real OS process that runs
  the plugin from scratch (the server itself never runs a pipeline, opens a catalog or holds
  a lock) and dies by SIGKILL exactly as a fresh interpreter would.

To widen a race window instead, ``FLOE_DELAY_AT`` makes the process wait
``FLOE_DELAY_SECONDS`` (default 1) at a point: ``namespace_check`` after the SQL catalog's
``namespace_exists`` answered "no" (two processes creating the same namespace both pass
pyiceberg's check before either inserts), ``before_commit`` before ``commit_transaction``
(two writers staged on the same table version both commit, one conflicts),
``dlt_working_dir_wiped`` after ``dlt.pipeline()``, finding no state in the working dir,
wiped it and before it creates it again (two first runs of a pipeline both wipe, then both
create).

A spec (JSON) holds the plugin context (``catalog_name``, ``catalog_properties``,
``work_dir``, ``project_dir``, ``plugin_config``), the ingestion ``entry`` (the fields of
``IngestionConfig``), ``env`` (extra environment, e.g. ``FLOE_CRASH_AT``), ``result_file``
and ``log_file``. The run writes its ``IngestionResult`` as JSON to ``result_file``; its
stdout and stderr go to ``log_file``.

Fault injection lives here only: with ``FLOE_CRASH_AT=<point>`` the process wraps the real
function and SIGKILLs itself (``os.kill(os.getpid(), SIGKILL)``: no exception, no ``finally``,
no ``atexit``) when the point is reached:

``after_files_written``
    ``plugins.iceberg.files.DataFileWriter.write`` returned a written file: a data file is in
    the warehouse, ``commit_transaction`` has not run.
``after_commit``
    ``Transaction.commit_transaction`` (or ``CreateTableTransaction``'s, for a table's first
    load) returned: the snapshot is in the catalog, the dlt package is not retired.
``during_cleanup``
    inside ``plugins.dlt.plugin._retire_package``: dlt's ``LoadStorage.complete_load_package``
    moved the package to ``loaded/`` and ``delete_package`` has not run.
``during_normalize``
    dlt's ``Normalize.map_single`` returned: the normalized files of the package are written
    to its ``new/`` (temporary) folder, the package is not committed to ``normalized/``.
    ``pipeline.normalize()`` with the default ``workers=1`` runs ``map_single`` in the
    calling process (dlt's ``NullExecutor``, no worker process or thread), so this kills the
    process that runs the plugin.
``normalize_committed``
    dlt's ``LoadStorage.commit_new_load_package`` returned: the package was renamed to
    ``normalized/`` but its extracted copy not yet deleted (the window dlt logs as
    "Committing storage, do not kill this process").

A landing spec (``"kind": "landing"``, see ``landing_child.py``) runs one landing-zone run
instead (``platform_defs.landing.runner.run_landing_pipeline``); besides the points above
(``after_files_written``, ``after_commit``) it has three of the ops store's:

``after_pending``
    the transaction in which ``runner.mark_pending`` ran committed: the manifest says
    pending (this run, one more attempt), nothing is written to Iceberg yet.
``during_manifest_write``
    inside the transaction that records files as ingested: the first
    ``runner.record_manifest_entries`` (a run's load) or ``runner.record_manifest_entry`` (a
    reconciled version) statement executed, the transaction not committed.
``after_manifest_write``
    the transaction in which they ran committed (with
    ``mark_settled``'s update): the run is recorded, the process has not returned.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

CRASH_ENV = "FLOE_CRASH_AT"
DELAY_ENV = "FLOE_DELAY_AT"
DELAY_SECONDS_ENV = "FLOE_DELAY_SECONDS"
CRASH_POINTS = (
    "after_files_written",
    "after_commit",
    "during_cleanup",
    "during_normalize",
    "normalize_committed",
    "after_pending",
    "during_manifest_write",
    "after_manifest_write",
)
LANDING_KIND = "landing"
"""A spec's ``kind`` for a landing-zone run (``landing_child.py``); none: a plugin run."""
DIE_AFTER_COMMIT = "floe_crash_die_after_commit"
"""``Session.info`` key: SIGKILL once this session's transaction has committed."""
HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent


def _die() -> None:
    """Die the way a power cut or the OOM killer ends a process: nothing runs after this."""
    os.kill(os.getpid(), signal.SIGKILL)  # delivered before kill(2) returns
    os._exit(99)  # unreachable; never go on whatever happens


def install_crash_hook(point: str) -> None:
    """Wrap the real function at `point` so that the process SIGKILLs itself there."""
    if point not in CRASH_POINTS:
        raise SystemExit(f"unknown {CRASH_ENV}={point!r}; one of {CRASH_POINTS}")
    if point == "after_files_written":
        from plugins.iceberg.files import DataFileWriter

        write = DataFileWriter.write

        def write_then_die(self: Any, *args: Any, **kwargs: Any) -> Any:
            written = write(self, *args, **kwargs)
            if written is not None:  # a data file is placed (an empty input writes none)
                _die()
            return written

        DataFileWriter.write = write_then_die  # type: ignore[method-assign]
    elif point == "after_commit":
        from pyiceberg.table import CreateTableTransaction, Transaction

        for cls in (Transaction, CreateTableTransaction):
            commit = cls.__dict__["commit_transaction"]

            def commit_then_die(self: Any, _commit: Any = commit) -> Any:
                _commit(self)
                _die()

            cls.commit_transaction = commit_then_die  # type: ignore[method-assign]
    elif point in ("during_cleanup", "normalize_committed"):
        from dlt.common.storages.load_storage import LoadStorage

        # complete_load_package is called only by `_retire_package` (the plugin never runs
        # dlt's loader), commit_new_load_package only by dlt's normalize
        name = "complete_load_package" if point == "during_cleanup" else "commit_new_load_package"
        original = getattr(LoadStorage, name)

        def then_die(self: Any, *args: Any, **kwargs: Any) -> None:
            original(self, *args, **kwargs)
            _die()

        setattr(LoadStorage, name, then_die)
    elif point == "during_normalize":
        from dlt.normalize.normalize import Normalize

        map_single = Normalize.map_single

        def map_then_die(self: Any, *args: Any, **kwargs: Any) -> Any:
            result = map_single(self, *args, **kwargs)
            if any(metrics.items_count for metrics in result.file_metrics):
                _die()  # at least one normalized file holds rows
            return result

        Normalize.map_single = map_then_die  # type: ignore[method-assign]
    else:
        _install_ops_store_crash_hook(point)


def _install_ops_store_crash_hook(point: str) -> None:
    """The landing runner's points: its ops-store functions, looked up in its module."""
    from contextlib import contextmanager

    from platform_defs.landing import runner
    from platform_defs.ops.store import OpsStore, manifest_versions

    if point == "during_manifest_write":
        record = runner.record_manifest_entry

        def record_then_die(session: Any, **kwargs: Any) -> None:
            record(session, **kwargs)
            # the statement ran inside the open transaction (the log line proves it to the
            # test); dying now must leave the manifest as it was before the transaction
            name, checksum = kwargs["source_filename"], kwargs["checksum"]
            row = manifest_versions(session, kwargs["pipeline"], [name]).get((name, checksum))
            status = row.status if row is not None else None
            sys.stdout.write(f"crash: {name} is {status} in the uncommitted transaction\n")
            sys.stdout.flush()
            _die()

        records = runner.record_manifest_entries

        def records_then_die(session: Any, entries: Any) -> None:
            records(session, entries)
            first = entries[0]
            name, checksum = first["source_filename"], first["checksum"]
            row = manifest_versions(session, first["pipeline"], [name]).get((name, checksum))
            status = row.status if row is not None else None
            sys.stdout.write(f"crash: {name} is {status} in the uncommitted transaction\n")
            sys.stdout.flush()
            _die()

        runner.record_manifest_entry = record_then_die  # type: ignore[assignment]
        runner.record_manifest_entries = records_then_die  # type: ignore[assignment]
        return
    names = (
        ["mark_pending"]
        if point == "after_pending"
        else ["record_manifest_entry", "record_manifest_entries"]
    )
    for name in names:
        original = getattr(runner, name)

        def then_die_after_commit(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
            returned = _original(*args, **kwargs)
            args[0].info[DIE_AFTER_COMMIT] = True  # the session
            return returned

        setattr(runner, name, then_die_after_commit)
    session = OpsStore.session

    @contextmanager
    def session_then_die(self: Any) -> Any:
        with session(self) as opened:
            yield opened
        # the `with` block above committed the transaction
        if opened.info.get(DIE_AFTER_COMMIT):
            _die()

    OpsStore.session = session_then_die  # type: ignore[method-assign]


def install_delay_hook(point: str, seconds: float) -> None:
    """Widen a race window: sleep at `point` (a test of concurrency, not of crashes)."""
    if point == "before_commit":
        from pyiceberg.table import CreateTableTransaction, Transaction

        for cls in (Transaction, CreateTableTransaction):
            commit = cls.__dict__["commit_transaction"]

            def slow_commit(self: Any, _commit: Any = commit) -> Any:
                time.sleep(seconds)
                return _commit(self)

            cls.commit_transaction = slow_commit  # type: ignore[method-assign]
        return
    if point == "dlt_working_dir_wiped":
        from dlt.pipeline.pipeline import Pipeline

        wipe = Pipeline._wipe_working_folder

        def slow_wipe(self: Any) -> None:
            wipe(self)
            time.sleep(seconds)

        Pipeline._wipe_working_folder = slow_wipe  # type: ignore[method-assign]
        return
    if point != "namespace_check":
        raise SystemExit(f"unknown {DELAY_ENV}={point!r}")
    from pyiceberg.catalog.sql import SqlCatalog

    namespace_exists = SqlCatalog.namespace_exists

    def slow_no(self: Any, *args: Any, **kwargs: Any) -> bool:
        exists = namespace_exists(self, *args, **kwargs)
        if not exists:
            time.sleep(seconds)
        return exists

    SqlCatalog.namespace_exists = slow_no  # type: ignore[method-assign]


def _preimport() -> None:
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    if str(HERE) not in sys.path:  # `crash_sources:rows`, `landing_child`
        sys.path.insert(0, str(HERE))
    if str(REPO_ROOT) not in sys.path:  # `plugins` (already there with the editable install)
        sys.path.append(str(REPO_ROOT))
    import dlt.common.storages.load_storage  # noqa: F401
    import dlt.destinations  # noqa: F401
    import dlt.normalize.normalize  # noqa: F401
    import pyiceberg.catalog.sql  # noqa: F401
    import pyiceberg.table  # noqa: F401
    from landing_child import preimport

    import plugins.dlt.plugin  # noqa: F401

    preimport()


def run_once(spec: dict[str, Any]) -> int:
    """Run the spec's entry once; write the result file. 0 on success, 1 on a failed run."""
    _preimport()
    from plugins.base import IngestionConfig, PluginContext
    from plugins.dlt import DltIngestionPlugin

    point = os.environ.get(CRASH_ENV)
    if point:
        install_crash_hook(point)
    delay = os.environ.get(DELAY_ENV)
    if delay:
        install_delay_hook(delay, float(os.environ.get(DELAY_SECONDS_ENV, "1")))
    if spec.get("kind") == LANDING_KIND:
        from landing_child import run_landing

        return run_landing(spec)
    entry = dict(spec["entry"])
    entry["primary_key"] = tuple(entry.get("primary_key", ()))
    config = IngestionConfig(**entry)
    context = PluginContext(
        catalog_name=spec["catalog_name"],
        catalog_properties=spec["catalog_properties"],
        work_dir=Path(spec["work_dir"]),
        plugin_config=spec.get("plugin_config", {}),
        project_dir=Path(spec["project_dir"]),
    )
    plugin = DltIngestionPlugin(context)
    progress: list[str] = []

    def say(message: str) -> None:
        progress.append(message)
        sys.stdout.write(f"progress: {message}\n")

    started_at = time.time()
    result = plugin.run(plugin.create_pipeline(config), progress=say)
    document = {
        "success": result.success,
        "rows_loaded": result.rows_loaded,
        "snapshot_id": result.snapshot_id,
        "tables_created": result.tables_created,
        "error": result.error.to_dict() if result.error is not None else None,
        "details": result.details,
        "progress": progress,
        "pid": os.getpid(),
        "started_at": started_at,
        "finished_at": time.time(),
    }
    partial = Path(spec["result_file"] + ".partial")
    partial.write_text(json.dumps(document, default=str, indent=2))
    partial.rename(spec["result_file"])
    return 0 if result.success else 1


def _forked_run(spec: dict[str, Any]) -> None:
    """The forked process: own environment, output to its log file; never returns."""
    code = 3
    try:
        os.environ.update(spec.get("env", {}))
        log = os.open(spec["log_file"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        sys.stdin = open(0, closefd=False)  # noqa: SIM115
        sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.chdir(spec["project_dir"])
        code = run_once(spec)
    except BaseException:
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)  # never the server's atexit handlers or buffers


def _wait_all(pids: list[int], timeout: float) -> list[int | None]:
    codes: dict[int, int | None] = {}
    deadline = time.monotonic() + timeout
    while len(codes) < len(pids):
        for pid in pids:
            if pid in codes:
                continue
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                codes[pid] = os.waitstatus_to_exitcode(status)
        if len(codes) < len(pids):
            if time.monotonic() > deadline:
                for pid in pids:
                    if pid not in codes:
                        os.kill(pid, signal.SIGKILL)
                        os.waitpid(pid, 0)
                        codes[pid] = None
            time.sleep(0.01)
    return [codes[pid] for pid in pids]


def serve() -> None:
    _preimport()
    # the protocol owns the real stdout; nothing else may write to it
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    protocol.write(json.dumps({"ready": os.getpid()}) + "\n")
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        sys.stderr.flush()
        pids = []
        for spec in request["runs"]:
            pid = os.fork()
            if pid == 0:
                protocol.close()
                _forked_run(spec)
            pids.append(pid)
        codes = _wait_all(pids, float(request.get("timeout", 240)))
        protocol.write(json.dumps({"returncodes": codes}) + "\n")


def main(argv: list[str]) -> int:
    if argv[1:] == ["--serve"]:
        serve()
        return 0
    if len(argv) != 2:
        raise SystemExit("usage: child.py SPEC.json | --serve")
    spec = json.loads(Path(argv[1]).read_text())
    os.chdir(spec["project_dir"])
    try:
        return run_once(spec)
    except Exception:  # out of the plugin: the same code as a forked run's
        traceback.print_exc()
        return 3


if __name__ == "__main__":
    sys.exit(main(sys.argv))
