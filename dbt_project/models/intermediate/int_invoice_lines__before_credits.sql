-- Every line of the window's open invoices except credits: charges and discount of the period
-- itself, and adjustments for late events of earlier, issued periods. The union is by position (Spark
-- SQL has no UNION BY NAME): the three inputs declare their columns in the same order, keep them so.
select
    *,
    cast(null as string) as adjusts_period,
    cast(null as bigint) as late_event_count
from {{ ref('int_invoice_lines__charges') }}
where not is_rerate

union all

select
    *,
    cast(null as string) as adjusts_period,
    cast(null as bigint) as late_event_count
from {{ ref('int_invoice_lines__discounts') }}
where not is_rerate

union all

select * from {{ ref('int_invoice_lines__adjustments') }}
