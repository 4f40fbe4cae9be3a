"""A generated floe project with one landing-zone pipeline, for the landing crash tests.

The project's manifest puts the landing root, the Iceberg catalog and the ops store in the
test's temp dir (SQLite), or the catalog and ops store on the local PostgreSQL (a catalog
name and an ops schema of the test's own). The test side of a landing run: write files,
evaluate the pipeline's real sensor (``platform_defs/landing/sensors.py``) with Dagster's
``build_sensor_context``, build the spec of the run it requests for ``landing_child.py``, and
read back the table and the manifest.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import uuid
from collections import Counter
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any

import dagster as dg
from pyiceberg.catalog import Catalog, load_catalog
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.table import Table

from platform_defs.config import Project, load_project
from platform_defs.landing.sensors import build_landing_sensor
from platform_defs.ops.models import ManifestStatus, RawIngestManifest
from platform_defs.ops.resource import OpsStoreResource
from platform_defs.ops.store import OpsStore, manifest_rows
from plugins.base import LANDING_FILES_PROPERTY
from tests.crash.child import CRASH_ENV, LANDING_KIND

PIPELINE = "events"
FOLDER = "events"
"""The pipeline's folder under the landing root (its ``bucket_url``)."""
TABLE = "bronze.events"
SOURCE_FILE_COLUMN = "_floe_source_file"
COLUMNS = ("id", "value", SOURCE_FILE_COLUMN)

Rows = list[tuple[int, str]]
"""A file's rows: (Id, Value)."""


def floe_yaml(disposition: str) -> str:
    key = "    primary_key: [Id]\n" if disposition == "merge" else ""
    return (
        "version: 1\n"
        "ingestion:\n"
        f"  - name: {PIPELINE}\n"
        "    type: dlt\n"
        f"    destination: {TABLE}\n"
        f"    write_disposition: {disposition}\n"
        f"{key}"
        "    landing_zone: true\n"
        "    dlt:\n"
        "      source: dlt.sources.filesystem\n"
        f"      config: {{bucket_url: {FOLDER}, file_glob: '*.csv', format: csv}}\n"
        "      columns:\n"
        "        Id: {data_type: bigint, nullable: false}\n"
        "        Value: {data_type: text}\n"
    )


@dataclass(frozen=True)
class Backend:
    """Where the catalog and the ops store of a site live."""

    catalog_name: str
    catalog_uri: str
    ops_url: str
    ops_schema: str = "ops"

    @classmethod
    def sqlite(cls, root: Path) -> Backend:
        return cls("floe", f"sqlite:///{root / 'catalog.db'}", f"sqlite:///{root / 'ops.db'}")

    @classmethod
    def postgres(cls, dsn: str) -> Backend:
        url = dsn.replace("postgresql://", "postgresql+psycopg://", 1)
        unique = uuid.uuid4().hex[:12]
        return cls(f"floe_landing_{unique}", url, url, f"ops_landing_{unique}")


