-- Metered usage per account, metric and period of the window's open invoices.
with by_segment as (
    select
        account_id,
        metric,
        period,
        count(*) filter (where is_covered) as segment_count,
        sum(event_count) filter (where is_trial) as trial_event_count,
        sum(event_count) filter (where not is_covered) as uncovered_event_count
    from {{ ref('int_usage__segments') }}
    where not is_rerate
    group by all
)

select
    usage.account_id,
    usage.metric,
    period.period,
    metric.aggregation,
    {{ aggregated_quantity('metric.aggregation', 'usage') }} as quantity,
    sum(usage.event_count) as event_count,
    sum(usage.late_event_count) as late_event_count,
    min(usage.usage_date) as first_usage_date,
    max(usage.usage_date) as last_usage_date,
    any_value(by_segment.segment_count) as segment_count,
    coalesce(any_value(by_segment.trial_event_count), 0) as trial_event_count,
    coalesce(any_value(by_segment.uncovered_event_count), 0) as uncovered_event_count
from {{ ref('int_usage__event_values') }} as usage
inner join {{ ref('int_rated_periods') }} as period
    on strftime(usage.usage_date, '%Y-%m') = period.period and not period.is_rerate
inner join {{ ref('stg_catalog__metrics') }} as metric on usage.metric = metric.metric
left join by_segment
    on usage.account_id = by_segment.account_id
    and usage.metric = by_segment.metric
    and period.period = by_segment.period
group by usage.account_id, usage.metric, period.period, metric.aggregation
