"""dbt marts as Dagster assets (dagster-dbt): one graph from bronze sources to marts.

dbt sources `bronze.<table>` map to the asset keys `bronze/<table>` that the ingestion assets
own, so the UI shows one connected graph; dbt tests become asset checks (source tests on the
bronze assets). Marts rebuild by declarative automation: eagerly, whenever a bronze input has
been updated and nothing upstream is missing or failing.
"""

import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    dbt_assets,
)
from pyiceberg.catalog import Catalog

from platform_defs.catalog import open_catalog
from platform_defs.config import Project
from platform_defs.transform.project import dbt_executable, dbt_project
from platform_defs.usage.assets import ASSET_KEYS as PUSHED_USAGE_ASSETS
from platform_defs.usage.bronze import TABLES as USAGE_TABLES
from platform_defs.usage.bronze import ensure_table


class FloeDbtTranslator(DagsterDbtTranslator):
    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "source":
            return None
        # models/staging/... -> "staging", models/marts/... -> "marts"
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "marts"

    def get_automation_condition(
        self, dbt_resource_props: Mapping[str, Any]
    ) -> dg.AutomationCondition | None:
        if dbt_resource_props["resource_type"] == "source":
            return None
        return marts_condition()


def marts_condition() -> dg.AutomationCondition:
    """Eager, except that the daily-partitioned bronze usage tables never count as missing.

    Plain ``eager()`` waits until no dependency is missing, and for a daily-partitioned
    parent that means every day since its first partition: the usage models would never
    rebuild. A model still waits for any of their runs in progress, and rebuilds once one
    of their partitions was updated (platform_defs/usage)."""
    return dg.AutomationCondition.eager().replace(
        "any_deps_missing",
        dg.AutomationCondition.any_deps_missing().ignore(
            dg.AssetSelection.assets(*PUSHED_USAGE_ASSETS)
        ),
    )


TRANSLATOR = FloeDbtTranslator(
    settings=DagsterDbtTranslatorSettings(
        enable_asset_checks=True, enable_source_tests_as_checks=True
    )
)


def missing_bronze_tables(project: Project, catalog: Catalog, tables: list[str]) -> list[str]:
    """Messages for bronze tables dbt reads that are not in the catalog, naming their pipeline."""
    producers = {p.destination: p.name for p in project.floe.ingestion}
    messages = []
    for table in tables:
        if catalog.table_exists(table):
            continue
        producer = producers.get(table)
        hint = (
            f"it is produced by floe.yaml pipeline '{producer}': materialize asset "
            f"{table.replace('.', '/')} first"
            if producer
            else "no floe.yaml pipeline has it as its destination"
        )
        messages.append(f"bronze table {table} is missing from catalog: {hint}")
    return messages


def _source_tables(manifest: Mapping[str, Any]) -> list[str]:
    return sorted(
        f"{source['source_name']}.{source['name']}" for source in manifest["sources"].values()
    )


def _bronze_tables_read(
    context: dg.AssetExecutionContext, assets: dg.AssetsDefinition, source_tables: list[str]
) -> list[str]:
    """The dbt sources the selected models read directly, and those whose tests are selected."""
    upstream = {
        dep for key in context.selected_asset_keys for dep in assets.asset_deps.get(key, ())
    }
    upstream |= {check.asset_key for check in context.selected_asset_check_keys}
    return sorted({".".join(key.path) for key in upstream} & set(source_tables))


def _downstream_of(
    roots: Iterable[dg.AssetKey], asset_deps: Mapping[dg.AssetKey, Iterable[dg.AssetKey]]
) -> set[dg.AssetKey]:
    """Every dbt asset that reads one of `roots`, directly or through other dbt assets."""
    reached = set(roots)
    grew = True
    while grew:
        grew = False
        for key, deps in asset_deps.items():
            if key not in reached and reached.intersection(deps):
                reached.add(key)
                grew = True
    return reached - set(roots)


def _missing_inputs_failure(
    problems: list[str], not_built: list[str], *, rest_failed: bool = False
) -> dg.Failure:
    description = "; ".join(problems)
    if not_built:
        description += f". Not built, they read it: {', '.join(not_built)}"
    if rest_failed:
        description += ". The build of the rest failed too: see the dbt log"
    return dg.Failure(
        description=description,
        metadata={
            "missing_tables": dg.MetadataValue.json(problems),
            "not_built": dg.MetadataValue.json(not_built),
        },
        allow_retries=False,
    )


def build_dbt_assets(project: Project, manifest_path: Path) -> dg.AssetsDefinition:
    manifest = json.loads(manifest_path.read_text())
    source_tables = _source_tables(manifest)

    @dbt_assets(manifest=manifest, dagster_dbt_translator=TRANSLATOR, name="floe_dbt")
    def floe_dbt_assets(context: dg.AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
        # Only the bronze tables this run reads: a subset run must not fail on an unrelated one.
        needed = _bronze_tables_read(context, floe_dbt_assets, source_tables)
        catalog = open_catalog(project.plugin_context())
        # The push-fed usage tables exist from the start, empty until the first push is
        # ingested: their marts build (empty) instead of failing for a missing input.
        for table in USAGE_TABLES:
            if table.identifier in needed:
                ensure_table(catalog, table)
        missing = [table for table in needed if not catalog.table_exists(table)]
        if not missing:
            yield from dbt.cli(["build"], context=context).stream()
            return

        # A mart fails only for its own missing inputs (issue 7, item 13): leave out what reads
        # a missing table, build the rest, then fail naming the table and what was left out.
        problems = missing_bronze_tables(project, catalog, missing)
        missing_keys = {dg.AssetKey(table.split(".")) for table in missing}
        blocked = _downstream_of(missing_keys, floe_dbt_assets.asset_deps) | missing_keys
        not_built = sorted(key.to_user_string() for key in context.selected_asset_keys & blocked)
        runnable = context.selected_asset_keys - blocked
        runnable_checks = {
            check for check in context.selected_asset_check_keys if check.asset_key not in blocked
        }
        if not runnable and not runnable_checks:
            raise _missing_inputs_failure(problems, not_built)
        exclude = " ".join(f"source:{table}+" for table in missing)
        invocation = dbt.cli(["build", "--exclude", exclude], context=context, raise_on_error=False)
        yield from invocation.stream()
        raise _missing_inputs_failure(
            problems, not_built, rest_failed=not invocation.is_successful()
        )

    return floe_dbt_assets


def transform_definitions(project: Project) -> dg.Definitions:
    dbt = dbt_project(project)
    return dg.Definitions(
        assets=[build_dbt_assets(project, dbt.manifest_path)],
        resources={"dbt": DbtCliResource(project_dir=dbt, dbt_executable=dbt_executable())},
        sensors=[
            dg.AutomationConditionSensorDefinition(
                "marts_automation",
                target=dg.AssetSelection.all(),
                default_status=dg.DefaultSensorStatus.RUNNING,
                description="Rebuilds the marts once their bronze inputs have been updated.",
            )
        ],
    )
