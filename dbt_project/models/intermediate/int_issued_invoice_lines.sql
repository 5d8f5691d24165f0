{{ config(materialized='view') }}
{#- Issued invoice lines of issued periods (a close writes its periods last), as re-rating needs them. -#}
select line.account_id, line.period, line.line_type, line.adjusts_period, line.amount_cents, line.late_event_count
from {{ ref('stg_ledger__issued_invoice_lines') }} as line
inner join {{ ref('stg_ledger__issued_periods') }} as issued on line.period = issued.period
