"""Set-up step (`make run`, `make test`, CI): write the dbt profile from the manifest and parse
the dbt project, so the code location loads without shelling out to dbt at import time."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from platform_defs.config import ConfigError, Project, load_project
from platform_defs.transform.profiles import write_profiles
from platform_defs.transform.project import dbt_executable, dbt_project, marts_path, profiles_dir


def write_project_profiles(project: Project) -> Path:
    context = project.plugin_context()
    return write_profiles(
        profiles_dir(project),
        catalog_name=context.catalog_name,
        catalog_properties=dict(context.catalog_properties),
        duckdb_path=marts_path(project),
    )


def prepare(project: Project) -> Path:
    """Write profiles.yml and dbt/target/manifest.json; returns the manifest path."""
    write_project_profiles(project)
    dbt = dbt_project(project)
    with _floe_dbt_first_on_path():
        dbt.preparer.prepare(dbt)
    return dbt.manifest_path


@contextmanager
def _floe_dbt_first_on_path() -> Iterator[None]:
    """dagster-dbt's preparer runs ``dbt parse`` with the ``dbt`` on PATH, which lacks the
    venv's ``bin/`` when the venv's python is run directly: put floe's own dbt first."""
    executable = Path(dbt_executable())
    old = os.environ.get("PATH")
    if executable.is_absolute():
        os.environ["PATH"] = os.pathsep.join(filter(None, [str(executable.parent), old]))
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("PATH", None)
        else:
            os.environ["PATH"] = old


def main() -> int:
    try:
        project = load_project()
    except ConfigError as error:
        print(f"floe: configuration is invalid:\n{error}", file=sys.stderr)
        return 1
    manifest = prepare(project)
    print(f"floe: dbt profile written and project parsed ({manifest})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
