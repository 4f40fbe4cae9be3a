"""The committed JSON Schemas match the models."""

from __future__ import annotations

import json

import pytest

from platform_defs.config import schema

pytestmark = pytest.mark.unit


def test_committed_schemas_are_current() -> None:
    stale = schema.stale_schemas()
    assert not stale, (
        f"JSON Schemas out of date: {', '.join(p.name for p in stale)}. "
        f"Run: {schema.REGENERATE_COMMAND}"
    )


def test_schemas_document_every_field() -> None:
    for file_name, generated in schema.json_schemas().items():
        objects = {"(root)": generated, **generated.get("$defs", {})}
        undocumented = [
            f"{name}.{field}"
            for name, definition in objects.items()
            for field, prop in definition.get("properties", {}).items()
            if "description" not in prop
        ]
        assert undocumented == [], file_name
        assert json.loads(schema.render(generated))["additionalProperties"] is False
