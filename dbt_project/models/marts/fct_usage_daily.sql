-- Metered usage per account, metric and UTC day of the window's open periods, with the
-- subscription covering the day (none: metered, not billed).
with distinct_counts as (
    -- per account, metric and period, the values seen on each day of the month (list index = day):
    -- one pass over the values' day masks, no row per value and day
    select
        account_id,
        metric,
        period,
        {%- set days = [] %}
        {%- for day in range(31) %}
            {%- do days.append('count(distinct_value) filter (where day_mask & ' ~ 2 ** day ~ ' != 0)') %}
        {%- endfor %}
        {{ list_of(days) }} as per_day
    from {{ ref('int_usage__distinct_values') }}
    group by all
)

select
    daily.account_id,
    daily.metric,
    daily.usage_date,
    daily.period,
    metric.aggregation,
    {{ aggregated_quantity('metric.aggregation', 'daily.quantity_sum', 'daily.event_count', 'daily.quantity_max',
                           'coalesce(' ~ list_element('distinct_counts.per_day', 'dayofmonth(daily.usage_date)') ~ ', 0)') }} as quantity,
    daily.event_count,
    daily.late_event_count,
    segment.subscription_id,
    segment.plan_code,
    coalesce(segment.is_trial, false) as is_trial,
    segment.segment_id is not null as is_covered
from {{ ref('int_usage__daily') }} as daily
inner join {{ ref('int_rated_periods') }} as period on daily.period = period.period and not period.is_rerate
inner join {{ ref('stg_catalog__metrics') }} as metric on daily.metric = metric.metric
left join distinct_counts
    on daily.account_id = distinct_counts.account_id
    and daily.metric = distinct_counts.metric
    and daily.period = distinct_counts.period
left join {{ ref('int_subscription_segments') }} as segment
    on daily.account_id = segment.account_id
    and daily.usage_date >= segment.segment_start
    and daily.usage_date < segment.segment_end
