{%- set grains = ['day', 'week', 'month'] -%}

with

query_stats as (

    select * from {{ ref('stg_usage__output_port_query_stats_daily') }}

),

bounds as (

    select
        min(usage_date) as first_day,
        max(usage_date) as last_day
    from query_stats

),

output_ports as (

    select distinct output_port_id from query_stats

),

calendar as (

    select cast(generate_series as date) as usage_date
    from bounds, generate_series(bounds.first_day, bounds.last_day, interval 1 day)

),

-- Every output port gets every day of the data's range. A day is *reported* when the port has
-- at least one query_stats row that day (0 queries included); on a day without one the left
-- join leaves consumer_id and query_count NULL, so "no push" stays NULL instead of becoming a
-- 0. Consumer-level rows are kept to count active consumers exactly at every grain.
port_days as (

    select
        output_ports.output_port_id,
        calendar.usage_date,
        query_stats.consumer_id,
        query_stats.query_count

    from output_ports
    cross join calendar
    left join query_stats
        on output_ports.output_port_id = query_stats.output_port_id
        and calendar.usage_date = query_stats.usage_date

),

-- Weeks start on Monday (ISO). Queries are summed from table 1 only: a query joining two tech
-- assets is one query here, whatever it touched.
rollups as (

    {%- for grain in grains %}

    select
        output_port_id,
        '{{ grain }}' as period_grain,
        cast(date_trunc('{{ grain }}', usage_date) as date) as period_start,
        cast(date_trunc('{{ grain }}', usage_date) + interval 1 {{ grain }} - interval 1 day as date)
            as period_end,
        -- SUM ignores the NULLs of unreported days, and is NULL when no day of the period was
        -- reported. DuckDB sums BIGINT into HUGEINT; cast back so Arrow/pandas get int64.
        cast(sum(query_count) as bigint) as query_count,
        count(distinct usage_date) filter (where consumer_id is not null) as days_reported,
        -- A consumer with only 0-count rows in the period did not query the port.
        count(distinct consumer_id) filter (where query_count > 0) as active_consumers,
        count(distinct usage_date) as days_in_data
    from port_days
    group by all
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}

),

final as (

    select
        rollups.output_port_id,
        rollups.period_grain,
        rollups.period_start,
        rollups.period_end,
        rollups.query_count,
        rollups.days_reported,
        rollups.active_consumers,
        rollups.days_in_data,
        -- The first and last week/month of the data are usually cut off; charts can grey them.
        rollups.period_start >= bounds.first_day
            and rollups.period_end <= bounds.last_day as is_complete_period

    from rollups
    cross join bounds

)

select * from final
