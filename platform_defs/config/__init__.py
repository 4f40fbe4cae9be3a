"""floe configuration: ``floe.yaml`` (pipelines) and ``platform-manifest.yaml`` (platform).

Use :func:`load_project`; it returns a validated :class:`Project` or raises a
:class:`ConfigError` whose ``issues`` name the file, line and key of every problem.
"""

from platform_defs.config.errors import ConfigError, ConfigIssue
from platform_defs.config.loader import (
    FLOE_FILE,
    MANIFEST_FILE,
    PROJECT_DIR_ENV,
    Project,
    default_project_dir,
    load_project,
    to_ingestion_config,
)
from platform_defs.config.manifest import (
    CatalogConfig,
    IngestionPluginSettings,
    MaintenancePolicy,
    PlatformManifest,
    PluginsConfig,
    RetryPolicy,
    S3Config,
    SecretsConfig,
    StorageConfig,
)
from platform_defs.config.models import (
    AirbyteConnection,
    DltSource,
    FloeConfig,
    Incremental,
    IngestionPipeline,
)
from platform_defs.config.secrets import SecretNotFoundError, SecretResolver, env_var_name
from plugins.redact import mask_url_password

__all__ = [
    "FLOE_FILE",
    "MANIFEST_FILE",
    "PROJECT_DIR_ENV",
    "AirbyteConnection",
    "CatalogConfig",
    "ConfigError",
    "ConfigIssue",
    "DltSource",
    "FloeConfig",
    "Incremental",
    "IngestionPipeline",
    "IngestionPluginSettings",
    "MaintenancePolicy",
    "PlatformManifest",
    "PluginsConfig",
    "Project",
    "RetryPolicy",
    "S3Config",
    "SecretNotFoundError",
    "SecretResolver",
    "SecretsConfig",
    "StorageConfig",
    "default_project_dir",
    "env_var_name",
    "load_project",
    "mask_url_password",
    "to_ingestion_config",
]
