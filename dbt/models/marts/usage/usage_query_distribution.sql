{%- set windows = {'last_30_days': 30, 'all_time': none} -%}

with

query_stats as (

    select * from {{ ref('stg_usage__output_port_query_stats_daily') }}

),

-- A port's reported days: the days it has at least one query_stats row (0 queries included).
port_bounds as (

    select
        output_port_id,
        min(usage_date) as first_reported_on,
        max(usage_date) as last_reported_on
    from query_stats
    group by all

),

-- Each port's windows end on *its own* latest reported day, not on today nor on the latest
-- day across ports: the mart is reproducible, and a port whose producer stopped pushing shows
-- its last month rather than nothing. Same definition as usage_popular_assets.
windows as (

    {%- for window_name, days in windows.items() %}

    select
        output_port_id,
        '{{ window_name }}' as window_name,
        {%- if days %}
        cast(last_reported_on - interval {{ days - 1 }} day as date) as window_start,
        {%- else %}
        first_reported_on as window_start,
        {%- endif %}
        last_reported_on as window_end
    from port_bounds
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}

),

per_consumer as (

    select
        windows.output_port_id,
        windows.window_name,
        windows.window_start,
        windows.window_end,
        query_stats.consumer_id,
        cast(sum(query_stats.query_count) as bigint) as query_count,
        count(distinct query_stats.usage_date) filter (where query_stats.query_count > 0)
            as active_days

    from windows
    inner join query_stats
        on windows.output_port_id = query_stats.output_port_id
        and query_stats.usage_date between windows.window_start and windows.window_end
    group by all

),

-- A consumer whose rows in the window are all 0 did not query the port: absent, not ranked.
active_consumers as (

    select * from per_consumer
    where query_count > 0

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
        cast(sum(query_count) over per_port_window as bigint) as port_query_count,
        query_count / sum(query_count) over per_port_window as share_of_port_queries,
        -- Ties share a rank (1, 1, 3): rank 1 may hold several equally heavy consumers.
        rank() over (per_port_window order by query_count desc) as consumer_rank

    from active_consumers
    window per_port_window as (partition by output_port_id, window_name)

)

select * from final
