"""``floe api serve | create-key | list-keys | revoke-key | openapi``.

:func:`register` adds the group to the ``floe`` parser (platform_defs/cli.py). The key
commands work on the store the server would use (``FLOE_API_OPS_URL``, else the manifest's
``ops:``), migrated first, so a key can be made before the first ``serve``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from platform_defs.api.settings import Settings


def register(commands: Any) -> None:
    """Add ``floe api ...`` to the sub-parsers ``commands`` of the ``floe`` parser."""
    api = commands.add_parser("api", help="the usage API: serve it, manage its API keys")
    actions = api.add_subparsers(title="actions", metavar="ACTION", required=True)

    serve = actions.add_parser("serve", help="run the API (uvicorn), after migrating the store")
    serve.add_argument("--host", help="interface (default: $FLOE_API_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: $FLOE_API_PORT or 8000)")
    serve.add_argument("--workers", type=int, help="worker processes (default: 1)")
    _project_option(serve)
    serve.set_defaults(command=cmd_serve)

    create = actions.add_parser("create-key", help="make an API key (shown once)")
    create.add_argument("--producer", required=True, help="who pushes with it")
    create.add_argument(
        "--output-port",
        dest="output_ports",
        action="extend",
        nargs="+",
        required=True,
        metavar="ID",
        help="an output port id the key may push to and read (repeatable)",
    )
    create.add_argument("--json", action="store_true", help="print JSON")
    _project_option(create)
    create.set_defaults(command=cmd_create_key)

    list_ = actions.add_parser("list-keys", help="every API key (never the secrets)")
    list_.add_argument("--json", action="store_true", help="print JSON")
    _project_option(list_)
    list_.set_defaults(command=cmd_list_keys)

    revoke = actions.add_parser("revoke-key", help="revoke an API key: it answers 401 from now")
    revoke.add_argument("key_id", help="the key's id (see `floe api list-keys`)")
    _project_option(revoke)
    revoke.set_defaults(command=cmd_revoke_key)

    openapi = actions.add_parser("openapi", help="print, write or check the OpenAPI document")
    mode = openapi.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="write platform_defs/api/openapi.json")
    mode.add_argument("--check", action="store_true", help="exit 1 if it is stale")
    openapi.set_defaults(command=cmd_openapi)


def _project_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--project-dir",
        type=Path,
        help="directory of platform-manifest.yaml (default: $FLOE_API_PROJECT_DIR, as floe)",
    )


def _settings(args: argparse.Namespace, **overrides: Any) -> Settings:
    from platform_defs.api.settings import Settings

    values = {name: value for name, value in overrides.items() if value is not None}
    if getattr(args, "project_dir", None) is not None:
        values["project_dir"] = args.project_dir
    return Settings(**values)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from platform_defs.api.logs import log_config

    settings = _settings(args, host=args.host, port=args.port, workers=args.workers)
    # The workers build their app from the environment (app_from_environment): hand them the
    # command line's choices there.
    for name in ("host", "port", "workers", "project_dir"):
        value = getattr(settings, name)
        if value is not None:
            os.environ[f"FLOE_API_{name.upper()}"] = str(value)
    store = settings.open_store()
    try:
        revision = store.upgrade()
    finally:
        store.dispose()
    sys.stderr.write(
        f"floe api: ops store at {revision}; serving on http://{settings.host}:{settings.port}\n"
    )
    uvicorn.run(
        "platform_defs.api.app:app_from_environment",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_config=log_config(settings.log_level),
        access_log=False,  # the request-id middleware logs each request, with its id
        proxy_headers=False,
    )
    return 0


def _open_migrated(args: argparse.Namespace) -> Any:
    store = _settings(args).open_store()
    store.upgrade()
    return store


def cmd_create_key(args: argparse.Namespace) -> int:
    import uuid

    from platform_defs.ops.usage import create_api_key

    try:
        ports = [uuid.UUID(port) for port in args.output_ports]
    except ValueError:
        bad = next(port for port in args.output_ports if not _is_uuid(port))
        sys.stderr.write(f"floe: --output-port {bad!r} is not a UUID\n")
        return 2
    store = _open_migrated(args)
    try:
        with store.session() as session:
            new = create_api_key(session, args.producer, ports)
    finally:
        store.dispose()
    if args.json:
        sys.stdout.write(json.dumps({**_key_json(new.info), "api_key": new.token}, indent=2) + "\n")
        return 0
    sys.stdout.write(
        f"key {new.info.key_id} for producer {new.info.producer!r}, output ports "
        f"{', '.join(str(port) for port in new.info.output_port_ids)}\n"
        f"{new.token}\n"
    )
    sys.stderr.write("this is the only time the key is shown: store it now\n")
    return 0


def cmd_list_keys(args: argparse.Namespace) -> int:
    from platform_defs.ops.usage import list_api_keys

    store = _open_migrated(args)
    try:
        with store.session() as session:
            keys = list_api_keys(session)
    finally:
        store.dispose()
    if args.json:
        sys.stdout.write(json.dumps([_key_json(key) for key in keys], indent=2) + "\n")
        return 0
    if not keys:
        sys.stdout.write("no API keys (floe api create-key --producer X --output-port ID)\n")
    for key in keys:
        state = f"revoked {key.revoked_at.isoformat()}" if key.revoked_at else "active"
        ports = ", ".join(str(port) for port in key.output_port_ids)
        sys.stdout.write(
            f"{key.key_id}  {key.prefix}  {key.producer}  {state}  "
            f"created {key.created_at.isoformat()}  ports {ports}\n"
        )
    return 0


def cmd_revoke_key(args: argparse.Namespace) -> int:
    from platform_defs.ops.usage import revoke_api_key

    store = _open_migrated(args)
    try:
        with store.session() as session:
            found = revoke_api_key(session, args.key_id)
    finally:
        store.dispose()
    if not found:
        sys.stderr.write(f"floe: no API key {args.key_id!r} (see `floe api list-keys`)\n")
        return 1
    sys.stdout.write(f"revoked {args.key_id}\n")
    return 0


def cmd_openapi(args: argparse.Namespace) -> int:
    from platform_defs.api import openapi

    argv = ["--write"] if args.write else ["--check"] if args.check else []
    return openapi.main(argv)


def _is_uuid(text: str) -> bool:
    import uuid

    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _key_json(key: Any) -> dict[str, Any]:
    return {
        "key_id": key.key_id,
        "producer": key.producer,
        "prefix": key.prefix,
        "output_port_ids": [str(port) for port in key.output_port_ids],
        "created_at": key.created_at.isoformat(),
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
    }
