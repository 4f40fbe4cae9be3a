"""Bad rows become rejected rows: the good rows land, the bad ones land in
`<namespace>.<table>__rejected` with file, line, column, raw value and reason, and the run is
PARTIAL with `failed_records`. Real runs into a temp SQLite catalog, from floe.yaml."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from pyiceberg.catalog import load_catalog
from pyiceberg.table import Table

import plugins.dlt.columns as columns_module
import plugins.dlt.plugin as plugin_module
from platform_defs.config import ConfigError, Project, load_project
from plugins.base import ErrorCategory, IngestionResult, TransientIngestionError
from plugins.iceberg import LOAD_ID_PROPERTY, TableCommitter
from tests.plugins.floe_project import run_pipeline, table_columns, table_rows, write_project

pytestmark = pytest.mark.integration

REJECTS = "bronze.orders__rejected"


def orders_yaml(columns: str = "", extra: str = "", glob: str = "*.csv") -> str:
    block = f"      columns: {columns}\n" if columns else ""
    return (
        "ingestion:\n"
        "  - name: orders\n"
        "    destination: bronze.orders\n"
        f"{extra}"
        "    dlt:\n"
        "      source: dlt.sources.filesystem\n"
        f'      config: {{bucket_url: landing, file_glob: "{glob}"}}\n'
        f"{block}"
    )


def project_with(root: Path, floe_yaml: str, files: dict[str, str]) -> Project:
    return load_project(write_project(root, floe_yaml, files))


def _table(project: Project, identifier: str) -> Table:
    context = project.plugin_context("dlt")
    catalog = load_catalog(context.catalog_name, **dict(context.catalog_properties))
    return catalog.load_table(identifier)


def rejects(project: Project) -> list[dict[str, Any]]:
    rows = _table(project, REJECTS).scan().to_arrow().to_pylist()
    return sorted(rows, key=lambda row: (row["source_file"] or "", row["record_number"] or 0))


def partial(result: IngestionResult, failed: int) -> None:
    assert result.error is not None, "expected a PARTIAL result"
    assert (result.error.category, result.error.code) == (ErrorCategory.PARTIAL, "ROWS_REJECTED")
    assert result.error.failed_records == failed
    assert result.error.details["rejects_table"] == REJECTS
    assert result.details["rejected_rows"] == failed


def test_a_value_that_does_not_fit_its_declared_type_is_a_rejected_row(tmp_path: Path) -> None:
    project = project_with(
        tmp_path / "project",
        orders_yaml("{amount: {data_type: bigint}}"),
        {"landing/orders.csv": "id,amount,qty\n1,1,1\n2,2,2\n3,3,3\n4,abc,4\n"},
    )

    result = run_pipeline(project, "orders")

    partial(result, 1)
    assert result.rows_loaded == 3
    assert table_rows(project, "bronze.orders", "id", "amount") == [
        {"id": 1, "amount": 1},
        {"id": 2, "amount": 2},
        {"id": 3, "amount": 3},
    ]
    assert "amount__v_text" not in table_columns(project, "bronze.orders")
    [reject] = rejects(project)
    assert reject["source_file"].endswith("landing/orders.csv")
    assert (reject["line"], reject["record_number"]) == (5, 4)
    assert (reject["column_name"], reject["raw_value"]) == ("amount", "abc")
    assert reject["reason"] == "'abc' is not a bigint"
    assert reject["raw_record"] == "4,abc,4"
    [load_id] = result.details["load_ids"]
    assert reject["_dlt_load_id"] == load_id
    assert isinstance(reject["rejected_at"], datetime) and reject["rejected_at"].tzinfo
    assert result.error.details["rejects_sample"][0]["raw_value"] == "abc"


def test_an_integer_column_with_abc_in_a_later_file_rejects_the_row(tmp_path: Path) -> None:
    """Issue 7 item 2 as reported: no declaration, `4,abc,4` used to land as a null amount
    plus a new column `amount__v_text`."""
    project = project_with(
        tmp_path / "project",
        orders_yaml(),
        {
            "landing/a.csv": "id,amount,qty\n1,1,1\n2,2,2\n",
            "landing/b.csv": "id,amount,qty\n3,3,3\n4,abc,4\n",
        },
    )

    result = run_pipeline(project, "orders")

    partial(result, 1)
    assert "amount__v_text" not in table_columns(project, "bronze.orders")
    assert [row["id"] for row in table_rows(project, "bronze.orders", "id")] == [1, 2, 3]
    [reject] = rejects(project)
    assert (reject["line"], reject["column_name"], reject["raw_value"]) == (3, "amount", "abc")
    assert reject["reason"].startswith("'abc' is not a bigint")


def test_a_value_that_does_not_fit_the_tables_column_is_rejected(tmp_path: Path) -> None:
    root = tmp_path / "project"
    project = project_with(root, orders_yaml(), {"landing/a.csv": "id,amount\n1,1\n"})
    assert run_pipeline(project, "orders").error is None
    (root / "landing" / "a.csv").unlink()
    (root / "landing" / "b.csv").write_text("id,amount\n2,abc\n3,3\n")

    result = run_pipeline(project, "orders")

    partial(result, 1)
    assert [row["id"] for row in table_rows(project, "bronze.orders", "id")] == [1, 3]
    [reject] = rejects(project)
    assert reject["reason"] == "'abc' is not a bigint (the type of amount in bronze.orders)"


def test_a_missing_required_value_is_a_rejected_row(tmp_path: Path) -> None:
    project = project_with(
        tmp_path / "project",
        orders_yaml(
            "{id: {data_type: bigint, nullable: false}}",
            extra="    write_disposition: merge\n    primary_key: [id, day]\n",
        ),
        {"landing/orders.csv": "id,day,amount\n1,mon,5\n,tue,6\n3,,7\n"},
    )

    result = run_pipeline(project, "orders")

    partial(result, 2)
    assert table_rows(project, "bronze.orders", "id", "amount") == [{"id": 1, "amount": 5}]
    assert [(r["line"], r["column_name"], r["reason"]) for r in rejects(project)] == [
        (3, "id", "missing required value"),
        (4, "day", "missing required value (primary key)"),
    ]


def test_a_malformed_line_is_a_rejected_row_and_the_good_files_land(tmp_path: Path) -> None:
    project = project_with(
        tmp_path / "project",
        orders_yaml(),
        {
            "landing/a.csv": "id,amount,qty\n1,1,1\n",
            "landing/b.csv": 'id,amount,qty\n2,2,2\n4,4,4,4\n5,"5\n',
        },
    )

    result = run_pipeline(project, "orders")

    partial(result, 2)
    assert [row["id"] for row in table_rows(project, "bronze.orders", "id")] == [1, 2]
    first, second = rejects(project)
    assert (first["line"], first["column_name"], first["raw_value"]) == (3, None, "4,4,4,4")
    assert first["reason"] == "malformed line: 4 fields, the header has 3"
    assert first["source_file"].endswith("landing/b.csv")
    assert second["line"] == 4 and second["reason"].startswith("malformed line")


def test_a_malformed_json_line_is_a_rejected_row(tmp_path: Path) -> None:
    project = project_with(
        tmp_path / "project",
        orders_yaml(glob="*.jsonl"),
        {"landing/orders.jsonl": '{"id": 1}\n{oops\n[2]\n{"id": 3}\n'},
    )

    result = run_pipeline(project, "orders")

    partial(result, 2)
    assert [row["id"] for row in table_rows(project, "bronze.orders", "id")] == [1, 3]
    assert [(r["line"], r["raw_value"]) for r in rejects(project)] == [(2, "{oops"), (3, "[2]")]
    assert rejects(project)[1]["reason"] == "malformed line: not a JSON object"


def test_rows_of_a_custom_source_are_rejected_with_their_record_number(tmp_path: Path) -> None:
    project = project_with(
        tmp_path / "project",
        """\
        ingestion:
          - name: orders
            destination: bronze.orders
            dlt:
              source: documented_sources:orders
              config:
                rows: [{id: 1, qty: 2}, {id: 2, qty: two}, {id: 3, qty: 4}]
              columns: {qty: {data_type: bigint}}
        """,
        {},
    )

    result = run_pipeline(project, "orders")

    partial(result, 1)
    [reject] = rejects(project)
    assert (reject["source_file"], reject["line"], reject["record_number"]) == (None, None, 2)
    assert reject["raw_record"] == '{"id": 2, "qty": "two"}'


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> datetime:
    """Now is 2026-12-01 20:00 UTC: already 2026-12-02 in Pacific/Kiritimati (UTC+14)."""
    now = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
    monkeypatch.setattr(columns_module, "utc_now", lambda: now)
    return now


def test_a_date_after_today_is_a_rejected_row(tmp_path: Path, clock: datetime) -> None:
    project = project_with(
        tmp_path / "project",
        orders_yaml(
            "{day: {data_type: date}, due: {data_type: date, allow_future: true}}",
        ),
        {
            "landing/orders.csv": (
                "id,day,due\n1,2026-12-01,2030-01-01\n2,2026-12-02,2026-12-02\n3,2030-01-01,\n"
            )
        },
    )

    result = run_pipeline(project, "orders")

    partial(result, 2)
    assert table_rows(project, "bronze.orders", "id", "day", "due") == [
        {"id": 1, "day": date(2026, 12, 1), "due": date(2030, 1, 1)}
    ]
    assert [(r["line"], r["reason"]) for r in rejects(project)] == [
        (3, "date in the future: 2026-12-02 is after today, 2026-12-01 in UTC"),
        (4, "date in the future: 2030-01-01 is after today, 2026-12-01 in UTC"),
    ]


def test_today_is_taken_in_the_manifests_time_zone(tmp_path: Path, clock: datetime) -> None:
    root = write_project(
        tmp_path / "project",
        orders_yaml("{day: {data_type: date}}"),
        {"landing/orders.csv": "id,day\n1,2026-12-02\n2,2026-12-03\n"},
    )
    manifest = root / "platform-manifest.yaml"
    manifest.write_text(
        manifest.read_text()
        + "plugins:\n  ingestion:\n    type: dlt\n"
        + "    config: {today_time_zone: Pacific/Kiritimati}\n"
    )
    project = load_project(root)

    result = run_pipeline(project, "orders")

    partial(result, 1)
    assert [row["id"] for row in table_rows(project, "bronze.orders", "id")] == [1]
    assert rejects(project)[0]["reason"] == (
        "date in the future: 2026-12-03 is after today, 2026-12-02 in Pacific/Kiritimati"
    )


def test_an_unknown_time_zone_is_a_config_error(tmp_path: Path) -> None:
    root = write_project(tmp_path / "project", orders_yaml(), {"landing/orders.csv": "id\n1\n"})
    manifest = root / "platform-manifest.yaml"
    manifest.write_text(
        manifest.read_text()
        + "plugins:\n  ingestion:\n    type: dlt\n    config: {today_time_zone: Mars/Olympus}\n"
    )
    with pytest.raises(ConfigError) as excinfo:
        load_project(root)
    assert "unknown time zone 'Mars/Olympus'" in str(excinfo.value)


def _load_ids(table: Table) -> list[str]:
    return [s.summary[LOAD_ID_PROPERTY] for s in table.snapshots() if s.summary]


def test_rejects_and_rows_are_committed_once_when_the_data_commit_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rejects commit and the data commit share the package's load id: a run that fails
    between them is finished by the next, and neither table gets the load twice."""
    project = project_with(
        tmp_path / "project",
        orders_yaml("{amount: {data_type: bigint}}"),
        {"landing/orders.csv": "id,amount\n1,1\n2,abc\n"},
    )
    real_commit = TableCommitter.commit

    def data_commit_fails(self: TableCommitter, load):  # type: ignore[no-untyped-def]
        if self.identifier == "bronze.orders":
            raise TransientIngestionError("CATALOG_DOWN", "simulated", source="test")
        return real_commit(self, load)

    monkeypatch.setattr(TableCommitter, "commit", data_commit_fails)
    failed = run_pipeline(project, "orders")
    assert failed.error is not None and failed.error.category == ErrorCategory.TRANSIENT
    assert len(rejects(project)) == 1

    monkeypatch.setattr(TableCommitter, "commit", real_commit)
    (tmp_path / "project" / "landing" / "orders.csv").write_text("id,amount\n3,3\n")
    recovered = run_pipeline(project, "orders")

    partial(recovered, 1)  # the recovered load's reject, reported by the run that finished it
    [load_id] = recovered.details["recovered_load_ids"]
    assert _load_ids(_table(project, REJECTS)) == [load_id]
    assert _load_ids(_table(project, "bronze.orders"))[0] == load_id
    assert [row["id"] for row in table_rows(project, "bronze.orders", "id")] == [1, 3]
    assert len(rejects(project)) == 1


