"""Usage-push ingestion: committed pushes into daily-partitioned bronze Iceberg tables.

The usage API (platform_defs/api) commits producers' pushes into the ops store;
the ``usage_pushes`` sensor (:mod:`~platform_defs.usage.sensors`) notices them and
materializes the partitions of the bronze assets (:mod:`~platform_defs.usage.assets`) for
the days they touched; the usage marts follow (platform_defs/transform). The write itself is
:mod:`~platform_defs.usage.bronze`; ``make run``'s demo is :mod:`~platform_defs.usage.demo`.
docs/usage-ingestion.md has the design.
"""
