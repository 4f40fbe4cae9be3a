with

source as (

    select * from {{ source('bronze', 'daily_activity') }}

),

renamed as (

    select
        cast(id as bigint) as user_id,
        {{ fitbit_date('activity_date') }} as activity_date,
        cast(total_steps as integer) as steps,
        cast(total_distance as double) as distance_km,
        cast(very_active_minutes as integer) as very_active_minutes,
        cast(fairly_active_minutes as integer) as fairly_active_minutes,
        cast(lightly_active_minutes as integer) as lightly_active_minutes,
        cast(sedentary_minutes as integer) as sedentary_minutes,
        cast(calories as integer) as calories,
        _dlt_load_id as load_id

    from source

),

-- A day after today (UTC) cannot be real: it fails the source test `not_in_future` loudly,
-- and is dropped here too, so a run without the source tests never carries it into a mart
-- (one 2030 row used to move last_30_days to 2029). NULL dates stay for the not_null tests.
not_in_future as (

    select * from renamed
    where activity_date is null or activity_date <= {{ floe_today() }}

),

-- Defensive: the dlt pipeline merges on (id, date) and a source test fails the build on a
-- duplicate, but if one slips through (e.g. the test is downgraded to warn) the row from the
-- latest load wins, so the grain below always holds.
deduplicated as (

    select * from not_in_future
    qualify row_number() over (
        partition by user_id, activity_date
        order by {{ dlt_load_order() }}
    ) = 1

),

final as (

    select
        user_id,
        activity_date,
        steps,
        distance_km,
        very_active_minutes,
        fairly_active_minutes,
        lightly_active_minutes,
        sedentary_minutes,
        calories,
        load_id

    from deduplicated

)

select * from final
