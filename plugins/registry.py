"""Plugin discovery through the ``floe.ingestion`` entry-point group.

A third-party package adds a plugin by declaring, in its own pyproject::

    [project.entry-points."floe.ingestion"]
    my_tool = "my_package.plugin:MyIngestionPlugin"
"""

from __future__ import annotations

from importlib.metadata import entry_points

from plugins.base import IngestionPlugin

ENTRY_POINT_GROUP = "floe.ingestion"


class PluginNotFoundError(LookupError):
    """No installed plugin answers to the requested type."""


def discover_plugins() -> dict[str, type[IngestionPlugin]]:
    """Every installed ingestion plugin class, by its entry-point name (the `type:` in config)."""
    found: dict[str, type[IngestionPlugin]] = {}
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        plugin_class = entry_point.load()
        if not (isinstance(plugin_class, type) and issubclass(plugin_class, IngestionPlugin)):
            raise TypeError(
                f"entry point {entry_point.name!r} in group {ENTRY_POINT_GROUP!r} points to "
                f"{entry_point.value!r}, which is not an IngestionPlugin subclass"
            )
        found[entry_point.name] = plugin_class
    return found


def get_plugin_class(plugin_type: str) -> type[IngestionPlugin]:
    plugins = discover_plugins()
    try:
        return plugins[plugin_type]
    except KeyError:
        installed = ", ".join(sorted(plugins)) or "none"
        raise PluginNotFoundError(
            f"no ingestion plugin of type {plugin_type!r} is installed (installed: {installed})"
        ) from None
