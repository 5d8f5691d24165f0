-- Every charge of every segment with its usage and its allowance prorated to the segment's days.
select
    segment.segment_id,
    segment.subscription_id,
    segment.account_id,
    segment.period,
    segment.is_rerate,
    segment.invoice_period,
    segment.plan_code,
    segment.segment_start,
    segment.segment_end,
    segment.segment_days,
    segment.days_in_period,
    segment.is_trial,
    charge.metric,
    charge.model,
    coalesce(usage.quantity, 0) as quantity,
    coalesce(usage.event_count, 0) as event_count,
    -- the allowance is for a whole month: a segment gets its share of days, in whole units
    {{ prorated_whole_units('charge.included', 'segment.segment_days', 'segment.days_in_period') }} as included_quantity,
    charge.usage_limit,
    charge.enforcement,
    charge.unit_price,
    charge.package_size,
    charge.package_price,
    charge.flat_fee,
    currency.currency,
    currency.minor_per_major
from {{ ref('int_subscription_segments') }} as segment
inner join {{ ref('int_plan_charges__effective') }} as charge
    on segment.account_id = charge.account_id and segment.plan_code = charge.plan_code
inner join {{ ref('int_account_currencies') }} as currency on segment.account_id = currency.account_id
left join {{ ref('int_usage__segments') }} as usage
    on segment.segment_id = usage.segment_id and charge.metric = usage.metric
