{#
  Today's date in `vars.today_time_zone` (UTC): the latest day a bronze row may be dated.
  A row dated after it cannot be real data (a clock or parsing error at the producer), and one
  such row used to move `last_30_days` years ahead (issue 7, item 12). Evaluated when the
  query runs, so staging views and tests compare with the day of the build.
#}
{% macro floe_today() -%}
    cast(timezone('{{ var("today_time_zone") }}', current_timestamp) as date)
{%- endmacro %}
