{{ config(materialized='incremental', incremental_strategy='replace_changed',
          counts_distinct_values=true, on_schema_change='fail', partition_by=('usage_date' if target.type == 'spark' else none),
          post_hook="{{ record_usage_watermark() }}") }}
-- depends_on: {{ ref('stg_raw__usage_events') }}
-- depends_on: {{ ref('stg_raw__usage_changes') }}
-- depends_on: {{ ref('stg_catalog__metrics') }}
{#
  For unique_count metrics only, each distinct counted value per account, metric and UTC day, with
  that day's bit of the month (bit 0 = the 1st) as day_mask, kept for every day ever landed: a
  narrow scan of those metrics' events, so the main pass stays a plain aggregation.
  int_usage__distinct_values ORs a month's masks together; any run of days of the month (a day, a
  segment, the month) then counts the values whose mask meets its own. Events without the field
  keep a row with a null value (counted as no value): with event_count, the rows account for every
  event scanned, which the reconciliation checks against the main pass.

  Incremental (macros/changes.sql) at the grain of a day, like int_usage__daily_history: a run
  reads only the events of the (day, account) pairs ingestion changed, so its cost follows the new
  days, not the month (at the grain of a month, a changed day re-read its account's whole month).
  A change in which field a metric counts rebuilds it whole. A table built at the grain of a month
  by an earlier version is rebuilt whole once (macros/migrations.sql).
-#}
{%- set fields = unique_count_fields() %}
{%- set scope = usage_change_scope() %}
{%- if fields | length > 0 %}
select
    events.account_id,
    events.metric,
    events.usage_date,
    {{ period_of('events.usage_date') }} as period,
    {{ unique_count_value(fields) }} as distinct_value,
    cast(1 as bigint) << (dayofmonth(events.usage_date) - 1) as day_mask,
    count(*) as event_count
from {{ changed_events(scope, "metric in (" ~ unique_count_metrics(fields) ~ ")") }}
group by events.account_id, events.metric, events.usage_date, {{ unique_count_value(fields) }}
{%- else %}
select
    cast(null as string) as account_id,
    cast(null as string) as metric,
    cast(null as date) as usage_date,
    cast(null as string) as period,
    cast(null as string) as distinct_value,
    cast(null as bigint) as day_mask,
    cast(null as bigint) as event_count
where false
{%- endif %}
