-- The commit mark of a close, written last: a period counts as issued once it is here.
select
    period.period,
    period.as_of as issued_on,
    count(invoices.invoice_id) as invoice_count,
    coalesce(sum(invoices.total_cents), 0) as total_cents
from {{ ref('int_billing_periods') }} as period
left join {{ ref('fct_issued_invoices') }} as invoices on period.period = invoices.period
where period.closes_now
group by period.period, period.as_of
