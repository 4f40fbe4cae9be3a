"""Load ``floe.yaml`` and ``platform-manifest.yaml`` into a validated :class:`Project`.

Everything wrong with either file — YAML syntax, undefined ``${VAR}``, pydantic errors,
cross-field rules, imports, plugin hooks — is collected and raised at once as a
:class:`ConfigError`, each issue with its file, line and key path.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from platform_defs.config import checks
from platform_defs.config.errors import ConfigError, ConfigIssue
from platform_defs.config.manifest import PlatformManifest
from platform_defs.config.models import FloeConfig, IngestionPipeline
from platform_defs.config.pydantic_issues import validation_issues
from platform_defs.config.secrets import SecretNotFoundError, SecretValues
from platform_defs.config.yaml_source import KeyPath, YamlSource, read_yaml
from plugins.base import IngestionConfig, IngestionPlugin, PluginContext

FLOE_FILE = "floe.yaml"
MANIFEST_FILE = "platform-manifest.yaml"
PROJECT_DIR_ENV = "FLOE_PROJECT_DIR"
REPO_ROOT = Path(__file__).resolve().parents[2]
"""The repository root (parent of the ``platform_defs`` package): the last-resort project."""

_M = TypeVar("_M", bound=BaseModel)


@dataclass(frozen=True)
class Project:
    """A validated floe project: the two files, and how plugins see them."""

    root: Path
    floe: FloeConfig
    manifest: PlatformManifest
    sources: Mapping[str, YamlSource] = field(default_factory=dict, repr=False, compare=False)
    """The parsed files by role (``"floe"``, ``"manifest"``), to point later errors at lines."""

    def pipeline(self, name: str) -> IngestionPipeline:
        for entry in self.floe.ingestion:
            if entry.name == name:
                return entry
        known = ", ".join(entry.name for entry in self.floe.ingestion) or "none"
        raise KeyError(f"no ingestion pipeline named {name!r} in floe.yaml (known: {known})")

    def plugin_context(self, plugin_type: str | None = None) -> PluginContext:
        """The context to run plugins with: creates the local directories and resolves the
        storage secrets (raises :class:`ConfigError` when one is missing).

        ``plugin_type`` picks whose ``plugins.ingestion.config`` applies (default: the
        manifest's plugin type); other types get an empty plugin config.
        """
        self.manifest.prepare_local_storage()
        try:
            return self._context(plugin_type, resolve_secrets=True)
        except SecretNotFoundError as exc:
            raise ConfigError([self._manifest_secret_issue(exc)]) from None

    def _context(self, plugin_type: str | None, *, resolve_secrets: bool) -> PluginContext:
        settings = self.manifest.plugins.ingestion
        plugin_type = plugin_type or settings.type
        return PluginContext(
            catalog_name=self.manifest.catalog.name,
            catalog_properties=self.manifest.pyiceberg_properties(resolve_secrets=resolve_secrets),
            work_dir=self.manifest.storage.dlt_dir,
            plugin_config=dict(settings.config) if plugin_type == settings.type else {},
            project_dir=self.root,
        )

    def ingestion_config(self, name: str, *, resolve_secrets: bool = True) -> IngestionConfig:
        """The entry as a plugin sees it; with ``resolve_secrets`` its ``secret_refs`` are read
        from the secrets backend (a missing one raises :class:`ConfigError`)."""
        entry = self.pipeline(name)
        secrets: dict[str, str] = {}
        if resolve_secrets and entry.secret_refs:
            secrets = self._resolve_entry_secrets(entry)
        return to_ingestion_config(entry, secrets, landing_root=self.manifest.landing_zone.root)

    def ingestion_configs(self, *, resolve_secrets: bool = False) -> list[IngestionConfig]:
        return [
            self.ingestion_config(entry.name, resolve_secrets=resolve_secrets)
            for entry in self.floe.ingestion
        ]

    def code_issues(self, name: str) -> list[ConfigIssue]:
        """The checks of one entry that run code, run now: its plugin is installed, its source
        imports, its plugin's ``validate()`` hook (e.g. a local folder that must exist).

        The code location loads with ``check_plugins=False`` and each asset runs these for its
        own entry at run time, so one broken pipeline fails alone (``floe validate`` and the
        set-up step run them for every entry at load).
        """
        entry = self.pipeline(name)
        index = next(i for i, other in enumerate(self.floe.ingestion) if other.name == entry.name)
        source = self.sources.get("floe") or YamlSource(FLOE_FILE, self.root / FLOE_FILE)
        found, broken = checks.installed_plugins()
        issues, findings = _plugin_checks(
            [(index, entry)], [], source, self.root, self.manifest, found, broken
        )
        return _by_line(issues + _issues(source, findings))

    def check_secrets(self) -> list[ConfigIssue]:
        """Every secret reference that does not resolve now (values are not kept)."""
        issues = []
        for i, entry in enumerate(self.floe.ingestion):
            for argument, ref in entry.secret_refs.items():
                try:
                    self.manifest.secrets.resolver().resolve(ref)
                except SecretNotFoundError as exc:
                    issues.append(
                        self._issue("floe", ("ingestion", i, "secret_refs", argument), str(exc))
                    )
        try:
            self.manifest.pyiceberg_properties(resolve_secrets=True)
        except SecretNotFoundError as exc:
            issues.append(self._manifest_secret_issue(exc))
        return issues

    def _resolve_entry_secrets(self, entry: IngestionPipeline) -> dict[str, str]:
        resolver = self.manifest.secrets.resolver()
        index = next(i for i, other in enumerate(self.floe.ingestion) if other.name == entry.name)
        secrets, issues = {}, []
        for argument, ref in entry.secret_refs.items():
            try:
                secrets[argument] = resolver.resolve(ref).get_secret_value()
            except SecretNotFoundError as exc:
                path = ("ingestion", index, "secret_refs", argument)
                issues.append(self._issue("floe", path, str(exc)))
        if issues:
            raise ConfigError(issues)
        return secrets

    def _manifest_secret_issue(self, exc: SecretNotFoundError) -> ConfigIssue:
        s3 = self.manifest.storage.s3
        key = "access_key_id_ref"
        if s3 is not None and s3.secret_access_key_ref == exc.ref:
            key = "secret_access_key_ref"
        return self._issue("manifest", ("storage", "s3", key), str(exc))

    def _issue(self, role: str, path: KeyPath, message: str) -> ConfigIssue:
        source = self.sources.get(role)
        if source is None:
            name = FLOE_FILE if role == "floe" else MANIFEST_FILE
            source = YamlSource(display_name=name, path=self.root / name)
        return source.issue(path, message)


def to_ingestion_config(
    entry: IngestionPipeline,
    secrets: Mapping[str, str] | None = None,
    *,
    landing_root: str | Path | None = None,
) -> IngestionConfig:
    """The plugin-facing view of an entry: ``options`` is the plugin block minus ``source``.

    A landing-zone entry's ``bucket_url`` becomes the folder under ``landing_root``."""
    _, block = entry.plugin_block
    options = {key: value for key, value in block.items() if key != "source"}
    if entry.landing_zone and landing_root is not None:
        config = dict(options.get("config") or {})
        config["bucket_url"] = str(Path(landing_root) / config["bucket_url"])
        options["config"] = config
    return IngestionConfig(
        name=entry.name,
        source=entry.source,
        destination_table=entry.destination,
        write_disposition=entry.write_disposition,
        primary_key=tuple(entry.primary_key or ()),
        incremental=entry.incremental.model_dump() if entry.incremental else None,
        secret_refs=dict(entry.secret_refs),
        secrets=SecretValues(secrets or {}),
        options=options,
    )


def default_project_dir(floe_file: str = FLOE_FILE) -> Path:
    """``$FLOE_PROJECT_DIR``, else the current directory if it has the floe file, else the
    repository root."""
    from_env = os.environ.get(PROJECT_DIR_ENV)
    if from_env:
        return Path(from_env).expanduser().resolve()
    cwd = Path.cwd()
    if (cwd / floe_file).is_file():
        return cwd
    return REPO_ROOT


def load_project(
    root: Path | None = None,
    *,
    floe_file: str = FLOE_FILE,
    manifest_file: str = MANIFEST_FILE,
    check_plugins: bool = True,
) -> Project:
    """Load and validate both files; raise :class:`ConfigError` listing every problem.

    ``check_plugins=False`` checks the files only and imports no code: no plugin lookup, no
    ``dlt.source`` import, no plugin ``validate()`` hooks.
    """
    root = Path(root).expanduser().resolve() if root is not None else default_project_dir(floe_file)
    floe_source = read_yaml(root / floe_file, _display_name(root, floe_file))
    manifest_path = root / manifest_file
    manifest_source = read_yaml(manifest_path, _display_name(root, manifest_file))

    manifest, manifest_issues = _validate(
        PlatformManifest, manifest_source, context={"base_dir": manifest_path.parent.resolve()}
    )
    floe, floe_issues = _validate(FloeConfig, floe_source)
    if floe is not None and not floe.ingestion:
        floe_issues.append(_no_pipelines(floe_source))
    if manifest is not None:
        manifest_issues += _issues(manifest_source, checks.check_manifest(manifest))

    entries = list(enumerate(floe.ingestion)) if floe else _valid_entries(floe_source)
    findings = checks.check_entries(entries)
    if check_plugins:
        found, broken = checks.installed_plugins()
        model_issues, code_findings = _plugin_checks(
            entries, findings, floe_source, root, manifest, found, broken
        )
        floe_issues += model_issues
        findings += code_findings
        if manifest is not None:
            problem = checks.plugin_type_problem(manifest.plugins.ingestion.type, found, broken)
            if problem:
                manifest_issues.append(
                    manifest_source.issue(("plugins", "ingestion", "type"), problem)
                )
            failure = checks.check_plugin_settings(manifest, found)
            if failure is not None:
                path, model, exc = failure
                manifest_issues += validation_issues(exc, manifest_source, model, prefix=path)
    floe_issues += _issues(floe_source, findings)

    issues = _by_line(floe_issues) + _by_line(manifest_issues)
    if issues or floe is None or manifest is None:
        raise ConfigError(issues)
    return Project(
        root=root,
        floe=floe,
        manifest=manifest,
        sources={"floe": floe_source, "manifest": manifest_source},
    )


def _plugin_checks(
    entries: checks.Entries,
    earlier: list[checks.Finding],
    source: YamlSource,
    root: Path,
    manifest: PlatformManifest | None,
    found: dict[str, type[IngestionPlugin]],
    broken: dict[str, str],
) -> tuple[list[ConfigIssue], list[checks.Finding]]:
    """What needs the installed plugins: the keys a plugin owns (its block, ``incremental``)
    validated with its models, then source imports and plugin hooks. Run by
    :func:`load_project` for every entry and by :meth:`Project.code_issues` for one."""
    issues: list[ConfigIssue] = []
    invalid: set[int] = set()
    for path, model, exc in checks.check_plugin_models(entries, found):
        issues += validation_issues(exc, source, model, prefix=path)
        invalid.add(int(path[1]))
    return issues, _code_findings(entries, earlier, root, manifest, found, broken, invalid)


def _code_findings(
    entries: checks.Entries,
    earlier: list[checks.Finding],
    root: Path,
    manifest: PlatformManifest | None,
    found: dict[str, type[IngestionPlugin]],
    broken: dict[str, str],
    invalid: set[int],
) -> list[checks.Finding]:
    """Source imports and plugin hooks: the checks that run the project's and plugins' code.

    ``invalid``: entries the plugin's models rejected (already reported)."""
    findings = checks.check_sources([(i, e) for i, e in entries if i not in invalid], root)
    # An entry already known to be broken would only make its plugin repeat the problem.
    skip = {path[1] for path, _ in [*earlier, *findings] if isinstance(path[1], int)} | invalid
    context_for: Callable[[str], PluginContext] | None = None
    if manifest is not None:
        project = Project(root=root, floe=FloeConfig(), manifest=manifest)
        # Validation never needs the storage secrets and must not create directories.
        context_for = partial(project._context, resolve_secrets=False)
    to_config = partial(
        to_ingestion_config, landing_root=manifest.landing_zone.root if manifest else None
    )
    findings += checks.check_plugins(entries, found, broken, context_for, to_config, skip)
    return findings


def _validate(
    model: type[_M], source: YamlSource, context: dict[str, Any] | None = None
) -> tuple[_M | None, list[ConfigIssue]]:
    issues = list(source.issues)
    if source.data is None:  # unreadable or not YAML: nothing to validate
        return None, issues
    try:
        return model.model_validate(source.data, context=context), issues
    except ValidationError as exc:
        # An undefined ${VAR} already explains its value; don't pile a format error on top.
        seen = {issue.path for issue in issues}
        new = [i for i in validation_issues(exc, source, model) if i.path not in seen]
        return None, issues + new


def _no_pipelines(source: YamlSource) -> ConfigIssue:
    """Zero pipelines is a mistake, not a project: every bronze table the marts read would
    become an external asset that nothing produces (issue #7)."""
    see = "(see docs/configuration.md)"
    if not source.data:
        return ConfigIssue(
            source.display_name,
            None,
            "",
            "the file is empty: add `version: 1` and an `ingestion:` list with at least one "
            f"pipeline {see}",
        )
    if "ingestion" not in source.data:
        return source.issue(
            ("ingestion",),
            f"no pipelines: add an `ingestion:` list with at least one pipeline {see}",
        )
    return source.issue(
        ("ingestion",), f"no pipelines: add at least one pipeline to the list {see}"
    )


def _valid_entries(source: YamlSource) -> checks.Entries:
    """The entries that validate on their own, so cross-entry rules still run when another
    part of the file is wrong."""
    data = source.data
    raw = data.get("ingestion") if isinstance(data, dict) else None
    if not isinstance(raw, list):
        return []
    entries = []
    for i, item in enumerate(raw):
        try:
            entries.append((i, IngestionPipeline.model_validate(item)))
        except ValidationError:
            continue
    return entries


def _issues(source: YamlSource, findings: list[checks.Finding]) -> list[ConfigIssue]:
    return [source.issue(path, message) for path, message in findings]


def _by_line(issues: list[ConfigIssue]) -> list[ConfigIssue]:
    """By line (file-level problems first), keeping the order of issues on the same line."""
    return sorted(issues, key=lambda issue: issue.line or 0)


def _display_name(root: Path, name: str) -> str:
    path = Path(name)
    if not path.is_absolute():
        return name
    try:
        return str(path.resolve().relative_to(root))
    except ValueError:
        return str(path)
