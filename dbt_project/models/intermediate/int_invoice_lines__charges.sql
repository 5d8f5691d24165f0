-- The charge lines of every rated account-period: base fee and usage per segment, and the
-- minimum charge true-up where a segment's charges fall short of its prorated minimum.
with fees as (
    select * from {{ ref('int_segment_fees') }}
),

usage as (
    select
        priced.*,
        metric.metric_name,
        plan.plan_name
    from {{ ref('int_usage_charges__priced') }} as priced
    inner join {{ ref('stg_catalog__metrics') }} as metric on priced.metric = metric.metric
    inner join {{ ref('stg_catalog__plans') }} as plan on priced.plan_code = plan.plan_code
),

segment_charges as (
    select segment_id, sum(amount_cents) as usage_cents
    from usage
    group by segment_id
)

select
    account_id,
    period,
    is_rerate,
    invoice_period,
    segment_id,
    'base_fee' as line_type,
    'base_fee:' || segment_id as line_key,
    cast(null as string) as metric,
    plan_code,
    cast(null as decimal(38, 9)) as quantity,
    cast(null as decimal(38, 9)) as included_quantity,
    cast(null as decimal(38, 9)) as billable_quantity,
    base_fee_cents as amount_cents,
    is_trial,
    segment_start as usage_start,
    segment_end as usage_end,
    plan_name || ' base fee'
        || case when segment_days < days_in_period then ' (' || segment_days || '/' || days_in_period || ' days)' else '' end
        || case when is_trial then ' - trial' else '' end as description
from fees

union all

select
    account_id,
    period,
    is_rerate,
    invoice_period,
    segment_id,
    'usage' as line_type,
    'usage:' || segment_id || ':' || metric as line_key,
    metric,
    plan_code,
    quantity,
    included_quantity,
    billable_quantity,
    amount_cents,
    is_trial,
    segment_start as usage_start,
    segment_end as usage_end,
    metric_name || ' (' || plan_name || ', ' || model || ')'
        || case when is_trial then ' - trial' else '' end as description
from usage

union all

select
    fees.account_id,
    fees.period,
    fees.is_rerate,
    fees.invoice_period,
    fees.segment_id,
    'minimum' as line_type,
    'minimum:' || fees.segment_id as line_key,
    cast(null as string) as metric,
    fees.plan_code,
    cast(null as decimal(38, 9)) as quantity,
    cast(null as decimal(38, 9)) as included_quantity,
    cast(null as decimal(38, 9)) as billable_quantity,
    fees.minimum_charge_cents - fees.base_fee_cents - coalesce(segment_charges.usage_cents, 0) as amount_cents,
    fees.is_trial,
    fees.segment_start as usage_start,
    fees.segment_end as usage_end,
    fees.plan_name || ' minimum charge true-up' as description
from fees
left join segment_charges on fees.segment_id = segment_charges.segment_id
where not fees.is_trial
  and fees.minimum_charge_cents > fees.base_fee_cents + coalesce(segment_charges.usage_cents, 0)
