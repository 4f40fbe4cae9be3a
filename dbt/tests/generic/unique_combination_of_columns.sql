{#
  The grain test: no two rows share the same values in `combination_of_columns`.
  Returns one row per duplicated key (with how often it occurs), so the failure count is the
  number of duplicated keys. Rows with a NULL in the key are compared as values too (a NULL key
  is a separate not_null failure, but two NULL-keyed rows are still duplicates).
#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
    {%- set columns = combination_of_columns | join(', ') %}

with

grouped as (
    select
        {{ columns }},
        count(*) as n_records
    from {{ model }}
    group by all
),

final as (
    select * from grouped
    where n_records > 1
)

select * from final

{% endtest %}
