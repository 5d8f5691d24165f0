{{ config(materialized='incremental', incremental_strategy='replace_changed', change_grain='month',
          counts_distinct_values=true, on_schema_change='fail', partition_by=('period' if target.type == 'spark' else none),
          post_hook="{{ record_usage_watermark() }}") }}
-- depends_on: {{ ref('stg_raw__usage_events') }}
-- depends_on: {{ ref('stg_raw__usage_changes') }}
-- depends_on: {{ ref('stg_catalog__metrics') }}
{#
  For unique_count metrics only, each distinct counted value per account, metric and month, with
  the days of the month it was seen on as a bit mask (bit 0 = the 1st), kept for every month ever
  landed: a narrow scan of those metrics' events, so the main pass stays a plain aggregation. Any
  run of days of the month (a day, a segment, the month) counts the values whose mask meets its
  own. Events without the field keep a row with a null value (counted as no value): with
  event_count, the rows account for every event scanned, which the reconciliation checks against
  the main pass.

  Incremental (macros/changes.sql) at the grain of a month: a run replaces the account-months
  ingestion changed since the last run (a mask spans the month, so a changed day re-reads its
  account's month of these metrics' events). A change in which field a metric counts rebuilds it whole.
-#}
{%- set fields = unique_count_fields() %}
{%- set scope = usage_change_scope() %}
{%- if fields | length > 0 %}
select
    events.account_id,
    events.metric,
    {{ period_of('events.usage_date') }} as period,
    {{ unique_count_value(fields) }} as distinct_value,
    bit_or(cast(1 as bigint) << (dayofmonth(events.usage_date) - 1)) as day_mask,
    count(*) as event_count
from {{ changed_events(scope, 'month', "metric in (" ~ unique_count_metrics(fields) ~ ")") }}
group by all
{%- else %}
select
    cast(null as string) as account_id,
    cast(null as string) as metric,
    cast(null as string) as period,
    cast(null as string) as distinct_value,
    cast(null as bigint) as day_mask,
    cast(null as bigint) as event_count
where false
{%- endif %}
