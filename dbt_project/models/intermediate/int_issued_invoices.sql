{{ config(materialized='view') }}
{#- Issued invoice headers of issued periods (a close writes its periods last), as re-rating needs them. -#}
select invoice.account_id, invoice.period, invoice.late_event_count
from {{ ref('stg_ledger__issued_invoices') }} as invoice
inner join {{ ref('stg_ledger__issued_periods') }} as issued on invoice.period = issued.period
