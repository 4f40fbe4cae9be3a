"""The committed OpenAPI document, ``platform_defs/api/openapi.json``.

``python -m platform_defs.api.openapi --write`` writes it, ``--check`` exits 1 when it is stale
(the SDK's client is generated from it); without either it prints it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from platform_defs.api.app import create_app
from platform_defs.api.settings import Settings

OPENAPI_PATH = Path(__file__).resolve().with_name("openapi.json")
REGENERATE_COMMAND = "python -m platform_defs.api.openapi --write"


def openapi_document() -> dict[str, Any]:
    """What the app serves at /openapi.json (it depends on no setting or database)."""
    return create_app(Settings(ops_url="sqlite://")).openapi()


def render(document: dict[str, Any]) -> str:
    """Stable text: sorted keys, two-space indent, a final newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def is_stale(path: Path = OPENAPI_PATH) -> bool:
    return not path.is_file() or path.read_text(encoding="utf-8") != render(openapi_document())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m platform_defs.api.openapi")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help=f"write {OPENAPI_PATH.name}")
    mode.add_argument("--check", action="store_true", help="exit 1 if it is stale")
    args = parser.parse_args(argv)
    if args.check:
        if is_stale():
            sys.stderr.write(f"stale: {OPENAPI_PATH} (run: {REGENERATE_COMMAND})\n")
            return 1
        return 0
    text = render(openapi_document())
    if args.write:
        OPENAPI_PATH.write_text(text, encoding="utf-8")
        sys.stdout.write(f"wrote {OPENAPI_PATH}\n")
        return 0
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
