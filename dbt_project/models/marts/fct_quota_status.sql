-- Quota status of the open period as of the run's as_of date: per account and metric charged by
-- the plan in force that day, the segment's usage against its allowance and limit.
with open_period as (
    select *
    from {{ ref('int_billing_periods') }}
    where is_open and not was_issued
),

current_charges as (
    select priced.*, open_period.as_of
    from {{ ref('int_usage_charges__priced') }} as priced
    inner join open_period on priced.period = open_period.period
    where not priced.is_rerate
      and priced.segment_start <= open_period.as_of
      and priced.segment_end > open_period.as_of
)

select
    charge.account_id,
    charge.metric,
    charge.period,
    charge.included_quantity as included,
    charge.usage_limit as "limit",
    charge.quantity as used,
    case when charge.usage_limit is not null then greatest(charge.usage_limit - charge.quantity, 0) end as remaining,
    case
        when charge.usage_limit > 0 then cast(round(charge.quantity * 100 / charge.usage_limit, 2) as decimal(12, 2))
    end as percent_used,
    case
        when charge.usage_limit is null then 'unlimited'
        when charge.quantity > charge.usage_limit then 'over_limit'
        -- 80% of the limit: exact on decimals
        when charge.quantity * 5 >= charge.usage_limit * 4 then 'approaching_limit'
        else 'ok'
    end as status,
    charge.enforcement,
    greatest(charge.included_quantity - charge.quantity, 0) as included_remaining,
    account.account_status,
    -- what the quota API refuses: everything for a suspended account, and more use at a hard limit
    account.account_status = 'suspended'
        or (charge.enforcement = 'hard' and charge.usage_limit is not null and charge.quantity >= charge.usage_limit) as is_blocked,
    charge.plan_code,
    charge.is_trial,
    charge.segment_start,
    charge.segment_end,
    charge.as_of
from current_charges as charge
inner join {{ ref('stg_catalog__accounts') }} as account on charge.account_id = account.account_id
