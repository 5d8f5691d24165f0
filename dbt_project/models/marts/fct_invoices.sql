-- One invoice per account and period of the window that has any line.
with totals as (
    select
        invoice_id,
        account_id,
        period,
        sum(amount_cents) filter (where line_type in ('base_fee', 'usage', 'minimum', 'adjustment')) as subtotal_cents,
        -sum(amount_cents) filter (where line_type = 'discount') as discount_cents,
        -sum(amount_cents) filter (where line_type = 'credit') as credits_applied_cents,
        sum(amount_cents) filter (where line_type = 'adjustment') as adjustment_cents,
        sum(amount_cents) as total_cents,
        count(*) as line_count,
        bool_or(is_trial) as has_trial
    from {{ ref('fct_invoice_lines') }}
    group by all
),

late_events as (
    -- how many late-landed events this invoice priced: later re-rates compare against it
    select account_id, period, sum(late_event_count) as late_event_count
    from {{ ref('int_usage__segments') }}
    where not is_rerate
    group by all
)

select
    totals.invoice_id,
    totals.account_id,
    totals.period,
    currency.currency,
    cast(coalesce(totals.subtotal_cents, 0) as bigint) as subtotal_cents,
    cast(coalesce(totals.discount_cents, 0) as bigint) as discount_cents,
    cast(coalesce(totals.credits_applied_cents, 0) as bigint) as credits_applied_cents,
    cast(totals.total_cents as bigint) as total_cents,
    cast(coalesce(totals.adjustment_cents, 0) as bigint) as adjustment_cents,
    totals.line_count,
    totals.has_trial,
    cast(coalesce(late_events.late_event_count, 0) as bigint) as late_event_count,
    period.period_start,
    period.period_end,
    case when period.is_closed then 'closed' else 'open' end as period_status,
    period.as_of as rated_as_of
from totals
inner join {{ ref('int_billing_periods') }} as period on totals.period = period.period and not period.was_issued
inner join {{ ref('int_account_currencies') }} as currency on totals.account_id = currency.account_id
left join late_events on totals.account_id = late_events.account_id and totals.period = late_events.period
