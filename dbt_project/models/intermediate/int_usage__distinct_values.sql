-- depends_on: {{ ref('int_usage__distinct_values_history') }}
-- depends_on: {{ ref('int_billing_periods') }}
-- depends_on: {{ ref('int_rerate_pairs') }}
-- The distinct values of every period this run prices, from the incremental history (one row per
-- value and day there, one per value and month here): no event is read here.
select
    account_id,
    metric,
    period,
    distinct_value,
    bit_or(day_mask) as day_mask,
    cast(sum(event_count) as bigint) as event_count
from ({{ priced_usage('int_usage__distinct_values_history') }}) as history
group by account_id, metric, period, distinct_value
