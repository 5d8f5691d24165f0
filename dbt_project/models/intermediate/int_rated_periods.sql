-- Every period this run prices: the window's open invoices, and issued periods re-rated for late events.
select
    period,
    period_start,
    period_end,
    days_in_period,
    false as is_rerate,
    period as invoice_period
from {{ ref('int_billing_periods') }}
where not was_issued

union all

select distinct
    period,
    period_start,
    period_end,
    days_in_period,
    true as is_rerate,
    target_period as invoice_period
from {{ ref('int_rerate_pairs') }}
