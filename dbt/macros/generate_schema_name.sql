{#
  Use the custom schema name as is (`staging`, `marts`) instead of dbt's default
  `<target schema>_<custom>`: there is one DuckDB file per environment, so the prefix adds
  nothing and the plain names are what the API and notebooks query.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
