-- Quota status of the open period as of the run's as_of date: per account and metric charged by
-- the plan in force that day, the segment's usage against its allowance and limit.
with open_period as (
    select *
    from {{ ref('int_billing_periods') }}
    where is_open and not was_issued
),

credits as (
    select account_id, period, sum(closing_cents) as credits_remaining_cents
    from {{ ref('fct_credit_balances') }}
    group by all
),

current_charges as (
    select priced.*, open_period.as_of, open_period.period_start, open_period.period_end
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
    cast(charge.included_quantity as decimal(18, 6)) as included,
    cast(charge.usage_limit as decimal(18, 6)) as {{ adapter.quote('limit') }},
    cast(charge.quantity as decimal(18, 6)) as used,
    cast(case when charge.usage_limit is not null then greatest(charge.usage_limit - charge.quantity, 0) end
         as decimal(18, 6)) as remaining,
    -- a display figure, not money (the division goes through DOUBLE, on every engine); a limit of 0 is all used up
    case
        when charge.usage_limit > 0
            then cast(least(round(cast(charge.quantity as double) * 100 / cast(charge.usage_limit as double), 2), 9999999.99) as decimal(9, 2))
        when charge.usage_limit = 0 then cast(100 as decimal(9, 2))
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
    case when charge.is_trial then charge.segment_end end as trial_ends_on,
    charge.period_start,
    charge.period_end,
    charge.segment_start,
    charge.segment_end,
    charge.currency,
    cast(coalesce(credits.credits_remaining_cents, 0) as bigint) as credits_remaining_cents,
    charge.as_of
from current_charges as charge
inner join {{ ref('stg_catalog__accounts') }} as account on charge.account_id = account.account_id
left join credits on charge.account_id = credits.account_id and charge.period = credits.period
