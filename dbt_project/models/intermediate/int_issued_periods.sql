{{ config(materialized='view') }}
{#- Periods already issued by an earlier close, with their bounds. -#}
select
    period,
    cast(strptime(period || '-01', '%Y-%m-%d') as date) as period_start,
    cast(strptime(period || '-01', '%Y-%m-%d') + interval 1 month as date) as period_end,
    issued_on
from {{ ref('stg_ledger__issued_periods') }}
