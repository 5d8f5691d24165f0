-- Metered usage per account, metric and UTC day of the window's open periods, with the
-- subscription covering the day (none: metered, not billed).
select
    usage.account_id,
    usage.metric,
    usage.usage_date,
    period.period,
    metric.aggregation,
    {{ aggregated_quantity('metric.aggregation', 'usage') }} as quantity,
    sum(usage.event_count) as event_count,
    sum(usage.late_event_count) as late_event_count,
    segment.subscription_id,
    segment.plan_code,
    coalesce(segment.is_trial, false) as is_trial,
    segment.segment_id is not null as is_covered
from {{ ref('int_usage__event_values') }} as usage
inner join {{ ref('int_rated_periods') }} as period
    on strftime(usage.usage_date, '%Y-%m') = period.period and not period.is_rerate
inner join {{ ref('stg_catalog__metrics') }} as metric on usage.metric = metric.metric
left join {{ ref('int_subscription_segments') }} as segment
    on usage.account_id = segment.account_id
    and usage.usage_date >= segment.segment_start
    and usage.usage_date < segment.segment_end
group by
    usage.account_id, usage.metric, usage.usage_date, period.period, metric.aggregation,
    segment.subscription_id, segment.plan_code, segment.is_trial, segment.segment_id
