-- Freezes the invoices of every period closing in this run, after their lines.
-- depends_on: {{ ref('fct_issued_invoice_lines') }}
select
    invoices.*,
    period.as_of as issued_on
from {{ ref('fct_invoices') }} as invoices
inner join {{ ref('int_billing_periods') }} as period on invoices.period = period.period
where period.closes_now
