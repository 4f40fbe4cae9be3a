{#
  No value is a date after today (macros/floe_today.sql: in `vars.today_time_zone`, UTC).
  Fitbit strings (`4/12/2026`, `4/12/2026 12:00:00 AM`), ISO strings and typed dates are all
  parsed (macros/fitbit_date.sql), so the same test guards bronze, staging and the marts.
  Unparseable values are left to the not_null tests.
#}
{% test not_in_future(model, column_name) %}

select {{ column_name }} as failing_value
from {{ model }}
where {{ fitbit_date(column_name) }} > {{ floe_today() }}

{% endtest %}
