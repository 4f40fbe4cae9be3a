"""The ``floe`` command line: ``floe validate | compile | schema | packages | maintenance | db``.

Each sub-command is a function ``(args) -> exit code`` registered in :func:`build_parser`;
new ones (``floe api serve``, ...) add a sub-parser there. Configuration problems print as
``file:line: key: message`` lines on stderr with exit code 1, never as a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from platform_defs.config import ConfigError, Project, load_project, mask_url_password

if TYPE_CHECKING:
    from platform_defs.ops.store import OpsStore

Command = Callable[[argparse.Namespace], int]


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    command: Command | None = getattr(args, "command", None)
    if command is None:
        parser.print_help()
        return 2
    try:
        return command(args)
    except ConfigError as exc:
        _print_issues(exc)
        return 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="floe", description="floe data platform: check and inspect the project config."
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    validate = commands.add_parser(
        "validate", help="check floe.yaml and platform-manifest.yaml; list every problem"
    )
    _add_project_options(validate)
    validate.add_argument(
        "--secrets",
        action="store_true",
        help="also check that every secret reference resolves (values are never printed)",
    )
    validate.set_defaults(command=cmd_validate)

    compile_ = commands.add_parser(
        "compile", help="print the resolved plan (pipelines, assets, catalog) as JSON"
    )
    _add_project_options(compile_)
    compile_.add_argument("--output", "-o", type=Path, help="write to FILE instead of stdout")
    compile_.set_defaults(command=cmd_compile)

    schema = commands.add_parser("schema", help="print or write the JSON Schemas of both files")
    mode = schema.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="write schemas/*.json")
    mode.add_argument("--check", action="store_true", help="exit 1 if schemas/*.json are stale")
    schema.set_defaults(command=cmd_schema)

    packages = commands.add_parser(
        "packages", help="list, retry or discard load packages set aside as uncommittable"
    )
    actions = packages.add_subparsers(title="actions", metavar="ACTION", required=True)
    list_ = actions.add_parser("list", help="every set-aside package with its reason")
    _add_project_options(list_)
    list_.add_argument("--pipeline", help="only this floe.yaml pipeline")
    list_.add_argument("--json", action="store_true", help="print JSON")
    list_.set_defaults(command=cmd_packages_list)
    for name, handler, text in (
        ("retry", cmd_packages_retry, "commit a set-aside package now (after fixing the cause)"),
        ("discard", cmd_packages_discard, "delete a set-aside package for good"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument("pipeline", help="the floe.yaml pipeline name")
        action.add_argument("load_id", help="the package's load id (see `floe packages list`)")
        _add_project_options(action)
        action.set_defaults(command=handler)

    maintenance = commands.add_parser(
        "maintenance", help="expire snapshots, remove orphan files, compact the bronze tables"
    )
    _add_project_options(maintenance)
    maintenance.add_argument(
        "--dry-run", action="store_true", help="only print what would be removed or rewritten"
    )
    maintenance.add_argument(
        "--table",
        action="append",
        metavar="NAMESPACE.TABLE",
        help="only this floe.yaml destination (repeatable; default: every destination)",
    )
    maintenance.add_argument("--verbose", "-v", action="store_true", help="list every file")
    maintenance.set_defaults(command=cmd_maintenance)

    db = commands.add_parser("db", help="the ops store's schema: apply or show its migrations")
    db_actions = db.add_subparsers(title="actions", metavar="ACTION", required=True)
    for name, handler, text in (
        ("upgrade", cmd_db_upgrade, "apply the ops store's migrations up to the newest"),
        ("current", cmd_db_current, "print the ops store's revision and whether it is the newest"),
    ):
        action = db_actions.add_parser(name, help=text)
        _add_project_options(action)
        action.set_defaults(command=handler)

    from platform_defs.api.cli import register as register_api_commands

    register_api_commands(commands)  # floe api serve | create-key | list-keys | revoke-key
    return parser


def _add_project_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--project-dir",
        type=Path,
        help="directory holding floe.yaml (default: $FLOE_PROJECT_DIR, the current directory "
        "if it has a floe.yaml, else the repository root)",
    )


def cmd_validate(args: argparse.Namespace) -> int:
    project = load_project(args.project_dir)
    if args.secrets:
        issues = project.check_secrets()
        if issues:
            raise ConfigError(issues)
    count = len(project.floe.ingestion)
    catalog = project.manifest.catalog
    noun = "pipeline" if count == 1 else "pipelines"
    print(f"ok: {count} {noun}, catalog {catalog.name} ({catalog.type})")
    return 0


def cmd_compile(args: argparse.Namespace) -> int:
    plan = compile_plan(load_project(args.project_dir))
    text = json.dumps(plan, indent=2) + "\n"
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    return 0


def compile_plan(project: Project) -> dict[str, Any]:
    """What the code location will build, as plain JSON: secret refs only, passwords masked."""
    manifest = project.manifest
    retry = manifest.retry.model_dump(mode="json")
    pipelines = [
        {
            "name": entry.name,
            "asset_key": entry.asset_key,
            "destination_table": entry.destination,
            "plugin": entry.type,
            "source": entry.source,
            "write_disposition": entry.write_disposition,
            "primary_key": list(entry.primary_key or []),
            "incremental": entry.incremental.model_dump(mode="json") if entry.incremental else None,
            "schedule": entry.schedule,
            "secret_refs": dict(entry.secret_refs),
            "description": entry.description,
            "retry": retry,
        }
        for entry in project.floe.ingestion
    ]
    catalog = manifest.catalog
    return {
        "project_dir": str(project.root),
        "catalog": {
            "name": catalog.name,
            "type": catalog.type,
            "uri": mask_url_password(catalog.uri),
            "warehouse": mask_url_password(catalog.warehouse),
        },
        "storage": {"root": manifest.storage.root},
        "pipelines": pipelines,
    }


def cmd_schema(args: argparse.Namespace) -> int:
    from platform_defs.config import schema

    if args.check:
        stale = schema.stale_schemas()
        for path in stale:
            print(f"stale: {path} (run: {schema.REGENERATE_COMMAND})", file=sys.stderr)
        return 1 if stale else 0
    if args.write:
        for path in schema.write_schemas():
            print(f"wrote {path}")
        return 0
    sys.stdout.write(schema.render(schema.json_schemas()))
    return 0


def _dlt_plugin(project: Project) -> Any:
    from plugins.dlt import DltIngestionPlugin

    return DltIngestionPlugin(project.plugin_context("dlt"))


def cmd_packages_list(args: argparse.Namespace) -> int:
    project = load_project(args.project_dir)
    if args.pipeline:
        project.pipeline(args.pipeline)  # an unknown name is an error, not an empty list
    packages = [p.as_dict() for p in _dlt_plugin(project).set_aside_packages(args.pipeline)]
    if args.json:
        print(json.dumps(packages, indent=2))
        return 0
    if not packages:
        print("no set-aside packages")
        return 0
    for package in packages:
        print(
            f"{package['pipeline']}  {package['load_id']}  {package['rows']:,} rows  "
            f"set aside {package['set_aside_at']}  [{package['category']}/{package['code']}] "
            f"{package['message']}"
        )
    return 0


def cmd_packages_retry(args: argparse.Namespace) -> int:
    project = load_project(args.project_dir)
    config = project.ingestion_config(args.pipeline, resolve_secrets=False)
    plugin = _dlt_plugin(project)
    try:
        outcome = plugin.retry_set_aside(config, args.load_id, progress=print)
    except LookupError as exc:
        print(f"floe: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # the package stays set aside; say why in one line
        from plugins.dlt.errors import to_ingestion_error

        error = to_ingestion_error(exc, source=args.pipeline)
        print(
            f"floe: retry failed: [{error.category}/{error.code}] {error.message}", file=sys.stderr
        )
        return 1
    state = "was already committed" if outcome.already_committed else "committed"
    print(f"{args.load_id} {state} (snapshot {outcome.snapshot_id}, {outcome.rows:,} rows)")
    return 0


def cmd_packages_discard(args: argparse.Namespace) -> int:
    project = load_project(args.project_dir)
    project.pipeline(args.pipeline)
    try:
        _dlt_plugin(project).discard_set_aside(args.pipeline, args.load_id)
    except LookupError as exc:
        print(f"floe: {exc}", file=sys.stderr)
        return 1
    print(f"discarded {args.load_id} of {args.pipeline}")
    return 0


def cmd_maintenance(args: argparse.Namespace) -> int:
    # Imported here: the other commands need neither pyiceberg nor Dagster.
    from platform_defs.maintenance import describe, maintained_tables, run_maintenance

    project = load_project(args.project_dir)
    known = maintained_tables(project)
    unknown = [table for table in args.table or [] if table not in known]
    if unknown:
        print(
            f"floe: not a bronze table floe maintains: {', '.join(unknown)} "
            f"(known: {', '.join(known) or 'none'})",
            file=sys.stderr,
        )
        return 2
    for report in run_maintenance(project, args.table or known, dry_run=args.dry_run):
        print(describe(report))
        if args.verbose:
            for uri in report.removed:
                print(f"  {'would remove' if args.dry_run else 'removed'} {uri}")
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    return _with_ops_store(args, _db_upgrade)


def cmd_db_current(args: argparse.Namespace) -> int:
    return _with_ops_store(args, _db_current)


def _db_upgrade(store: OpsStore, where: str) -> int:
    before = store.current_revision()
    head = store.upgrade()
    if before == head:
        print(f"{where}: already at {head} (head)")
    else:
        print(f"{where}: upgraded {before or 'empty'} -> {head} (head)")
    return 0


def _db_current(store: OpsStore, where: str) -> int:
    from platform_defs.ops.migrate import head_revision, known_revision

    current, head = store.current_revision(), head_revision()
    if current is None:
        print(f"{where}: empty (run `floe db upgrade`; head is {head})")
    elif not known_revision(current):
        print(f"{where}: {current}, newer than this floe's head {head}")
    elif current == head:
        print(f"{where}: {current} (head)")
    else:
        print(f"{where}: {current} (head is {head}: run `floe db upgrade`)")
    return 0


def _with_ops_store(args: argparse.Namespace, action: Callable[[OpsStore, str], int]) -> int:
    # Imported here: the other commands need no ops store. Only the manifest matters, so the
    # pipelines' code is not imported (check_plugins=False).
    from sqlalchemy.exc import SQLAlchemyError

    from platform_defs.config import SecretNotFoundError
    from platform_defs.ops import OpsStore
    from platform_defs.ops.migrate import NewerStoreError

    project = load_project(args.project_dir, check_plugins=False)
    ops = project.manifest.ops
    where = f"ops store {ops.display_url} (schema {ops.schema_name})"
    try:
        store = OpsStore.from_manifest(project.manifest)
    except SecretNotFoundError as exc:
        print(f"floe: platform-manifest.yaml: ops.password_ref: {exc}", file=sys.stderr)
        return 1
    try:
        return action(store, where)
    except NewerStoreError as exc:
        print(f"floe: {where}: {exc}", file=sys.stderr)
        return 1
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        print(f"floe: {where}: {mask_url_password(reason)}", file=sys.stderr)
        return 1
    finally:
        store.dispose()


def _print_issues(exc: ConfigError) -> None:
    for issue in exc.issues:
        print(issue, file=sys.stderr)
    count = len(exc.issues)
    print(f"{count} problem{'s' if count != 1 else ''} found", file=sys.stderr)
