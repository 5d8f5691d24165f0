-- Usage of every rated period per account, metric and segment, aggregated per the metric.
-- Days no subscription covers form one uncovered row (segment_id null): metered, never billed.
with segments as (
    select * from {{ ref('int_subscription_segments') }}
),

totals as (
    select
        daily.account_id,
        daily.metric,
        daily.period,
        segments.segment_id,
        sum(daily.quantity_sum) as quantity_sum,
        sum(daily.event_count) as event_count,
        max(daily.quantity_max) as quantity_max,
        sum(daily.late_event_count) as late_event_count,
        min(daily.usage_date) as first_usage_date,
        max(daily.usage_date) as last_usage_date
    from {{ ref('int_usage__daily') }} as daily
    left join segments
        on daily.account_id = segments.account_id
        and daily.usage_date >= segments.segment_start
        and daily.usage_date < segments.segment_end
    group by all
),

segment_days as (
    select *, {{ day_bits('period_start', 'segment_start', 'segment_end') }} as day_mask
    from segments
),

covered_days as (
    select account_id, period, bit_or(day_mask) as day_mask
    from segment_days
    group by all
),

-- a value counts in every segment whose days meet the days it was seen on, and in the uncovered
-- row when it was also seen on a day no segment covers
distinct_counts as (
    select
        counted.account_id,
        counted.metric,
        counted.period,
        segment.segment_id,
        count(distinct counted.distinct_value) as distinct_count
    from {{ ref('int_usage__distinct_values') }} as counted
    inner join segment_days as segment
        on counted.account_id = segment.account_id
        and counted.period = segment.period
        and counted.day_mask & segment.day_mask != 0
    group by all

    union all

    select
        counted.account_id,
        counted.metric,
        counted.period,
        null as segment_id,
        count(distinct counted.distinct_value) as distinct_count
    from {{ ref('int_usage__distinct_values') }} as counted
    left join covered_days as covered
        on counted.account_id = covered.account_id and counted.period = covered.period
    where counted.day_mask & ~coalesce(covered.day_mask, 0) != 0
    group by all
)

select
    totals.account_id,
    totals.metric,
    totals.period,
    period.is_rerate,
    period.invoice_period,
    totals.segment_id,
    segment.subscription_id,
    segment.plan_code,
    coalesce(segment.is_trial, false) as is_trial,
    totals.segment_id is not null as is_covered,
    metric.aggregation,
    {{ aggregated_quantity('metric.aggregation', 'totals.quantity_sum', 'totals.event_count', 'totals.quantity_max',
                           'coalesce(distinct_counts.distinct_count, 0)') }} as quantity,
    totals.event_count,
    totals.late_event_count,
    totals.first_usage_date,
    totals.last_usage_date
from totals
inner join {{ ref('int_rated_periods') }} as period on totals.period = period.period
inner join {{ ref('stg_catalog__metrics') }} as metric on totals.metric = metric.metric
left join segments as segment on totals.segment_id = segment.segment_id
left join distinct_counts
    on totals.account_id = distinct_counts.account_id
    and totals.metric = distinct_counts.metric
    and totals.period = distinct_counts.period
    and totals.segment_id is not distinct from distinct_counts.segment_id
