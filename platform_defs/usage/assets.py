"""The two daily-partitioned bronze usage assets, fed by the usage push API.

One partition is one UTC day of the ops store's usage tables (all ports): materializing it
replaces that day's Iceberg partition with the day's committed rows (``bronze.py``). The
``usage_pushes`` sensor (``sensors.py``) requests the partitions each new push touched.

No ``from __future__ import annotations``: Dagster reads the asset's resource annotation.
"""

import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg

from platform_defs.catalog import open_catalog, table_metadata
from platform_defs.config import Project
from platform_defs.ops.resource import OpsStoreResource
from platform_defs.usage.bronze import TABLES, UsageTable, commit_day, read_day

GROUP_NAME = "ingestion"
POOL = "floe_usage_pushes"
"""One usage run at a time (dagster.yaml: pools of limit 1, run granularity). Each run reads
the day's rows when it runs, so runs one after the other always leave the latest state; two
at once could commit an older read after a newer one."""
FIRST_DAY = "2020-01-01"
"""The first partition. A pushed day before it is not ingested (the sensor logs it)."""
PARTITIONS = dg.DailyPartitionsDefinition(
    start_date=FIRST_DAY,
    timezone="UTC",
    # Today's partition too: producers may push the current UTC day, before it ends.
    end_offset=1,
)
MAX_PUSHES_SHOWN = 50


def asset_key(table: UsageTable) -> dg.AssetKey:
    """``bronze/<table>``: the key dagster-dbt gives the dbt source ``bronze.<table>``."""
    return dg.AssetKey([*table.identifier.split(".")])


ASSET_KEYS: tuple[dg.AssetKey, ...] = tuple(asset_key(table) for table in TABLES)


def build_usage_asset(project: Project, table: UsageTable) -> dg.AssetsDefinition:
    @dg.asset(
        key=asset_key(table),
        partitions_def=PARTITIONS,
        group_name=GROUP_NAME,
        kinds={"api", "iceberg"},
        description=table.description,
        pool=POOL,
        metadata={
            "floe/source": "usage push API (ops." + table.name + ")",
            "floe/write_disposition": "replace_where date = <partition day>",
        },
        tags={"floe/source": "usage_pushes"},
    )
    def _usage(
        context: dg.AssetExecutionContext, ops_store: OpsStoreResource
    ) -> dg.MaterializeResult:
        catalog = open_catalog(project.plugin_context())
        days: list[dict[str, Any]] = []
        rows = 0
        sequences: set[int] = set()
        for key in context.partition_keys:  # one day, or a range of them (the sensor's)
            day = date.fromisoformat(key)
            with ops_store.session() as session:
                state = read_day(session, table, day)
            with tempfile.TemporaryDirectory(prefix="floe-usage-") as work_dir:
                outcome = commit_day(catalog, state, Path(work_dir))
            if outcome.already_committed:
                context.log.info(f"{table.identifier} {day}: this version is committed already")
            rows += state.rows.num_rows
            sequences.update(sequence for sequence, _ in state.pushes)
            days.append(
                {
                    "date": key,
                    "rows": state.rows.num_rows,
                    "load_id": state.load_id,
                    "max_push_sequence": state.max_sequence,
                    "pushes_included": len(state.pushes),
                    "pushes": [
                        {"sequence": sequence, "push_id": str(push_id)}
                        for sequence, push_id in state.pushes[-MAX_PUSHES_SHOWN:]
                    ],
                    **outcome.as_details(),
                }
            )
        metadata: dict[str, Any] = {
            **table_metadata(catalog.load_table(table.identifier)),
            "rows_loaded": dg.MetadataValue.int(rows),
            "floe/days": dg.MetadataValue.json(days),
            "floe/pushes_included": dg.MetadataValue.int(len(sequences)),
        }
        if len(days) == 1:  # the partition's own figures
            [day_details] = days
            metadata["dagster/partition_row_count"] = dg.MetadataValue.int(rows)
            metadata["floe/load_id"] = dg.MetadataValue.text(day_details["load_id"])
            if day_details["snapshot_id"] is not None:  # also when it was committed before
                metadata["iceberg/day_snapshot_id"] = dg.MetadataValue.text(
                    str(day_details["snapshot_id"])
                )
            metadata["floe/already_committed"] = dg.MetadataValue.bool(
                bool(day_details.get("already_committed"))
            )
        return dg.MaterializeResult(metadata=metadata)

    return _usage


def usage_assets(project: Project) -> list[dg.AssetsDefinition]:
    return [build_usage_asset(project, table) for table in TABLES]
