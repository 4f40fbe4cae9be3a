{%- set windows = {'last_30_days': 30, 'all_time': none} -%}

with

query_stats as (

    select * from {{ ref('stg_usage__output_port_query_stats_daily') }}

),

-- Windows end on the last day present in the data, not on today's date: the mart is then
-- reproducible, and a producer that stopped pushing shows its last month rather than nothing.
as_of as (

    select max(usage_date) as as_of_date from query_stats

),

windowed as (

    {%- for window_name, days in windows.items() %}

    select
        '{{ window_name }}' as window_name,
        {%- if days %}
        cast(as_of.as_of_date - interval {{ days - 1 }} day as date) as window_start,
        {%- else %}
        (select min(usage_date) from query_stats) as window_start,
        {%- endif %}
        as_of.as_of_date as window_end,
        query_stats.output_port_id,
        query_stats.consumer_id,
        cast(sum(query_stats.query_count) as bigint) as query_count,
        count(distinct query_stats.usage_date) filter (where query_stats.query_count > 0)
            as active_days
    from query_stats
    cross join as_of
    {%- if days %}
    where query_stats.usage_date > as_of.as_of_date - interval {{ days }} day
    {%- endif %}
    group by all
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}

),

final as (

    select
        output_port_id,
        window_name,
        window_start,
        window_end,
        consumer_id,
        query_count,
        active_days,
        query_count / nullif(sum(query_count) over per_port_window, 0) as share_of_port_queries,
        rank() over (per_port_window order by query_count desc) as consumer_rank

    from windowed
    window per_port_window as (partition by output_port_id, window_name)

)

select * from final
