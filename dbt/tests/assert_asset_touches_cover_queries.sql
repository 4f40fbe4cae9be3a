{{
    config(
        severity='warn',
        meta={'dagster': {'ref': {'name': 'stg_usage__tech_asset_stats_daily'}}},
    )
}}

{#
  Seed 001's contract between the two usage tables: every query touches at least one tech
  asset, so per (date, output port, consumer) the touches are >= the queries, and touches
  never appear without queries. Returns the keys breaking it. A warning, not an error: it is a
  producer-side contract across two separately pushed tables, and the marts stay correct
  on their own terms (queries from table 1, touches from table 2) even when it is broken.
  The `dagster.ref` meta makes dagster-dbt show it as a check on the touches staging asset
  (a test with two parents is otherwise not attached to any asset).
#}

with

queries as (

    select * from {{ ref('stg_usage__output_port_query_stats_daily') }}

),

touches as (

    select
        usage_date,
        output_port_id,
        consumer_id,
        sum(touch_count) as touch_count
    from {{ ref('stg_usage__tech_asset_stats_daily') }}
    group by all

),

final as (

    select
        coalesce(queries.usage_date, touches.usage_date) as usage_date,
        coalesce(queries.output_port_id, touches.output_port_id) as output_port_id,
        coalesce(queries.consumer_id, touches.consumer_id) as consumer_id,
        coalesce(queries.query_count, 0) as query_count,
        coalesce(touches.touch_count, 0) as touch_count

    from queries
    full outer join touches
        on queries.usage_date = touches.usage_date
        and queries.output_port_id = touches.output_port_id
        and queries.consumer_id = touches.consumer_id

)

select * from final
where touch_count < query_count
    or (query_count = 0 and touch_count > 0)

