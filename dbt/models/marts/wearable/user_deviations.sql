{%- set metrics = ['steps', 'active_minutes', 'calories', 'minutes_asleep'] -%}
{%- set min_days = var('deviation_min_baseline_days') -%}
{%- set z_threshold = var('deviation_z_threshold') -%}
{#- 1.4826 * MAD estimates the standard deviation of normally distributed values (1 / the
    0.75 quantile of the standard normal), so |z| >= 2 keeps its usual meaning. -#}
{%- set mad_to_stddev = 1.4826 -%}

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
        {{ metric }}_baseline_median as baseline_median,
        {{ metric }}_baseline_mad as baseline_mad,
        {{ metric }}_baseline_days as baseline_days
    from baselines
    where {{ metric }} is not null
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}

),

-- A robust z-score: (value - median) / (1.4826 * MAD), so an outlier in the window neither
-- shifts the centre nor inflates the spread (user_baselines). It needs a baseline that rests
-- on at least {{ min_days }} days (half the 28-day window: fewer points give a spread too
-- noisy to call anything unusual, and new users would be flagged on their first days) and
-- that varies at all (MAD > 0; the MAD is 0 when more than half of the days share one value).
scored as (

    select
        *,
        baseline_days >= {{ min_days }}
            and baseline_mad > 0 as has_baseline,
        case
            when baseline_days >= {{ min_days }} and baseline_mad > 0
                then (metric_value - baseline_median) / ({{ mad_to_stddev }} * baseline_mad)
        end as z_score

    from unpivoted

),

final as (

    select
        user_id,
        activity_date,
        metric,
        metric_value,
        baseline_median,
        baseline_mad,
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
