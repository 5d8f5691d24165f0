{{ config(meta={'dagster': {'ref': {'name': 'int_usage__segments'}}}) }}
-- depends_on: {{ ref('int_billing_periods') }}
-- depends_on: {{ ref('stg_raw__usage_events') }}
-- depends_on: {{ ref('stg_catalog__metrics') }}
{#
  Reconciliation: for every account, metric, period and segment of the window's open invoices,
  the deduplicated raw events aggregated here, independently of the rating models, give exactly
  the quantity and event count the rating priced (trial and included units counted; days without
  a subscription form one uncovered row per period).
-#}
{%- set window = single_row(
    "select min(period_start), max(period_end) from " ~ ref('int_billing_periods') ~ " where not was_issued") %}

with segments as (
    select * from {{ ref('int_subscription_segments') }} where not is_rerate
),

raw_usage as (
{%- if window is not none and window[0] is not none %}
    select
        events.account_id,
        events.metric,
        strftime(any_value(date_trunc('month', events.usage_date)), '%Y-%m') as period,
        segments.segment_id,
        case metric.aggregation
            when 'sum' then sum(events.quantity)
            when 'count' then count(*)
            when 'max' then max(events.quantity)
            when 'unique_count' then count(distinct case metric.unique_field
                when 'user_id' then events.user_id
                when 'endpoint' then events.endpoint
                when 'request_id' then events.request_id
            end)
        end as quantity,
        count(*) as event_count
    from {{ ref('stg_raw__usage_events') }} as events
    inner join {{ ref('stg_catalog__metrics') }} as metric on events.metric = metric.metric
    left join segments
        on events.account_id = segments.account_id
        and events.usage_date >= segments.segment_start
        and events.usage_date < segments.segment_end
    where events.occurred_at >= timestamp '{{ window[0] }}' and events.occurred_at < timestamp '{{ window[1] }}'
    group by events.account_id, events.metric, date_trunc('month', events.usage_date), segments.segment_id, metric.aggregation
{%- else %}
    select
        cast(null as varchar) as account_id, cast(null as varchar) as metric, cast(null as varchar) as period,
        cast(null as varchar) as segment_id, cast(null as decimal(38, 6)) as quantity, cast(null as bigint) as event_count
    where false
{%- endif %}
),

rated_usage as (
    select account_id, metric, period, segment_id, quantity, event_count
    from {{ ref('int_usage__segments') }}
    where not is_rerate
)

select
    coalesce(raw_usage.account_id, rated_usage.account_id) as account_id,
    coalesce(raw_usage.metric, rated_usage.metric) as metric,
    coalesce(raw_usage.period, rated_usage.period) as period,
    coalesce(raw_usage.segment_id, rated_usage.segment_id) as segment_id,
    raw_usage.quantity as raw_quantity,
    rated_usage.quantity as rated_quantity,
    raw_usage.event_count as raw_event_count,
    rated_usage.event_count as rated_event_count
from raw_usage
full outer join rated_usage
    on raw_usage.account_id = rated_usage.account_id
    and raw_usage.metric = rated_usage.metric
    and raw_usage.period = rated_usage.period
    and raw_usage.segment_id is not distinct from rated_usage.segment_id
where raw_usage.quantity is distinct from rated_usage.quantity
   or raw_usage.event_count is distinct from rated_usage.event_count
