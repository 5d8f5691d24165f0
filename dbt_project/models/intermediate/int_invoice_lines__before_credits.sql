-- Every line of the window's open invoices except credits: charges and discount of the period
-- itself, and adjustments for late events of earlier, issued periods.
select
    *,
    cast(null as varchar) as adjusts_period,
    cast(null as bigint) as late_event_count
from {{ ref('int_invoice_lines__charges') }}
where not is_rerate

union all by name

select
    *,
    cast(null as varchar) as adjusts_period,
    cast(null as bigint) as late_event_count
from {{ ref('int_invoice_lines__discounts') }}
where not is_rerate

union all by name

select * from {{ ref('int_invoice_lines__adjustments') }}
