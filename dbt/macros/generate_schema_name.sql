{#
  Use the custom schema name as is (`staging`) instead of dbt's default
  `<target schema>_<custom>`: there is one DuckDB file per environment, so the prefix adds
  nothing and the plain names are what the API and notebooks query.

  Models of a published schema (`vars.published_schemas`: `marts`) are built one step aside,
  into `<schema>_audit` (`marts_audit`): that is the relation dbt builds, tests and `ref()`s.
  Readers query `marts`, which only the on-run-end hook writes, from audited relations whose
  tests passed (write-audit-publish, macros/publish_marts.sql, docs/marts.md). dagster-dbt keys
  assets on the configured schema, so the asset is still `marts/<model>`.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- elif node.resource_type == 'model' and custom_schema_name | trim in var('published_schemas') -%}
        {{ audit_schema_name(custom_schema_name | trim) }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}


{% macro audit_schema_name(published_schema) -%}
    {{ published_schema }}_audit
{%- endmacro %}
