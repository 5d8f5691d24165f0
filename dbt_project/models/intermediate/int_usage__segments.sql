-- Usage of every rated period per account, metric and segment, aggregated per the metric.
-- Days no subscription covers form one uncovered row (segment_id null): metered, never billed.
with usage as (
    select
        event_values.*,
        strftime(event_values.usage_date, '%Y-%m') as period
    from {{ ref('int_usage__event_values') }} as event_values
)

select
    usage.account_id,
    usage.metric,
    usage.period,
    period.is_rerate,
    period.invoice_period,
    segment.segment_id,
    segment.subscription_id,
    segment.plan_code,
    coalesce(segment.is_trial, false) as is_trial,
    segment.segment_id is not null as is_covered,
    metric.aggregation,
    {{ aggregated_quantity('metric.aggregation', 'usage') }} as quantity,
    sum(usage.event_count) as event_count,
    sum(usage.late_event_count) as late_event_count,
    min(usage.usage_date) as first_usage_date,
    max(usage.usage_date) as last_usage_date
from usage
inner join {{ ref('int_rated_periods') }} as period on usage.period = period.period
inner join {{ ref('stg_catalog__metrics') }} as metric on usage.metric = metric.metric
left join {{ ref('int_subscription_segments') }} as segment
    on usage.account_id = segment.account_id
    and usage.usage_date >= segment.segment_start
    and usage.usage_date < segment.segment_end
group by
    usage.account_id, usage.metric, usage.period, period.is_rerate, period.invoice_period,
    segment.segment_id, segment.subscription_id, segment.plan_code, segment.is_trial, metric.aggregation
