{{ config(meta={'dagster': {'ref': {'name': 'int_usage__segments'}}}) }}
-- depends_on: {{ ref('int_billing_periods') }}
-- depends_on: {{ ref('stg_catalog__metrics') }}
{#
  Reconciliation: for every account, metric and period of the window's open invoices, the
  deduplicated raw events, aggregated here straight from the source, give exactly the quantity
  and event count the rating priced across its segments (trial and included units counted, days
  without a subscription included).
-#}
{%- set window = single_row("select min(period_start), max(period_end), count(*), min(period) from "
                            ~ ref('int_billing_periods') ~ " where not was_issued") %}
{%- set fields = unique_count_fields() %}
{#- one month (the usual run) needs no per-event month: every event of the scan is in it -#}
{%- set month = "strftime(date_trunc('month', events.occurred_at), '%Y-%m')" %}
{%- set month_key = ", date_trunc('month', events.occurred_at)" %}
{%- if window is not none and window[2] == 1 %}
  {%- set month = "'" ~ window[3] ~ "'" %}
  {%- set month_key = "" %}
{%- endif %}

with raw_totals as (
{%- if window is not none %}
    select
        events.account_id,
        events.metric,
        {{ month }} as period,
        sum(events.quantity) as quantity_sum,
        count(*) as event_count,
        max(events.quantity) as quantity_max
    from {{ source('raw', 'usage_events_loaded') }} as events
    where events.occurred_at >= timestamp '{{ window[0] }}' and events.occurred_at < timestamp '{{ window[1] }}'
    group by events.account_id, events.metric{{ month_key }}
{%- else %}
    select null::varchar as account_id, null::varchar as metric, null::varchar as period,
           null::decimal(38, 6) as quantity_sum, null::bigint as event_count, null::decimal(18, 6) as quantity_max
    where false
{%- endif %}
),

raw_distinct as (
{%- if window is not none and fields | length > 0 %}
    select
        events.account_id,
        events.metric,
        {{ month }} as period,
        count(distinct {{ unique_count_value(fields) }}) as distinct_count
    from {{ source('raw', 'usage_events_loaded') }} as events
    where events.occurred_at >= timestamp '{{ window[0] }}' and events.occurred_at < timestamp '{{ window[1] }}'
      and events.metric in ({{ unique_count_metrics(fields) }})
    group by events.account_id, events.metric{{ month_key }}
{%- else %}
    select null::varchar as account_id, null::varchar as metric, null::varchar as period, 0 as distinct_count
    where false
{%- endif %}
),

raw_usage as (
    select
        raw_totals.account_id,
        raw_totals.metric,
        raw_totals.period,
        {{ aggregated_quantity('metric.aggregation', 'raw_totals.quantity_sum', 'raw_totals.event_count',
                               'raw_totals.quantity_max', 'coalesce(raw_distinct.distinct_count, 0)') }} as quantity,
        raw_totals.event_count
    from raw_totals
    inner join {{ ref('stg_catalog__metrics') }} as metric on raw_totals.metric = metric.metric
    left join raw_distinct
        on raw_totals.account_id = raw_distinct.account_id
        and raw_totals.metric = raw_distinct.metric
        and raw_totals.period = raw_distinct.period
),

rated_distinct as (
    select account_id, metric, strftime(usage_date, '%Y-%m') as period, count(distinct distinct_value) as distinct_count
    from {{ ref('int_usage__distinct_values') }}
    group by all
),

rated_usage as (
    -- segments combine per the aggregation: sums and counts add up, the peak is the largest
    -- segment's, and distinct values are counted once over the whole month
    select
        segments.account_id,
        segments.metric,
        segments.period,
        case any_value(segments.aggregation)
            when 'max' then max(segments.quantity)
            when 'unique_count' then coalesce(any_value(rated_distinct.distinct_count), 0)
            else sum(segments.quantity)
        end as quantity,
        sum(segments.event_count) as event_count
    from {{ ref('int_usage__segments') }} as segments
    left join rated_distinct
        on segments.account_id = rated_distinct.account_id
        and segments.metric = rated_distinct.metric
        and segments.period = rated_distinct.period
    where not segments.is_rerate
    group by segments.account_id, segments.metric, segments.period
)

select
    coalesce(raw_usage.account_id, rated_usage.account_id) as account_id,
    coalesce(raw_usage.metric, rated_usage.metric) as metric,
    coalesce(raw_usage.period, rated_usage.period) as period,
    raw_usage.quantity as raw_quantity,
    rated_usage.quantity as rated_quantity,
    raw_usage.event_count as raw_event_count,
    rated_usage.event_count as rated_event_count
from raw_usage
full outer join rated_usage
    on raw_usage.account_id = rated_usage.account_id
    and raw_usage.metric = rated_usage.metric
    and raw_usage.period = rated_usage.period
where raw_usage.quantity is distinct from rated_usage.quantity
   or raw_usage.event_count is distinct from rated_usage.event_count
