with

asset_stats as (

    select * from {{ ref('stg_usage__tech_asset_stats_daily') }}

),

-- Touches come from table 2 only: a query joining two tech assets is one touch for each, so
-- the touches of a port add up to more than its queries, by design (seed 001).
per_asset as (

    select
        output_port_id,
        tech_asset_id,
        cast(sum(touch_count) as bigint) as touch_count,
        count(distinct consumer_id) filter (where touch_count > 0) as distinct_consumers,
        count(distinct usage_date) filter (where touch_count > 0) as active_days,
        min(usage_date) as first_touched_on,
        max(usage_date) as last_touched_on

    from asset_stats
    group by all

),

final as (

    select
        output_port_id,
        tech_asset_id,
        touch_count,
        distinct_consumers,
        active_days,
        first_touched_on,
        last_touched_on,
        touch_count / nullif(sum(touch_count) over (partition by output_port_id), 0)
            as share_of_port_touches,
        -- Ties share a rank: rank 1 may hold several equally popular assets.
        rank() over (partition by output_port_id order by touch_count desc) as popularity_rank

    from per_asset

)

select * from final
