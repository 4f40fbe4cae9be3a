{# Every non-NULL value of the column is >= 0 (counts, minutes, steps, distances). #}
{% test non_negative(model, column_name) %}

select {{ column_name }} as failing_value
from {{ model }}
where {{ column_name }} < 0

{% endtest %}