def test_a_crash_after_both_commits_commits_nothing_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = project_with(
        tmp_path / "project",
        orders_yaml("{amount: {data_type: bigint}}"),
        {"landing/orders.csv": "id,amount\n1,1\n2,abc\n"},
    )

    def crash(*_args: object) -> None:
        raise RuntimeError("simulated crash after the commits")

    real_retire = plugin_module._retire_package
    monkeypatch.setattr(plugin_module, "_retire_package", crash)
    assert run_pipeline(project, "orders").error is not None
    monkeypatch.setattr(plugin_module, "_retire_package", real_retire)
    (tmp_path / "project" / "landing" / "orders.csv").unlink()
    (tmp_path / "project" / "landing" / "more.csv").write_text("id,amount\n3,3\n")

    recovered = run_pipeline(project, "orders")

    partial(recovered, 1)  # the crashed run never reported them: the run finishing it does
    assert len(rejects(project)) == 1
    assert len(_load_ids(_table(project, REJECTS))) == 1
    assert [row["id"] for row in table_rows(project, "bronze.orders", "id")] == [1, 3]


def test_frozen_columns_refuse_a_new_column(tmp_path: Path) -> None:
    root = tmp_path / "project"
    project = project_with(
        root,
        orders_yaml().replace(
            "      config:", "      schema_contract: {columns: freeze}\n      config:"
        ),
        {"landing/a.csv": "id,amount\n1,1\n"},
    )
    assert run_pipeline(project, "orders").error is None
    (root / "landing" / "a.csv").write_text("id,amount,extra\n2,2,x\n")

    result = run_pipeline(project, "orders")

    assert result.error is not None
    assert (result.error.category, result.error.code) == (
        ErrorCategory.PERMANENT,
        "SCHEMA_CONTRACT_VIOLATION",
    )
    assert "extra" in result.error.message
    assert table_columns(project, "bronze.orders") == ["id", "amount", "_dlt_load_id", "_dlt_id"]


