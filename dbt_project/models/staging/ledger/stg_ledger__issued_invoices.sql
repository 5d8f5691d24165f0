{{ config(materialized='view') }}
{#- The issued invoice headers earlier closes wrote, as far as re-rating needs them. -#}
{%- set ledger = issued_ledger('fct_issued_invoices') %}
{%- if ledger %}
select account_id, period, late_event_count
from {{ ledger }}
{%- else %}
select cast(null as string) as account_id, cast(null as string) as period, cast(null as bigint) as late_event_count
where false
{%- endif %}
