{{ config(materialized='view') }}
{#- Periods already issued by an earlier close, with their bounds. -#}
select
    period,
    cast(period || '-01' as date) as period_start,
    cast(cast(period || '-01' as date) + interval 1 month as date) as period_end,
    issued_on
from {{ ref('stg_ledger__issued_periods') }}