@dataclass
class LandingSite:
    """One test's project: a landing folder, a catalog, an ops store, a Dagster instance."""

    root: Path
    disposition: str
    backend: Backend
    max_attempts: int = 3
    instance: dg.DagsterInstance = field(default_factory=dg.DagsterInstance.ephemeral)
    run_keys: list[str] = field(default_factory=list)
    """Every run key a tick requested, in order."""
    _numbers: Iterator[int] = field(default_factory=count)

    def __post_init__(self) -> None:
        for path in (self.project_dir, self.folder, self.runs_dir):
            path.mkdir(parents=True, exist_ok=True)
        (self.project_dir / "floe.yaml").write_text(floe_yaml(self.disposition))
        (self.project_dir / "platform-manifest.yaml").write_text(self._manifest())
        self.project: Project = load_project(self.project_dir, check_plugins=False)
        self.entry = self.project.pipeline(PIPELINE)
        self.sensor = build_landing_sensor(self.project, self.entry)
        self.store = OpsStore(self.backend.ops_url, self.backend.ops_schema)
        self.store.upgrade()
        self.ops_store = OpsStoreResource(
            url=self.backend.ops_url, schema_name=self.backend.ops_schema
        )

    def _manifest(self) -> str:
        backend = self.backend
        return (
            "version: 1\n"
            "plugins: {ingestion: {type: dlt}}\n"
            "catalog:\n"
            f"  name: {backend.catalog_name}\n"
            "  type: sql\n"
            f"  uri: '{backend.catalog_uri}'\n"
            f"  warehouse: '{(self.root / 'warehouse').as_uri()}'\n"
            f"storage: {{root: '{self.root / 'storage'}'}}\n"
            f"ops: {{url: '{backend.ops_url}', schema: {backend.ops_schema}}}\n"
            "landing_zone:\n"
            f"  root: '{self.root / 'landing'}'\n"
            f"  max_attempts: {self.max_attempts}\n"
        )

    @property
    def project_dir(self) -> Path:
        return self.root / "project"

    @property
    def folder(self) -> Path:
        return self.root / "landing" / FOLDER

    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    # -- files ---------------------------------------------------------------------------

    def write(self, name: str, rows: Rows) -> None:
        """Drop (or overwrite) a file of the landing folder."""
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(["Id", "Value"])
        writer.writerows(rows)
        (self.folder / name).write_text(text.getvalue())

    def files(self) -> dict[str, str]:
        """source_filename -> checksum of every file now in the landing folder."""
        return {
            f"{FOLDER}/{path.name}": hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(self.folder.glob("*.csv"))
        }

    def expected_rows(self) -> list[dict[str, Any]]:
        """The table once every file now in the folder landed exactly once (the test's
        files never share an id, so both dispositions hold each file's rows as they are)."""
        expected = []
        for path in sorted(self.folder.glob("*.csv")):
            with path.open(newline="") as handle:
                for row in csv.DictReader(handle):
                    expected.append(
                        {
                            "id": int(row["Id"]),
                            "value": row["Value"],
                            SOURCE_FILE_COLUMN: f"{FOLDER}/{path.name}",
                        }
                    )
        return expected

    # -- the sensor ----------------------------------------------------------------------

    def tick(self) -> list[dg.RunRequest]:
        """One evaluation of the pipeline's landing sensor; its run requests.

        A request whose run key an earlier tick requested fails the test: Dagster's daemon
        launches one run per run key and drops such a request, so its files would never
        load."""
        with dg.build_sensor_context(
            instance=self.instance, resources={"ops_store": self.ops_store}
        ) as context:
            result = self.sensor(context)
        assert isinstance(result, dg.SensorResult), result
        requests = list(result.run_requests or [])
        for request in requests:
            assert request.run_key not in self.run_keys, (
                f"run key {request.run_key} requested again: the daemon would drop it "
                f"(files {requested_files(request)})"
            )
            self.run_keys.append(str(request.run_key))
        return requests

    def settle_and_request(self) -> dg.RunRequest:
        """Tick until the sensor requests a run (new files settle on their first tick);
        returns its one request."""
        for _ in range(2):
            requests = self.tick()
            if requests:
                assert len(requests) == 1, requests
                return requests[0]
        raise AssertionError("two ticks requested no run")

    # -- runs ----------------------------------------------------------------------------

    def spec(
        self,
        requested: list[dict[str, str]] | None,
        *,
        crash_at: str | None = None,
        run_id: str | None = None,
    ) -> dict[str, Any]:
        """A landing run for ``landing_child.py``, of `requested` files (None: every stable
        file), under a new Dagster-style run id unless given."""
        number = next(self._numbers)
        stem = self.runs_dir / f"{number:03d}-{crash_at or 'normal'}"
        return {
            "kind": LANDING_KIND,
            "project_dir": str(self.project_dir),
            "pipeline": PIPELINE,
            "requested": requested,
            "run_id": run_id or str(uuid.uuid4()),
            "env": {CRASH_ENV: crash_at} if crash_at else {},
            "result_file": f"{stem}.result.json",
            "log_file": f"{stem}.log",
        }

    # -- reading back --------------------------------------------------------------------

    def catalog(self) -> Catalog:
        """A brand-new catalog client (nothing cached from an earlier read)."""
        properties = self.project.plugin_context().catalog_properties
        return load_catalog(self.project.manifest.catalog.name, **properties)

    def table(self) -> Table | None:
        try:
            return self.catalog().load_table(TABLE)
        except NoSuchTableError:
            return None

    def manifest(self) -> list[RawIngestManifest]:
        with self.store.session() as session:
            return manifest_rows(session, PIPELINE)

    def close(self) -> None:
        self.store.dispose()
        self.instance.dispose()


def requested_files(request: dg.RunRequest) -> list[dict[str, str]]:
    """The files a landing sensor's run request carries (its asset's run config)."""
    (op,) = request.run_config["ops"].values()
    return list(op["config"]["files"])


def landing_files(snapshot_summary: Any) -> dict[str, str]:
    """The ``{source_filename: checksum}`` a snapshot recorded, if any."""
    recorded = snapshot_summary.get(LANDING_FILES_PROPERTY) if snapshot_summary else None
    return json.loads(recorded) if recorded else {}


def rows_per_file(table: Table) -> Counter[str]:
    data = table.scan(selected_fields=(SOURCE_FILE_COLUMN,)).to_arrow()
    return Counter(data.column(SOURCE_FILE_COLUMN).to_pylist())


def manifest_problems(
    site: LandingSite, table: Table | None, *, failed_ok: Collection[tuple[str, str]] = ()
) -> list[str]:
    """The manifest agrees with the table: each file now in the folder has one row for its
    checksum, ingested, with the table's row count of that file and a snapshot of the
    table; no row is pending, and none failed but the (file, checksum) versions of
    `failed_ok`."""
    problems = []
    rows = site.manifest()
    per_file = rows_per_file(table) if table is not None else Counter()
    snapshots = {s.snapshot_id for s in table.snapshots()} if table is not None else set()
    by_version = {(row.source_filename, row.checksum): row for row in rows}
    for name, checksum in site.files().items():
        row = by_version.get((name, checksum))
        if row is None:
            problems.append(f"{name} ({checksum[:12]}) has no manifest row")
            continue
        if row.status != ManifestStatus.INGESTED:
            problems.append(f"{name} is {row.status}, not ingested ({row.error})")
        if row.row_count != per_file[name]:
            problems.append(
                f"{name}: manifest row_count {row.row_count}, the table holds {per_file[name]}"
            )
        if row.snapshot_id not in snapshots:
            problems.append(f"{name}: snapshot {row.snapshot_id} is not a snapshot of the table")
    for row in rows:
        allowed = row.status == ManifestStatus.FAILED and (
            (row.source_filename, row.checksum) in failed_ok
        )
        if row.status != ManifestStatus.INGESTED and not allowed:
            problems.append(f"{row.source_filename} ({row.checksum[:12]}) is {row.status}")
    current = set(site.files())
    strays = sorted(set(per_file) - current)
    if strays:
        problems.append(f"the table holds rows of files not in the folder: {strays}")
    return problems
