{{ config(materialized='incremental', incremental_strategy='replace_changed',
          on_schema_change='fail', partition_by=('usage_date' if target.type == 'spark' else none),
          post_hook="{{ record_usage_watermark() }}") }}
-- depends_on: {{ ref('stg_raw__usage_events') }}
-- depends_on: {{ ref('stg_raw__usage_changes') }}
{#
  The main pass over the events, kept for every day ever landed: per account, metric and UTC day,
  the quantity sum, event count, peak quantity and how many of the events landed after their month
  ended (late). Incremental (macros/changes.sql): a run reads only the events of the (day, account)
  pairs ingestion changed since the last run and replaces those pairs' rows. Any run of days (a
  segment, the month) aggregates exactly from these: sums and counts add up, maxima take the max.
  Quantities are DECIMAL(38, 9), cast once per day here, not per event.
#}
{%- set scope = usage_change_scope() %}
select
    events.account_id,
    events.metric,
    events.usage_date,
    {{ period_of('events.usage_date') }} as period,
    cast(sum(events.quantity) as decimal(38, 9)) as quantity_sum,
    count(*) as event_count,
    cast(max(events.quantity) as decimal(38, 9)) as quantity_max,
    count(*) filter (where events.landing_date >= cast(date_trunc('month', events.usage_date) + interval 1 month as date))
        as late_event_count
from {{ changed_events(scope) }}
group by events.account_id, events.metric, events.usage_date
