with

source as (

    select * from {{ source('bronze', 'output_port_query_stats_daily') }}

),

renamed as (

    select
        -- Bronze holds a DATE (platform_defs/usage/bronze.py); the cast also accepts ISO
        -- strings. Bronze has one row per key: each pushed day replaces its partition whole.
        cast("date" as date) as usage_date,
        cast(output_port_id as varchar) as output_port_id,
        cast(consumer_id as varchar) as consumer_id,
        cast(query_count as bigint) as query_count

    from source

),

-- A day after today (UTC) cannot be real: it fails the source test `not_in_future` loudly,
-- and is dropped here too, so a run without the source tests never carries it into a mart
-- (one 2030 row used to move last_30_days to 2029). NULL dates stay for the not_null tests.
not_in_future as (

    select * from renamed
    where usage_date is null or usage_date <= {{ floe_today() }}

),

final as (

    select
        usage_date,
        output_port_id,
        consumer_id,
        query_count

    from not_in_future

)

select * from final
