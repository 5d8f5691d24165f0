-- Metered usage per account, metric and period of the window's open invoices.
with totals as (
    select
        daily.account_id,
        daily.metric,
        daily.period,
        sum(daily.quantity_sum) as quantity_sum,
        sum(daily.event_count) as event_count,
        max(daily.quantity_max) as quantity_max,
        sum(daily.late_event_count) as late_event_count,
        min(daily.usage_date) as first_usage_date,
        max(daily.usage_date) as last_usage_date
    from {{ ref('int_usage__daily') }} as daily
    inner join {{ ref('int_rated_periods') }} as period on daily.period = period.period and not period.is_rerate
    group by all
),

distinct_counts as (
    select account_id, metric, period, count(distinct distinct_value) as distinct_count
    from {{ ref('int_usage__distinct_values') }}
    group by all
),

by_segment as (
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
    totals.account_id,
    totals.metric,
    totals.period,
    metric.aggregation,
    {{ aggregated_quantity('metric.aggregation', 'totals.quantity_sum', 'totals.event_count', 'totals.quantity_max',
                           'coalesce(distinct_counts.distinct_count, 0)') }} as quantity,
    totals.event_count,
    totals.late_event_count,
    totals.first_usage_date,
    totals.last_usage_date,
    coalesce(by_segment.segment_count, 0) as segment_count,
    coalesce(by_segment.trial_event_count, 0) as trial_event_count,
    coalesce(by_segment.uncovered_event_count, 0) as uncovered_event_count
from totals
inner join {{ ref('stg_catalog__metrics') }} as metric on totals.metric = metric.metric
left join distinct_counts
    on totals.account_id = distinct_counts.account_id
    and totals.metric = distinct_counts.metric
    and totals.period = distinct_counts.period
left join by_segment
    on totals.account_id = by_segment.account_id
    and totals.metric = by_segment.metric
    and totals.period = by_segment.period
