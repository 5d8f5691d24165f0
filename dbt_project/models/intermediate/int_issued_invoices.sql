{{ config(materialized='view') }}
{#- Issued invoices, as far as re-rating needs them. -#}
{%- set ledger = issued_ledger('fct_issued_invoices') %}
{%- set periods = issued_ledger('fct_issued_periods') %}
{%- if ledger and periods %}
select
    invoice.account_id,
    invoice.period,
    invoice.late_event_count
from {{ ledger }} as invoice
inner join {{ periods }} as issued on invoice.period = issued.period
{%- else %}
select
    cast(null as varchar) as account_id,
    cast(null as varchar) as period,
    cast(null as bigint) as late_event_count
where false
{%- endif %}
