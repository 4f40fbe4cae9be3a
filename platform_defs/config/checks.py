"""Rules that span fields, entries or code: run after the models accept the files.

Each check returns ``(key path, message)`` pairs; the loader turns them into line-numbered
issues next to pydantic's, so ``floe validate`` shows every problem in one go.
"""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.metadata import entry_points
from pathlib import Path

from pydantic import BaseModel, ValidationError

from platform_defs.config.manifest import PlatformManifest
from platform_defs.config.models import (
    BUILT_IN_BLOCKS,
    AirbyteConnection,
    DltSource,
    IngestionPipeline,
    PluginOptions,
)
from platform_defs.config.yaml_source import KeyPath
from plugins.base import IngestionConfig, IngestionPlugin, PluginContext
from plugins.registry import ENTRY_POINT_GROUP, discover_plugins

Finding = tuple[KeyPath, str]
ModelFailure = tuple[KeyPath, type[BaseModel], ValidationError]
"""Where a plugin-owned key sits, the plugin's model for it, and what the model rejected."""
_BLOCK_MODELS: dict[str, type[BaseModel]] = {
    "dlt": DltSource,
    "airbyte": AirbyteConnection,
    "plugin": PluginOptions,
}
Entries = list[tuple[int, IngestionPipeline]]
REJECTS_SUFFIX = "__rejected"
"""``<table>__rejected`` beside a bronze table holds the rows its pipeline rejected."""


def check_manifest(manifest: PlatformManifest) -> list[Finding]:
    findings: list[Finding] = []
    retry = manifest.retry
    if retry.max_delay_seconds < retry.initial_delay_seconds:
        findings.append(
            (
                ("retry", "max_delay_seconds"),
                f"must be >= initial_delay_seconds ({retry.initial_delay_seconds:g}), "
                f"got {retry.max_delay_seconds:g}",
            )
        )
    maintenance = manifest.maintenance
    if maintenance.target_file_bytes <= maintenance.small_file_bytes:
        findings.append(
            (
                ("maintenance", "target_file_bytes"),
                f"must be > small_file_bytes ({maintenance.small_file_bytes}), "
                f"got {maintenance.target_file_bytes}",
            )
        )
    if manifest.secrets.backend == "file" and not manifest.secrets.directory:
        findings.append((("secrets", "directory"), "required when backend is 'file'"))
    return findings


def check_entries(entries: Entries) -> list[Finding]:
    """Plugin blocks match the type, merge has a key, names and destinations are unique."""
    findings: list[Finding] = []
    first_name: dict[str, int] = {}
    first_destination: dict[str, int] = {}
    for i, entry in entries:
        at = ("ingestion", i)
        expected_block, _ = entry.plugin_block
        for block in (*BUILT_IN_BLOCKS, "plugin"):
            present = getattr(entry, block) is not None
            # A third-party plugin's `plugin:` block is optional: its validate() hook decides.
            if block == expected_block and not present and block in BUILT_IN_BLOCKS:
                findings.append(
                    ((*at, block), f"a '{block}:' block is required when type is '{entry.type}'")
                )
            elif block != expected_block and present:
                findings.append(((*at, block), f"not allowed when type is '{entry.type}'"))
        if entry.write_disposition == "merge" and not entry.primary_key:
            findings.append(((*at, "write_disposition"), "'merge' needs a primary_key"))
        if entry.name in first_name:
            findings.append(
                (
                    (*at, "name"),
                    f"duplicate pipeline name '{entry.name}' "
                    f"(already used by ingestion[{first_name[entry.name]}])",
                )
            )
        else:
            first_name[entry.name] = i
        if entry.destination in first_destination:
            findings.append(
                (
                    (*at, "destination"),
                    f"duplicate destination '{entry.destination}' (already written by "
                    f"ingestion[{first_destination[entry.destination]}]); "
                    "each table has one pipeline",
                )
            )
        else:
            first_destination[entry.destination] = i
    for i, entry in entries:
        rejected_of = entry.destination.removesuffix(REJECTS_SUFFIX)
        if rejected_of != entry.destination and rejected_of in first_destination:
            findings.append(
                (
                    ("ingestion", i, "destination"),
                    f"'{entry.destination}' is where ingestion[{first_destination[rejected_of]}] "
                    f"keeps the rows it rejects from {rejected_of}: choose another table",
                )
            )
    return findings


