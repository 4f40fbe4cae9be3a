{%- set metrics = ['steps', 'active_minutes', 'calories', 'minutes_asleep'] -%}

with

daily_health as (

    select * from {{ ref('user_daily_health') }}

),

-- The baseline of a day is the user's trailing 28 calendar days BEFORE it: the day itself is
-- excluded (so an unusual day cannot pull its own baseline), day -28 is included, day -29 is
-- not. RANGE over the date (not ROWS) makes missing days count as calendar days: a user who
-- did not wear the tracker for two weeks has a baseline resting on fewer days, not one that
-- reaches further back. NULL values (a night without sleep record) are ignored by the
-- aggregates, hence a day count per metric.
--
-- Robust statistics (issue 7, item 14): the centre is the median and the spread the median
-- absolute deviation (MAD), not the mean and standard deviation. One extreme day inside the
-- window (a 30,000-step day) moved the mean and inflated the stddev for the next 28 days,
-- hiding every anomaly after it; it barely moves the median and the MAD. DuckDB computes both
-- as window aggregates over the same RANGE frame.
baselines as (

    select
        user_id,
        activity_date,
        {%- for metric in metrics %}
        {{ metric }},
        median({{ metric }}) over trailing_28_days as {{ metric }}_baseline_median,
        mad({{ metric }}) over trailing_28_days as {{ metric }}_baseline_mad,
        count({{ metric }}) over trailing_28_days as {{ metric }}_baseline_days
        {%- if not loop.last %},{% endif %}
        {%- endfor %}

    from daily_health
    window trailing_28_days as (
        partition by user_id
        order by activity_date
        range between interval 28 days preceding and interval 1 day preceding
    )

),

final as (

    select * from baselines

)

select * from final
