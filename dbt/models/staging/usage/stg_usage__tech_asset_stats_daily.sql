with

source as (

    select * from {{ source('bronze', 'tech_asset_stats_daily') }}

),

renamed as (

    select
        cast("date" as date) as usage_date,
        cast(output_port_id as varchar) as output_port_id,
        cast(tech_asset_id as varchar) as tech_asset_id,
        cast(consumer_id as varchar) as consumer_id,
        -- seed 001 calls it query_count; it counts touches (a query joining two assets adds
        -- one to each), so it gets the clearer name here.
        cast(query_count as bigint) as touch_count

    from source

),

-- Same guard as table 1: a day after today (UTC) never reaches a mart.
not_in_future as (

    select * from renamed
    where usage_date is null or usage_date <= {{ floe_today() }}

),

final as (

    select
        usage_date,
        output_port_id,
        tech_asset_id,
        consumer_id,
        touch_count

    from not_in_future

)

select * from final