PLUGIN_MODEL_ATTRIBUTES = {"block": "options_model", "incremental": "incremental_model"}
"""The class attributes through which a plugin declares the pydantic models of the entry keys
it owns: its block (``dlt:``, ``plugin:``) and ``incremental:``."""


def plugin_models(
    plugin_class: type[IngestionPlugin], block_key: str
) -> dict[str, type[BaseModel]]:
    """The models of the entry keys ``plugin_class`` owns, by key (``{"dlt": ..., "incremental":
    ...}``). A key without a model is left to the plugin's ``validate()`` hook."""
    models: dict[str, type[BaseModel]] = {}
    for role, attribute in PLUGIN_MODEL_ATTRIBUTES.items():
        model = getattr(plugin_class, attribute, None)
        if isinstance(model, type) and issubclass(model, BaseModel):
            models[block_key if role == "block" else role] = model
    return models


def check_plugin_models(
    entries: Entries, found: dict[str, type[IngestionPlugin]]
) -> list[ModelFailure]:
    """Each entry's plugin-owned keys, validated with the plugin's own models."""
    failures: list[ModelFailure] = []
    for i, entry in entries:
        plugin_class = found.get(entry.type)
        if plugin_class is None:
            continue  # check_plugins reports the unknown type
        block_key, block = entry.plugin_block
        values = {
            block_key: block if getattr(entry, block_key, None) is not None else None,
            "incremental": entry.incremental.model_dump() if entry.incremental else None,
        }
        for key, model in plugin_models(plugin_class, block_key).items():
            if values.get(key) is None:
                continue
            try:
                model.model_validate(values[key])
            except ValidationError as exc:
                failures.append((("ingestion", i, key), model, exc))
    return failures


def check_plugin_settings(
    manifest: PlatformManifest, found: dict[str, type[IngestionPlugin]]
) -> ModelFailure | None:
    """The manifest's ``plugins.ingestion.config``, validated with the model its plugin
    declares (``settings_model``): a bad setting is a `floe validate` error, not a run's."""
    settings = manifest.plugins.ingestion
    model = getattr(found.get(settings.type), "settings_model", None)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return None
    try:
        model.model_validate(dict(settings.config))
    except ValidationError as exc:
        return ("plugins", "ingestion", "config"), model, exc
    return None


def check_sources(entries: Entries, project_dir: Path) -> list[Finding]:
    """Every ``dlt.source`` imports, from the project directory like the platform will."""
    findings: list[Finding] = []
    for i, entry in entries:
        if entry.type == "dlt" and entry.dlt is not None:
            problem = source_import_problem(entry.dlt.source, project_dir)
            if problem:
                findings.append((("ingestion", i, "dlt", "source"), problem))
    return findings


def source_import_problem(source: str, project_dir: Path) -> str | None:
    """Why ``source`` cannot be imported, or None when it can."""
    module_name, _, function_name = source.partition(":")
    try:
        with _importable_from(project_dir):
            module = importlib.import_module(module_name)
    except Exception as exc:  # any import-time failure is the user's to see
        return f"cannot import '{module_name}': {type(exc).__name__}: {exc}"
    if function_name and not hasattr(module, function_name):
        return f"module '{module_name}' has no attribute '{function_name}'"
    if function_name and not callable(getattr(module, function_name)):
        return f"'{source}' is not callable"
    return None


