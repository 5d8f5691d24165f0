{{ config(materialized='view') }}
{#- Periods already issued by an earlier close (see issued_ledger for why this is not a ref). -#}
{%- set ledger = issued_ledger('fct_issued_periods') %}
{%- if ledger %}
select
    period,
    cast(strptime(period || '-01', '%Y-%m-%d') as date) as period_start,
    cast(strptime(period || '-01', '%Y-%m-%d') + interval 1 month as date) as period_end,
    issued_on
from {{ ledger }}
{%- else %}
select
    cast(null as varchar) as period,
    cast(null as date) as period_start,
    cast(null as date) as period_end,
    cast(null as date) as issued_on
where false
{%- endif %}
