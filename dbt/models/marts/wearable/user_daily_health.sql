with

activity as (

    select * from {{ ref('stg_wearable__daily_activity') }}

),

sleep as (

    select * from {{ ref('stg_wearable__sleep') }}

),

-- Activity drives the grain: a day with activity but no sleep record is kept with NULL sleep
-- (Fitbit users often do not wear the tracker at night). A sleep record without an activity
-- row for that day is not a tracked day and is left out.
joined as (

    select
        activity.user_id,
        activity.activity_date,
        activity.steps,
        activity.distance_km,
        activity.very_active_minutes,
        activity.fairly_active_minutes,
        activity.lightly_active_minutes,
        activity.very_active_minutes
            + activity.fairly_active_minutes
            + activity.lightly_active_minutes as active_minutes,
        activity.sedentary_minutes,
        activity.calories,
        sleep.minutes_asleep,
        sleep.minutes_in_bed,
        sleep.sleep_records,
        sleep.user_id is not null as has_sleep_record

    from activity
    left join sleep
        on activity.user_id = sleep.user_id
        and activity.activity_date = sleep.sleep_date

),

final as (

    select * from joined

)

select * from final
