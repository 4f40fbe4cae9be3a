with

source as (

    select * from {{ source('bronze', 'sleep') }}

),

renamed as (

    select
        cast(id as bigint) as user_id,
        {{ fitbit_date('sleep_day') }} as sleep_date,
        cast(total_sleep_records as integer) as sleep_records,
        cast(total_minutes_asleep as integer) as minutes_asleep,
        cast(total_time_in_bed as integer) as minutes_in_bed,
        _dlt_load_id as load_id

    from source

),

-- Same guard as daily activity: a night after today (UTC) never reaches a mart.
not_in_future as (

    select * from renamed
    where sleep_date is null or sleep_date <= {{ floe_today() }}

),

-- Same rule as daily activity: one row per (user, night), the latest load wins.
deduplicated as (

    select * from not_in_future
    qualify row_number() over (
        partition by user_id, sleep_date
        order by {{ dlt_load_order() }}
    ) = 1

),

final as (

    select
        user_id,
        sleep_date,
        sleep_records,
        minutes_asleep,
        minutes_in_bed,
        load_id

    from deduplicated

)

select * from final