def test_discard_value_drops_a_new_column_and_keeps_the_row(tmp_path: Path) -> None:
    root = tmp_path / "project"
    project = project_with(
        root,
        orders_yaml().replace(
            "      config:", "      schema_contract: {columns: discard_value}\n      config:"
        ),
        {"landing/a.csv": "id,amount\n1,1\n"},
    )
    assert run_pipeline(project, "orders").error is None
    (root / "landing" / "a.csv").write_text("id,amount,extra\n2,2,x\n")

    result = run_pipeline(project, "orders")

    assert result.error is None
    assert "extra" not in table_columns(project, "bronze.orders")
    assert [row["id"] for row in table_rows(project, "bronze.orders", "id")] == [1, 2]


def test_a_bad_schema_contract_is_a_config_error(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "project",
        orders_yaml().replace(
            "      config:", "      schema_contract: {columns: lock}\n      config:"
        ),
        {"landing/orders.csv": "id\n1\n"},
    )
    with pytest.raises(ConfigError) as excinfo:
        load_project(root)
    assert "dlt.schema_contract" in str(excinfo.value)


def test_a_destination_cannot_be_another_entrys_rejects_table(tmp_path: Path) -> None:
    root = write_project(
        tmp_path / "project",
        orders_yaml()
        + "  - name: orders_rejected\n"
        + "    destination: bronze.orders__rejected\n"
        + "    dlt: {source: documented_sources:orders, config: {rows: []}}\n",
        {"landing/orders.csv": "id\n1\n"},
    )
    with pytest.raises(ConfigError) as excinfo:
        load_project(root)
    assert "ingestion[1].destination: 'bronze.orders__rejected' is where ingestion[0] keeps" in (
        str(excinfo.value)
    )


