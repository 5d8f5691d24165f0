-- Late events re-rated: for each re-rated (account, issued period), what the period is worth now
-- minus what was already invoiced for it (the issued invoice and any earlier adjustment),
-- as one line on the next open invoice naming the original period.
with rerated as (
    select account_id, period, invoice_period, sum(amount_cents) as net_cents
    from (
        select account_id, period, invoice_period, amount_cents from {{ ref('int_invoice_lines__charges') }} where is_rerate
        union all
        select account_id, period, invoice_period, amount_cents from {{ ref('int_invoice_lines__discounts') }} where is_rerate
    )
    group by all
),

invoiced as (
    select account_id, coalesce(adjusts_period, period) as period, sum(amount_cents) as net_cents
    from {{ ref('int_issued_invoice_lines') }}
    -- charge and discount lines count for their own period, adjustment lines for the one they adjust
    where line_type in ('base_fee', 'usage', 'minimum', 'discount', 'adjustment')
    group by all
)

select
    pair.account_id,
    pair.target_period as period,
    false as is_rerate,
    pair.target_period as invoice_period,
    cast(null as string) as segment_id,
    'adjustment' as line_type,
    'adjustment:' || pair.period as line_key,
    cast(null as string) as metric,
    cast(null as string) as plan_code,
    cast(null as decimal(38, 9)) as quantity,
    cast(null as decimal(38, 9)) as included_quantity,
    cast(null as decimal(38, 9)) as billable_quantity,
    coalesce(rerated.net_cents, 0) - coalesce(invoiced.net_cents, 0) as amount_cents,
    false as is_trial,
    pair.period_start as usage_start,
    pair.period_end as usage_end,
    'Adjustment for ' || pair.period || ': re-rated with ' || pair.new_late_event_count || ' late event'
        || case when pair.new_late_event_count = 1 then '' else 's' end as description,
    pair.period as adjusts_period,
    pair.late_event_count
from {{ ref('int_rerate_pairs') }} as pair
left join rerated on pair.account_id = rerated.account_id and pair.period = rerated.period
left join invoiced on pair.account_id = invoiced.account_id and pair.period = invoiced.period
-- only pairs whose next open invoice is in this run's window
inner join {{ ref('int_billing_periods') }} as target on pair.target_period = target.period and not target.was_issued
