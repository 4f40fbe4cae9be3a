{%- set metrics = ['steps', 'active_minutes', 'calories', 'minutes_asleep'] -%}
{%- set min_days = var('deviation_min_baseline_days') -%}
{%- set z_threshold = var('deviation_z_threshold') -%}

with

baselines as (

    select * from {{ ref('user_baselines') }}

),

-- Long format: one row per user, day and metric, so the API and alerts filter on `metric`
-- instead of knowing four sets of columns. A metric without a value that day (no sleep
-- record) has nothing to deviate and is left out.
unpivoted as (

    {%- for metric in metrics %}

    select
        user_id,
        activity_date,
        '{{ metric }}' as metric,
        cast({{ metric }} as double) as metric_value,
        {{ metric }}_baseline_mean as baseline_mean,
        {{ metric }}_baseline_stddev as baseline_stddev,
        {{ metric }}_baseline_days as baseline_days
    from baselines
    where {{ metric }} is not null
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}

),

-- A z-score needs a baseline that rests on at least {{ min_days }} days (half the 28-day
-- window: fewer points give a standard deviation too noisy to call anything unusual, and new
-- users would be flagged on their first days) and that varies at all (stddev > 0).
scored as (

    select
        *,
        baseline_days >= {{ min_days }}
            and baseline_stddev > 0 as has_baseline,
        case
            when baseline_days >= {{ min_days }} and baseline_stddev > 0
                then (metric_value - baseline_mean) / baseline_stddev
        end as z_score

    from unpivoted

),

final as (

    select
        user_id,
        activity_date,
        metric,
        metric_value,
        baseline_mean,
        baseline_stddev,
        baseline_days,
        coalesce(has_baseline, false) as has_baseline,
        z_score,
        coalesce(abs(z_score) >= {{ z_threshold }}, false) as is_flagged,
        case
            when z_score >= {{ z_threshold }} then 'above'
            when z_score <= -{{ z_threshold }} then 'below'
        end as deviation_direction

    from scored

)

select * from final
