"""Turn pydantic's ``ValidationError`` into line-numbered, human :class:`ConfigIssue` s.

Pydantic's messages are written for programmers (``Input should be 'append', 'replace' or
'merge'``); a data engineer reading ``floe validate`` wants ``'upsert' is not one of append,
replace, merge`` at the right line. Types we do not recognise keep pydantic's message.
"""

from __future__ import annotations

import difflib
import re
import types
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from platform_defs.config.errors import ConfigIssue
from platform_defs.config.models import PATTERN_DESCRIPTIONS
from platform_defs.config.yaml_source import KeyPath, YamlSource

_EXPECTED_TYPES = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}


def validation_issues(
    exc: ValidationError, source: YamlSource, model: type[BaseModel], prefix: KeyPath = ()
) -> list[ConfigIssue]:
    """One issue per pydantic error; ``prefix`` is where ``model`` sits in the file."""
    issues = []
    for error in exc.errors(include_url=False):
        loc: KeyPath = tuple(part for part in error["loc"] if part != "[key]")
        message = _message(error, model, loc)
        issues.append(source.issue((*prefix, *loc), message))
    return issues


def describe(value: Any) -> str:
    """A short, safe rendering of a YAML value for messages."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _message(error: ErrorDetails, model: type[BaseModel], loc: KeyPath) -> str:
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    if kind in ("literal_error", "enum"):
        return f"{describe(value)} is not one of {', '.join(_choices(str(ctx['expected'])))}"
    if kind == "extra_forbidden":
        key = loc[-1] if loc else "?"
        hint = _suggestion(model, loc[:-1], str(key))
        return f"unknown key '{key}'" + (f" (did you mean '{hint}'?)" if hint else "")
    if kind == "missing":
        return "missing required key"
    if kind in _EXPECTED_TYPES:
        return f"expected {_EXPECTED_TYPES[kind]}, got {describe(value)}"
    if kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern", ""))
        wanted = PATTERN_DESCRIPTIONS.get(pattern, f"matching {pattern}")
        return f"{describe(value)} is not valid: expected {wanted}"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        sign = {"greater_than_equal": ">=", "greater_than": ">"}.get(kind) or (
            "<=" if kind == "less_than_equal" else "<"
        )
        bound = next(iter(ctx.values()), "?")
        return f"must be {sign} {bound}, got {describe(value)}"
    if kind == "string_too_short" and ctx.get("min_length") == 1:
        return "must not be empty"
    if kind in ("value_error", "assertion_error"):
        return re.sub(r"^(Value|Assertion) error, ", "", error["msg"])
    return error["msg"]


def _choices(expected: str) -> list[str]:
    """``"'append', 'replace' or 'merge'"`` -> ``["append", "replace", "merge"]``."""
    return [part.strip().strip("'") for part in re.split(r", | or ", expected) if part.strip()]


def _suggestion(model: type[BaseModel], loc: KeyPath, key: str) -> str | None:
    target = _model_at(model, loc)
    if target is None:
        return None
    matches = difflib.get_close_matches(key, list(target.model_fields), n=1, cutoff=0.6)
    return matches[0] if matches else None


def _model_at(annotation: Any, loc: KeyPath) -> type[BaseModel] | None:
    """The model class found at ``loc`` below ``annotation``, following lists and dicts."""
    current = annotation
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return None
            current = field.annotation
        elif get_origin(current) is list and isinstance(part, int):
            current = get_args(current)[0]
        elif get_origin(current) is dict:
            current = get_args(current)[1]
        else:
            return None
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap(annotation: Any) -> Any:
    """Strip ``Annotated[...]`` and ``X | None`` down to ``X``."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            members = [arg for arg in get_args(annotation) if arg is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation
