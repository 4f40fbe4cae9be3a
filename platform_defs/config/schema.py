"""Generate the JSON Schemas of both config files from the models.

Editors use them for completion and inline errors (``# yaml-language-server: $schema=...``).
The committed copies in ``schemas/`` must match the models; a unit test checks that.

    python -m platform_defs.config.schema   # rewrite schemas/*.json (same as `floe schema --write`)
    floe schema --check                     # exit 1 when they are stale
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, create_model

from platform_defs.config.checks import plugin_models
from platform_defs.config.loader import REPO_ROOT
from platform_defs.config.manifest import PlatformManifest
from platform_defs.config.models import FloeConfig, IngestionPipeline
from plugins.registry import get_plugin_class

SCHEMA_DIR = REPO_ROOT / "schemas"
REGENERATE_COMMAND = "uv run python -m platform_defs.config.schema"
BUILT_IN_PLUGIN = "dlt"
"""The plugin whose models describe the ``dlt:`` block and ``incremental:`` in the schema."""


def floe_model(plugin_type: str = BUILT_IN_PLUGIN) -> type[BaseModel]:
    """``floe.yaml``'s model with the keys the plugin owns typed by the plugin's own models
    (``dlt:`` -> ``DltBlock``, ``incremental:`` -> ``DltIncremental``): the schema documents
    exactly what the loader validates."""
    models = plugin_models(get_plugin_class(plugin_type), plugin_type)
    fields: dict[str, Any] = {}
    for key, model in models.items():
        declared = IngestionPipeline.model_fields[key]
        fields[key] = (model | None, Field(default=None, description=declared.description))
    entry: Any = create_model(  # type: ignore[call-overload]  # fields built at run time
        "IngestionPipeline", __base__=IngestionPipeline, __doc__=IngestionPipeline.__doc__, **fields
    )
    declared = FloeConfig.model_fields["ingestion"]
    floe: type[BaseModel] = create_model(
        "FloeConfig",
        __base__=FloeConfig,
        __doc__=FloeConfig.__doc__,
        ingestion=(list[entry], Field(default_factory=list, description=declared.description)),
    )
    return floe


def _models() -> dict[str, type[BaseModel]]:
    return {"floe.schema.json": floe_model(), "platform-manifest.schema.json": PlatformManifest}


def json_schemas() -> dict[str, dict[str, Any]]:
    """File name -> JSON Schema (draft 2020-12, what pydantic emits)."""
    schemas = {}
    for file_name, model in _models().items():
        schema = model.model_json_schema(mode="validation")
        schemas[file_name] = {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
    return schemas


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def write_schemas(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for file_name, schema in json_schemas().items():
        path = directory / file_name
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written


def stale_schemas(directory: Path = SCHEMA_DIR) -> list[Path]:
    """The committed schema files that differ from what the models generate."""
    stale = []
    for file_name, schema in json_schemas().items():
        path = directory / file_name
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current != render(schema):
            stale.append(path)
    return stale


if __name__ == "__main__":
    import sys

    from platform_defs.cli import main

    # `floe schema` owns the output; this entry point is kept for `python -m` habits.
    raise SystemExit(main(["schema", *(sys.argv[1:] or ["--write"])]))
