{{ config(materialized='view') }}
{#- Issued invoice lines, as far as re-rating needs them. -#}
{%- set ledger = issued_ledger('fct_issued_invoice_lines') %}
{%- set periods = issued_ledger('fct_issued_periods') %}
{%- if ledger and periods %}
select
    line.account_id,
    line.period,
    line.line_type,
    line.adjusts_period,
    line.amount_cents,
    line.late_event_count
from {{ ledger }} as line
inner join {{ periods }} as issued on line.period = issued.period
{%- else %}
select
    cast(null as varchar) as account_id,
    cast(null as varchar) as period,
    cast(null as varchar) as line_type,
    cast(null as varchar) as adjusts_period,
    cast(null as bigint) as amount_cents,
    cast(null as bigint) as late_event_count
where false
{%- endif %}
