"""floe.yaml values that used to pass validation and fail (or leak) later: a comma-separated
primary key string, and a secret value pasted where a secret reference belongs."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from platform_defs.config import ConfigError, load_project
from plugins.base import IngestionConfig, PluginContext
from plugins.dlt import DltIngestionPlugin

pytestmark = pytest.mark.unit

MANIFEST = "catalog:\n  uri: sqlite:///.floe/catalog.db\n  warehouse: .floe/warehouse\n"
LEAKED = "Hunter2pw"


def load_error(root: Path, floe_yaml: str, manifest: str = MANIFEST) -> ConfigError:
    root.mkdir(parents=True, exist_ok=True)
    (root / "floe.yaml").write_text(textwrap.dedent(floe_yaml), encoding="utf-8")
    (root / "platform-manifest.yaml").write_text(textwrap.dedent(manifest), encoding="utf-8")
    with pytest.raises(ConfigError) as excinfo:
        load_project(root)
    return excinfo.value


def entry(*lines: str) -> str:
    head = ["ingestion:", "  - name: orders", "    destination: bronze.orders"]
    body = [f"    {line}" for line in lines]
    return "\n".join([*head, *body, "    dlt: {source: 'json:loads'}"]) + "\n"


# -- primary_key ----------------------------------------------------------------------------


def test_a_comma_separated_primary_key_string_is_rejected_with_the_list_form(
    tmp_path: Path,
) -> None:
    error = load_error(tmp_path, entry("write_disposition: merge", "primary_key: order_id, qty"))
    expected = [
        "floe.yaml:5: ingestion[0].primary_key: 'order_id, qty' is one string, and a string "
        "names one column: for several columns write a list, [order_id, qty]"
    ]
    assert [str(issue) for issue in error.issues] == expected
    # the file's own rule, without the plugin's validate() (which says the same)
    with pytest.raises(ConfigError) as excinfo:
        load_project(tmp_path, check_plugins=False)
    assert [str(issue) for issue in excinfo.value.issues] == expected


def test_the_plugin_rejects_a_column_name_with_a_comma_too(tmp_path: Path) -> None:
    config = IngestionConfig(
        name="orders",
        source="uuid:uuid4",  # importable, takes no argument
        destination_table="bronze.orders",
        write_disposition="merge",
        primary_key=("order_id, qty",),
    )
    plugin = DltIngestionPlugin(PluginContext("floe", {}, tmp_path, project_dir=tmp_path))
    assert plugin.validate(config) == [
        (
            "primary_key",
            "'order_id, qty' is one string, and a string names one column: for several "
            "columns write a list, [order_id, qty]",
        )
    ]


# -- secret_refs: references, never values ---------------------------------------------------


@pytest.mark.parametrize(
    "secret_refs",
    [
        '{credentials: "postgresql://u:Hunter2pw@db:5432/x"}',
        "{credentials: Hunter2pw/with/slashes}",
        "{credentials: [Hunter2pw]}",
        '"postgresql://u:Hunter2pw@db:5432/x"',
    ],
    ids=["dsn", "not-a-ref", "a-list", "not-a-mapping"],
)
def test_a_value_given_where_a_secret_reference_belongs_is_never_echoed(
    secret_refs: str, tmp_path: Path
) -> None:
    error = load_error(tmp_path, entry(f"secret_refs: {secret_refs}"))

    (issue,) = error.issues
    assert issue.line == 4 and issue.path.startswith("ingestion[0].secret_refs")
    assert "reference" in issue.message and "not shown" in issue.message
    # what the CLI prints and what Dagster shows as the code location's load error
    assert LEAKED not in str(error) and LEAKED not in repr(error.issues)


def test_a_key_pasted_into_the_manifests_secret_ref_is_never_echoed(tmp_path: Path) -> None:
    manifest = MANIFEST + (
        "storage:\n  s3:\n    access_key_id_ref: s3-key-id\n"
        "    secret_access_key_ref: Hunter2pw/K7MDENG+bPxRfiCY\n"
    )
    error = load_error(tmp_path, entry(), manifest)

    (issue,) = error.issues
    assert (issue.file, issue.line, issue.path) == (
        "platform-manifest.yaml",
        7,
        "storage.s3.secret_access_key_ref",
    )
    assert LEAKED not in str(error)


def test_an_invalid_reference_is_not_shown_either(tmp_path: Path) -> None:
    """A reference that is not one may still be a value: it is not shown."""
    error = load_error(tmp_path, entry("secret_refs: {credentials: 'orders db'}"))
    assert "orders db" not in str(error)
