{#
  on-run-start: copy each bronze Iceberg table this run needs into DuckDB, once, before any node
  runs.

  Why: dbt-duckdb's iceberg plugin scans the Iceberg table every time `source()` is rendered,
  i.e. once per source test and once per staging model, and two threads doing
  `CREATE OR REPLACE TABLE bronze.x` at the same time fail with a DuckDB write-write conflict.
  Here each needed table is dropped and loaded once, on the main thread; the sources carry
  `save_mode: ignore`, so the later `source()` calls in tests and models find the fresh copy and
  skip the scan. A run selecting only some nodes (Dagster subsets) loads only the bronze tables
  those nodes read. A table missing from the catalog fails the run here with pyiceberg's
  NoSuchTableError naming it.
#}
{% macro load_bronze_sources() %}
    {%- if execute -%}
        {%- set needed = [] -%}
        {%- for unique_id in selected_resources -%}
            {%- if unique_id.startswith('source.') and unique_id not in needed -%}
                {%- do needed.append(unique_id) -%}
            {%- endif -%}
            {%- set node = graph.nodes.get(unique_id) -%}
            {%- if node -%}
                {%- for parent_id in node.depends_on.nodes -%}
                    {%- if parent_id.startswith('source.') and parent_id not in needed -%}
                        {%- do needed.append(parent_id) -%}
                    {%- endif -%}
                {%- endfor -%}
            {%- endif -%}
        {%- endfor -%}

        {%- for source_id in needed | sort -%}
            {%- set src = graph.sources[source_id] -%}
            {%- if src.source_meta.get('plugin') or src.meta.get('plugin') or src.config.get('meta', {}).get('plugin') -%}
                {%- do run_query('create schema if not exists ' ~ src.schema) -%}
                {%- do run_query('drop table if exists ' ~ src.schema ~ '.' ~ src.identifier) -%}
                {#- Rendering the relation is what makes dbt-duckdb load it (save_mode ignore
                    then sees no table and scans once). -#}
                {%- set relation = source(src.source_name, src.name) -%}
                {%- do log('floe: loaded ' ~ src.schema ~ '.' ~ src.identifier ~ ' from the Iceberg catalog', info=false) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
{% endmacro %}