@contextmanager
def _importable_from(directory: Path) -> Iterator[None]:
    entry = str(directory)
    added = entry not in sys.path
    if added:
        sys.path.insert(0, entry)
    try:
        yield
    finally:
        if added and entry in sys.path:
            sys.path.remove(entry)


def installed_plugins() -> tuple[dict[str, type[IngestionPlugin]], dict[str, str]]:
    """Installed plugin classes by type, and the types whose entry point failed to load."""
    try:
        return discover_plugins(), {}
    except Exception:
        pass
    # One broken plugin must not hide the others: load them one by one to name the culprit.
    found: dict[str, type[IngestionPlugin]] = {}
    broken: dict[str, str] = {}
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            plugin_class = entry_point.load()
        except Exception as exc:
            broken[entry_point.name] = f"{type(exc).__name__}: {exc}"
            continue
        if isinstance(plugin_class, type) and issubclass(plugin_class, IngestionPlugin):
            found[entry_point.name] = plugin_class
        else:
            broken[entry_point.name] = f"{entry_point.value} is not an IngestionPlugin subclass"
    return found, broken


def plugin_type_problem(
    plugin_type: str, found: dict[str, type[IngestionPlugin]], broken: dict[str, str]
) -> str | None:
    if plugin_type in found:
        return None
    if plugin_type in broken:
        return f"plugin '{plugin_type}' is installed but fails to load: {broken[plugin_type]}"
    installed = ", ".join(sorted(found)) or "none"
    return f"unknown plugin '{plugin_type}' (installed: {installed})"


def check_plugins(
    entries: Entries,
    found: dict[str, type[IngestionPlugin]],
    broken: dict[str, str],
    context_for: Callable[[str], PluginContext] | None,
    config_for: Callable[[IngestionPipeline], IngestionConfig],
    skip: set[int],
) -> list[Finding]:
    """Each entry's type is installed, then the plugin's own ``validate()`` hook.

    ``context_for`` is None when the manifest is invalid (no context to build: hooks skipped);
    ``skip`` holds entries whose earlier problems would make the hook repeat them.
    """
    findings: list[Finding] = []
    for i, entry in entries:
        problem = plugin_type_problem(entry.type, found, broken)
        if problem:
            findings.append((("ingestion", i, "type"), problem))
            continue
        if context_for is None or i in skip:
            continue
        try:
            plugin = found[entry.type](context_for(entry.type))
            pairs = plugin.validate(config_for(entry))
        except Exception as exc:  # a plugin bug must not hide the other findings
            findings.append(
                (
                    ("ingestion", i, "type"),
                    f"plugin '{entry.type}' failed to validate this entry: "
                    f"{type(exc).__name__}: {exc}",
                )
            )
            continue
        for key, message in pairs:
            findings.append((hook_key_path(i, entry, key), message))
    return findings


def hook_key_path(index: int, entry: IngestionPipeline, key: str) -> KeyPath:
    """Where a ``validate()`` key points: inside the plugin block (the contract:
    ``config.bucket_url`` -> ``ingestion[i].dlt.config.bucket_url``), or at the entry when the
    key names an entry field the block does not have (``primary_key``, ``incremental``)."""
    parts = parse_key(key)
    block_key, _ = entry.plugin_block
    block = _BLOCK_MODELS[block_key]
    head = parts[0] if parts else None
    if head in IngestionPipeline.model_fields and head not in block.model_fields:
        return ("ingestion", index, *parts)
    return ("ingestion", index, block_key, *parts)


_KEY_PART = re.compile(r"\[(\d+)\]|\[\"([^\"]*)\"\]|\['([^']*)'\]|([^.\[\]]+)")


def parse_key(key: str) -> KeyPath:
    """``config.paths[0]`` -> ``("config", "paths", 0)`` (a plugin hook's relative key)."""
    parts: list[str | int] = []
    for index, double, single, name in _KEY_PART.findall(key):
        if index:
            parts.append(int(index))
        else:
            parts.append(double or single or name)
    return tuple(parts)
