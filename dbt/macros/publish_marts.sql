{#
  Write-audit-publish for the marts (issue 7, item 11; docs/marts.md "Publishing").

  dbt builds each mart into `marts_audit` (macros/generate_schema_name.sql) and runs its tests
  there; readers query `marts`. At the end of the run, `publish_marts` copies the audited
  relations into `marts` in ONE transaction, and only those that passed:

  - a mart passes when its model succeeded in this run and every test on it with severity
    `error` ran in this run and passed (a `dbt run`, or a build that left a test out, publishes
    nothing: untested rows are not served);
  - marts connected through ref() (user_daily_health -> user_baselines -> user_deviations)
    publish together or not at all, so a published mart always agrees with its children: if
    any of them failed, was skipped or went untested, all keep their previous rows; and a mart
    is not published by a run that does not also build the marts that read it;
  - marts of this run only: a mart the run did not select keeps its published rows (and its
    children, built from those rows, may publish).

  `prepare_audit_relations` (on-run-start) makes `marts_audit` hold, for every mart the run
  does NOT build, a view of its published rows (or nothing if it was never published), so a
  run that builds only some marts reads the published state of the others, never the
  unpublished build of an earlier, failed run.
#}

{% macro audited_marts() %}
    {#- unique_id -> node, for every model built aside in an audit schema -#}
    {%- set marts = {} -%}
    {%- for node in graph.nodes.values() -%}
        {%- set published_schema = node.config.get('schema') -%}
        {%- if node.resource_type == 'model'
                and published_schema in var('published_schemas')
                and node.schema == audit_schema_name(published_schema) -%}
            {%- do marts.update({node.unique_id: node}) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(marts) }}
{% endmacro %}


{% macro published_relation(node) %}
    {{ return(api.Relation.create(
        database=node.database, schema=node.config.get('schema'), identifier=node.alias)) }}
{% endmacro %}


{% macro audit_relation(node) %}
    {{ return(api.Relation.create(
        database=node.database, schema=node.schema, identifier=node.alias)) }}
{% endmacro %}


{% macro existing_relation_types(database, schemas) %}
    {#- (schema, name) -> 'BASE TABLE' | 'VIEW', read from the database rather than dbt's
        cache, which only holds the schemas of the selected nodes -#}
    {%- set found = {} -%}
    {%- if schemas -%}
        {%- set rows = run_query(
            "select table_schema, table_name, table_type from information_schema.tables"
            ~ " where table_catalog = '" ~ database ~ "'"
            ~ " and table_schema in ('" ~ schemas | join("', '") ~ "')") -%}
        {%- for row in rows -%}
            {%- do found.update({(row[0], row[1]): row[2]}) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(found) }}
{% endmacro %}


{% macro run_in_transaction(sql) %}
    {#- run_query() runs in autocommit (auto_begin=false); this opens dbt's transaction on the
        first call, and every later call joins it until adapter.commit(). -#}
    {%- call statement('floe_publish', auto_begin=True) -%}{{ sql }}{%- endcall -%}
{% endmacro %}


{% macro drop_sql(relation, relation_type) -%}
    drop {{ 'view' if relation_type == 'VIEW' else 'table' }} if exists {{ relation }}
{%- endmacro %}


{% macro prepare_audit_relations() %}
    {%- if execute -%}
        {%- set marts = audited_marts() -%}
        {%- set not_built = [] -%}
        {%- for unique_id, node in marts.items() | sort -%}
            {%- if unique_id not in selected_resources -%}
                {%- do not_built.append(node) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if not_built -%}
            {%- set database = not_built[0].database -%}
            {%- set schemas = [] -%}
            {%- for node in not_built -%}
                {%- for schema in [node.schema, node.config.get('schema')] if schema not in schemas -%}
                    {%- do schemas.append(schema) -%}
                {%- endfor -%}
            {%- endfor -%}
            {%- set existing = existing_relation_types(database, schemas) -%}
            {%- for schema in schemas -%}
                {%- do run_in_transaction('create schema if not exists ' ~ adapter.quote(schema)) -%}
            {%- endfor -%}
            {%- for node in not_built -%}
                {%- set audit = audit_relation(node) -%}
                {%- set published = published_relation(node) -%}
                {%- set audit_type = existing.get((node.schema, node.alias)) -%}
                {%- if audit_type -%}
                    {%- do run_in_transaction(drop_sql(audit, audit_type)) -%}
                {%- endif -%}
                {%- if existing.get((node.config.get('schema'), node.alias)) -%}
                    {%- do run_in_transaction('create view ' ~ audit ~ ' as select * from ' ~ published) -%}
                {%- endif -%}
            {%- endfor -%}
            {%- do adapter.commit() -%}
        {%- endif -%}
    {%- endif -%}
{% endmacro %}


{% macro mart_groups(marts) %}
    {#- unique_id -> group label: marts connected through ref() share a label (the smallest
        unique_id of the group), found by propagating labels along the edges -#}
    {%- set group = {} -%}
    {%- for unique_id in marts -%}
        {%- do group.update({unique_id: unique_id}) -%}
    {%- endfor -%}
    {%- for _ in marts -%}
        {%- for unique_id, node in marts.items() -%}
            {%- for parent_id in node.depends_on.nodes if parent_id in marts -%}
                {%- set label = [group[unique_id], group[parent_id]] | min -%}
                {%- do group.update({unique_id: label, parent_id: label}) -%}
            {%- endfor -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(group) }}
{% endmacro %}


{% macro publish_marts(results) %}
    {%- if execute -%}
        {%- set marts = audited_marts() -%}
        {%- set status = {} -%}
        {%- for result in results if result.node is defined -%}
            {%- do status.update({result.node.unique_id: result.status | string}) -%}
        {%- endfor -%}

        {#- Why each mart of this run may not be published ([] = it passed). -#}
        {%- set problems = {} -%}
        {%- for unique_id, node in marts.items()
                if unique_id in selected_resources or unique_id in status -%}
            {%- set reasons = [] -%}
            {%- if status.get(unique_id) != 'success' -%}
                {%- do reasons.append('model ' ~ status.get(unique_id, 'not run')) -%}
            {%- endif -%}
            {%- set not_run = [] -%}
            {%- for test in graph.nodes.values()
                    if test.resource_type == 'test'
                    and unique_id in test.depends_on.nodes
                    and (test.config.get('severity') or 'error') | lower == 'error' -%}
                {%- if test.unique_id not in status -%}
                    {%- do not_run.append(test.name) -%}
                {%- elif status[test.unique_id] not in ('pass', 'warn') -%}
                    {%- do reasons.append(test.name ~ ' ' ~ status[test.unique_id]) -%}
                {%- endif -%}
            {%- endfor -%}
            {%- if not_run -%}
                {%- do reasons.append(not_run | length ~ ' test(s) not run') -%}
            {%- endif -%}
            {#- Publishing it without its child would leave the two disagreeing. -#}
            {%- for child_id, child in marts.items() | sort
                    if unique_id in child.depends_on.nodes
                    and child_id not in selected_resources and child_id not in status -%}
                {%- do reasons.append('its child ' ~ child.name ~ ' is not built in this run') -%}
            {%- endfor -%}
            {%- do problems.update({unique_id: reasons}) -%}
        {%- endfor -%}

        {#- A group publishes the marts this run built only if none of them has a problem. -#}
        {%- set group = mart_groups(marts) -%}
        {%- set to_publish = [] -%}
        {%- set labels = [] -%}
        {%- for unique_id in problems if group[unique_id] not in labels -%}
            {%- do labels.append(group[unique_id]) -%}
        {%- endfor -%}
        {%- for label in labels | sort -%}
            {%- set members = [] -%}
            {%- set blockers = [] -%}
            {%- for unique_id, reasons in problems.items() | sort if group[unique_id] == label -%}
                {%- do members.append(marts[unique_id]) -%}
                {%- if reasons -%}
                    {%- do blockers.append(marts[unique_id].name ~ ': ' ~ reasons | join(', ')) -%}
                {%- endif -%}
            {%- endfor -%}
            {%- if blockers -%}
                {%- set names = [] -%}
                {%- for node in members -%}
                    {%- do names.append(published_relation(node) | string) -%}
                {%- endfor -%}
                {%- do log('floe: NOT published ' ~ names | join(', ')
                    ~ ' (they keep their previous rows): ' ~ blockers | join('; '), info=true) -%}
            {%- else -%}
                {%- do to_publish.extend(members) -%}
            {%- endif -%}
        {%- endfor -%}

        {%- if to_publish -%}
            {#- One transaction: readers see every mart of a group switch at once. -#}
            {%- for schema in to_publish | map(attribute='config') | map(attribute='schema') | unique -%}
                {%- do run_in_transaction('create schema if not exists ' ~ adapter.quote(schema)) -%}
            {%- endfor -%}
            {%- for node in to_publish -%}
                {%- do run_in_transaction('create or replace table ' ~ published_relation(node)
                    ~ ' as select * from ' ~ audit_relation(node)) -%}
            {%- endfor -%}
            {%- do adapter.commit() -%}
            {%- for node in to_publish -%}
                {%- do log('floe: published ' ~ published_relation(node), info=true) -%}
            {%- endfor -%}
        {%- endif -%}
    {%- endif -%}
{% endmacro %}
