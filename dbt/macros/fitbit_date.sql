{#
  Parse a Fitbit export date (`4/12/2026`, or `4/12/2026 12:00:00 AM` for sleep) into a DATE.
  dlt lands these columns as strings; an ISO string or a value already typed as a date/timestamp
  is accepted too, so a future loader that types the column does not break staging.
  Anything unparseable becomes NULL, which the staging not_null tests then report.
#}
{% macro fitbit_date(column) -%}
    cast(coalesce(
        try_strptime(cast({{ column }} as varchar), '%m/%d/%Y %I:%M:%S %p'),
        try_strptime(cast({{ column }} as varchar), '%m/%d/%Y'),
        try_cast(cast({{ column }} as varchar) as timestamp)
    ) as date)
{%- endmacro %}
