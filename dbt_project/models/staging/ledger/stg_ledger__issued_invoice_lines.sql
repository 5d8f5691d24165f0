{{ config(materialized='view') }}
{#- The issued invoice lines earlier closes wrote, as far as re-rating needs them. -#}
{%- set ledger = issued_ledger('fct_issued_invoice_lines') %}
{%- if ledger %}
select line_id, account_id, period, line_type, adjusts_period, amount_cents, late_event_count
from {{ ledger }}
{%- else %}
select
    cast(null as string) as line_id,
    cast(null as string) as account_id,
    cast(null as string) as period,
    cast(null as string) as line_type,
    cast(null as string) as adjusts_period,
    cast(null as bigint) as amount_cents,
    cast(null as bigint) as late_event_count
where false
{%- endif %}
