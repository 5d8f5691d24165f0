-- depends_on: {{ ref('int_billing_periods') }}
-- depends_on: {{ ref('int_rerate_pairs') }}
{#
  The daily usage of every period this run prices, from the incremental history (no event is read
  here): the window's periods not issued yet, and, for issued months re-rated for late events,
  only the accounts being re-rated.
#}
select history.*
from {{ ref('int_usage__daily_history') }} as history
inner join {{ ref('int_billing_periods') }} as periods
    on history.period = periods.period and not periods.was_issued

union all

select history.*
from {{ ref('int_usage__daily_history') }} as history
inner join {{ ref('int_rerate_pairs') }} as rerate
    on history.account_id = rerate.account_id and history.period = rerate.period
