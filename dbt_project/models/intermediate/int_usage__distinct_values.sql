-- depends_on: {{ ref('stg_raw__usage_events') }}
-- depends_on: {{ ref('stg_catalog__metrics') }}
-- depends_on: {{ ref('int_billing_periods') }}
-- depends_on: {{ ref('int_rerate_pairs') }}
{#
  For unique_count metrics only, each distinct counted value per account, metric and month, with
  the days of the month it was seen on as a bit mask (bit 0 = the 1st): a narrow scan of those
  metrics' events, so the main pass stays a plain aggregation. Any run of days of the month (a
  day, a segment, the month) counts the values whose mask meets its own, with one row per value
  and month instead of one per value and day. Events without the field keep a row with a null
  value (counted as no value): with event_count, the rows account for every event scanned, which
  the reconciliation checks against the main pass.
-#}
{%- set fields = unique_count_fields() %}
{%- if fields | length > 0 %}
select
    account_id,
    metric,
    strftime(month_start, '%Y-%m') as period,
    distinct_value,
    day_mask,
    event_count
from (
    {{ scan_rated_events(
        "select events.account_id, events.metric, date_trunc('month', events.usage_date) as month_start, "
            ~ unique_count_value(fields) ~ " as distinct_value,
            bit_or(1::bigint << (dayofmonth(events.usage_date) - 1)) as day_mask, count(*) as event_count",
        "events.account_id, events.metric, month_start, distinct_value",
        "events.metric in (" ~ unique_count_metrics(fields) ~ ")") }}
)
{%- else %}
select
    cast(null as varchar) as account_id,
    cast(null as varchar) as metric,
    cast(null as varchar) as period,
    cast(null as varchar) as distinct_value,
    cast(null as bigint) as day_mask,
    cast(null as bigint) as event_count
where false
{%- endif %}