def test_arrow_rows_are_rejected_too(tmp_path: Path, clock: datetime) -> None:
    """Parquet read as Arrow: typed dates checked vectorized, text converted, nulls found."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    root = write_project(
        tmp_path / "project",
        orders_yaml(
            "{day: {data_type: date}, qty: {data_type: bigint}}",
            extra="    write_disposition: merge\n    primary_key: [id]\n",
            glob="*.parquet",
        ).replace(
            'file_glob: "*.parquet"}',
            'file_glob: "*.parquet", reader_options: {use_pyarrow: true}}',
        ),
    )
    (root / "landing").mkdir()
    pq.write_table(
        pa.table(
            {
                "id": [1, 2, None, 4],
                "day": [date(2026, 12, 1), date(2030, 1, 1), date(2026, 1, 1), date(2026, 1, 2)],
                "qty": ["1", "2", "3", "four"],
            }
        ),
        root / "landing" / "orders.parquet",
    )
    project = load_project(root)

    result = run_pipeline(project, "orders")

    partial(result, 3)
    assert table_rows(project, "bronze.orders", "id", "day", "qty") == [
        {"id": 1, "day": date(2026, 12, 1), "qty": 1}
    ]
    assert [(r["record_number"], r["column_name"], r["raw_value"]) for r in rejects(project)] == [
        (2, "day", "2030-01-01"),
        (3, "id", None),
        (4, "qty", "four"),
    ]


def test_lines_are_counted_through_quoted_newlines_and_bad_bytes(tmp_path: Path) -> None:
    root = write_project(tmp_path / "project", orders_yaml(), {})
    (root / "landing").mkdir()
    (root / "landing" / "orders.csv").write_bytes(
        b'id,note\n1,"two\nlines"\n2,caf\xe9\n3,ok\n4,x,y\n'
    )
    project = load_project(root)

    result = run_pipeline(project, "orders")

    partial(result, 2)
    assert table_rows(project, "bronze.orders", "id", "note") == [
        {"id": 1, "note": "two\nlines"},
        {"id": 3, "note": "ok"},
    ]
    assert [(r["line"], r["record_number"], r["reason"]) for r in rejects(project)] == [
        (4, 2, "malformed line: not valid utf-8"),
        (6, 4, "malformed line: 3 fields, the header has 2"),
    ]
