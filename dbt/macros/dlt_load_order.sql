{#
  Order key for "latest load wins". dlt load ids are unix timestamps written as strings
  ("1712345678.123456"): compare them as the numbers they are rather than as text, so the order
  holds whatever their width. No tie-breaker is needed inside one load: the dlt plugin
  de-duplicates a merge increment on the primary key before committing it.
#}
{% macro dlt_load_order(load_id='load_id') -%}
    try_cast({{ load_id }} as double) desc nulls last
{%- endmacro %}
