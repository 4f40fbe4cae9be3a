{%- set windows = {'last_30_days': 30, 'all_time': none} -%}

with

query_stats as (

    select * from {{ ref('stg_usage__output_port_query_stats_daily') }}

),

asset_stats as (

    select * from {{ ref('stg_usage__tech_asset_stats_daily') }}

),

-- A port's reported days come from the queries table (a day is reported when the port has at
-- least one query_stats row that day), so both usage marts share a port's windows.
port_bounds as (

    select
        output_port_id,
        min(usage_date) as first_reported_on,
        max(usage_date) as last_reported_on
    from query_stats
    group by all

),

-- Same windows as usage_query_distribution: each ends on the port's own latest reported day.
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

-- The denominator of share_of_port_queries: the port's unique queries in the window.
port_queries as (

    select
        windows.output_port_id,
        windows.window_name,
        cast(sum(query_stats.query_count) as bigint) as port_query_count

    from windows
    inner join query_stats
        on windows.output_port_id = query_stats.output_port_id
        and query_stats.usage_date between windows.window_start and windows.window_end
    group by all

),

-- Touches come from table 2 only: a query joining two tech assets is one touch for each, so
-- the touches of a port add up to more than its queries, by design (seed 001). 0-count rows
-- neither make a consumer nor date a touch.
per_asset as (

    select
        windows.output_port_id,
        windows.window_name,
        windows.window_start,
        windows.window_end,
        asset_stats.tech_asset_id,
        cast(sum(asset_stats.touch_count) as bigint) as touch_count,
        count(distinct asset_stats.consumer_id) filter (where asset_stats.touch_count > 0)
            as distinct_consumers,
        count(distinct asset_stats.usage_date) filter (where asset_stats.touch_count > 0)
            as active_days,
        min(asset_stats.usage_date) filter (where asset_stats.touch_count > 0)
            as first_touched_on,
        max(asset_stats.usage_date) filter (where asset_stats.touch_count > 0)
            as last_touched_on

    from windows
    inner join asset_stats
        on windows.output_port_id = asset_stats.output_port_id
        and asset_stats.usage_date between windows.window_start and windows.window_end
    group by all
    -- An asset without a touch in the window is not popular there: absent, not ranked.
    having sum(asset_stats.touch_count) > 0

),

final as (

    select
        per_asset.output_port_id,
        per_asset.window_name,
        per_asset.window_start,
        per_asset.window_end,
        per_asset.tech_asset_id,
        per_asset.touch_count,
        per_asset.distinct_consumers,
        per_asset.active_days,
        per_asset.first_touched_on,
        per_asset.last_touched_on,
        port_queries.port_query_count,
        -- At most 1 while producers keep the cross-table contract (a query touches an asset at
        -- most once); NULL when the port had touches but no queries in the window.
        per_asset.touch_count / nullif(port_queries.port_query_count, 0)
            as share_of_port_queries,
        per_asset.touch_count / sum(per_asset.touch_count) over per_port_window
            as share_of_port_touches,
        -- Ties share a rank (1, 1, 3): rank 1 may hold several equally popular assets.
        rank() over (per_port_window order by per_asset.touch_count desc) as popularity_rank

    from per_asset
    inner join port_queries
        on per_asset.output_port_id = port_queries.output_port_id
        and per_asset.window_name = port_queries.window_name
    window per_port_window as (partition by per_asset.output_port_id, per_asset.window_name)

)

select * from final
