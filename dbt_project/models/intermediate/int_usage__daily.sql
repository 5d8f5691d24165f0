-- depends_on: {{ ref('stg_raw__usage_events') }}
-- depends_on: {{ ref('int_billing_periods') }}
-- depends_on: {{ ref('int_rerate_pairs') }}
{#
  The main pass over the events: per account, metric and UTC day, the quantity sum, event count
  and peak quantity. Any run of days (a segment, the month) aggregates exactly from these: sums
  and counts add up, maxima take the max. Quantities are DECIMAL(38, 9), cast once per day here,
  not per event. Events that landed after their month ended are counted
  in a second, narrow scan that skips everything landed before the first month ended.
#}
with totals as (
    {{ scan_rated_events(
        "select events.account_id, events.metric, events.usage_date,
                cast(sum(events.quantity) as decimal(38, 9)) as quantity_sum, count(*) as event_count,
                cast(max(events.quantity) as decimal(38, 9)) as quantity_max",
        "events.account_id, events.metric, events.usage_date") }}
),

late as (
    {{ scan_rated_events(
        "select events.account_id, events.metric, events.usage_date, count(*) as late_event_count",
        "events.account_id, events.metric, events.usage_date", late_only=true) }}
)

select
    totals.account_id,
    totals.metric,
    totals.usage_date,
    strftime(totals.usage_date, '%Y-%m') as period,
    totals.quantity_sum,
    totals.event_count,
    totals.quantity_max,
    coalesce(late.late_event_count, 0) as late_event_count
from totals
left join late
    on totals.account_id = late.account_id and totals.metric = late.metric and totals.usage_date = late.usage_date
