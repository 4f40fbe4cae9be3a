"""Parse a YAML file into plain data plus a map from every key path to its line.

PyYAML's node API (``yaml.compose``) keeps positions, which ``yaml.safe_load`` throws away;
building the data ourselves from the nodes lets every later error, pydantic's or ours, name the
line. ``${VAR}`` interpolation happens here, on string scalars, for the same reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from platform_defs.config.errors import ConfigIssue
from platform_defs.config.interpolation import UndefinedVariableError, interpolate

KeyPath = tuple[str | int, ...]
_STR_TAG = "tag:yaml.org,2002:str"


def render_path(path: KeyPath) -> str:
    """``("ingestion", 2, "dlt", "config", "s3.bucket")``
    -> ``ingestion[2].dlt.config["s3.bucket"]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.isidentifier():
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]".replace("'", '"')
    return out


@dataclass
class YamlSource:
    """A parsed config file: its data, where each key was, and the problems met on the way."""

    display_name: str
    """How messages name the file (as given, relative to the project directory)."""
    path: Path
    data: Any = None
    lines: dict[KeyPath, int] = field(default_factory=dict)
    issues: list[ConfigIssue] = field(default_factory=list)

    def line_of(self, path: KeyPath) -> int | None:
        """The line of ``path``, or of its nearest ancestor that exists (a missing key is
        reported where its parent block starts)."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return None

    def issue(self, path: KeyPath, message: str) -> ConfigIssue:
        return ConfigIssue(self.display_name, self.line_of(path), render_path(path), message)


def read_yaml(
    path: Path, display_name: str, *, environ: Mapping[str, str] | None = None
) -> YamlSource:
    """Read and parse ``path``; problems end up in ``source.issues`` rather than raised."""
    source = YamlSource(display_name=display_name, path=path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        source.issues.append(ConfigIssue(display_name, None, "", f"file not found: {path}"))
        return source
    except OSError as exc:
        source.issues.append(ConfigIssue(display_name, None, "", f"cannot read: {exc}"))
        return source

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        line, message = _syntax_problem(text, exc)
        source.issues.append(ConfigIssue(display_name, line, "", message))
        return source
    except yaml.YAMLError as exc:
        source.issues.append(ConfigIssue(display_name, None, "", f"invalid YAML: {exc}"))
        return source

    # An empty file is an empty mapping (the manifest's defaults apply); the loader rejects a
    # floe.yaml without pipelines.
    if root is None:
        source.data = {}
        source.lines[()] = 1
        return source
    source.data = _Builder(source, environ).build(root, ())
    return source


def _syntax_problem(text: str, exc: yaml.MarkedYAMLError) -> tuple[int | None, str]:
    """The line and message for a YAML syntax error: PyYAML's, except for an unclosed quote,
    which PyYAML reports where it gave up (the next quote, or the end of the file) instead of
    where the quote opens."""
    unclosed = _unclosed_quote(text, exc)
    if unclosed is not None:
        return unclosed
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark is not None else None
    return line, f"invalid YAML: {exc.problem or exc.context or 'cannot parse'}"


_RUNAWAY_QUOTE = ("found unexpected end of stream", "found unexpected document separator")


def _unclosed_quote(text: str, exc: yaml.MarkedYAMLError) -> tuple[int, str] | None:
    start = exc.context_mark
    if exc.context == "while scanning a quoted scalar" and exc.problem in _RUNAWAY_QUOTE:
        # No closing quote anywhere after it: the scanner's context mark is the quote itself.
        if start is None:
            return None
        quote = text[start.index] if start.index < len(text) else "quote"
        return start.line + 1, f"unclosed quote: the {quote} opened on this line is never closed"
    problem = exc.problem_mark
    if problem is None:
        return None
    # Otherwise the quote was closed by the next one in the file, lines further on, and the
    # parser failed on what followed it: the token just before the problem is that value.
    previous: yaml.Token | None = None
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if token.start_mark.index >= problem.index:
                break
            previous = token
    except yaml.YAMLError:
        pass
    if not isinstance(previous, yaml.ScalarToken) or previous.style not in ('"', "'"):
        return None
    opened, closed = previous.start_mark.line, previous.end_mark.line
    if closed <= opened or problem.line < closed:
        return None
    return opened + 1, (
        f"unclosed quote: the {previous.style} opened on this line is not closed on it, "
        f"so the value runs on to line {closed + 1}"
    )


class _Builder:
    """Turns composed nodes into dicts, lists and scalars, recording lines as it goes."""

    def __init__(self, source: YamlSource, environ: Mapping[str, str] | None) -> None:
        self.source = source
        self.environ = environ
        self.constructor = yaml.SafeLoader("")  # only its scalar constructors are used

    def build(self, node: yaml.Node, path: KeyPath) -> Any:
        self.source.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        return self._scalar(node, path)

    def _mapping(self, node: yaml.MappingNode, path: KeyPath) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:  # explicit keys only: `<<` merges may be overridden
            if isinstance(key_node, yaml.ScalarNode) and key_node.value != "<<":
                key = self.constructor.construct_object(key_node)
                if key in seen:
                    self.source.issues.append(
                        ConfigIssue(
                            self.source.display_name,
                            key_node.start_mark.line + 1,
                            render_path((*path, key)),
                            f"duplicate key '{key}'",
                        )
                    )
                seen.add(key)
        self.constructor.flatten_mapping(node)  # resolves `<<: *anchor` merge keys

        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self.source.issues.append(
                    ConfigIssue(
                        self.source.display_name,
                        key_node.start_mark.line + 1,
                        render_path(path),
                        "keys must be plain values, not lists or mappings",
                    )
                )
                continue
            key = self.constructor.construct_object(key_node)
            child = (*path, key)
            self.source.lines[child] = key_node.start_mark.line + 1  # the last duplicate wins
            result[key] = self.build(value_node, child)
        return result

    def _scalar(self, node: yaml.Node, path: KeyPath) -> Any:
        value = self.constructor.construct_object(node)
        if node.tag != _STR_TAG or "$" not in value:
            return value
        try:
            return interpolate(value, self.environ)
        except UndefinedVariableError as exc:
            self.source.issues.append(self.source.issue(path, str(exc)))
            return value
