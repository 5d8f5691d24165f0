{{ config(meta={'dagster': {'ref': {'name': 'int_usage__segments'}}}) }}
-- depends_on: {{ ref('int_billing_periods') }}
-- depends_on: {{ ref('stg_raw__usage_changes') }}
-- depends_on: {{ ref('int_usage__daily_history') }}
-- depends_on: {{ ref('stg_catalog__metrics') }}
{#
  Reconciliation of the window's open invoices with the deduplicated raw events, as a chain:
  1. raw events -> main pass (int_usage__daily): one pass over the deduplicated source, read
     straight from it, per account, metric and period (event count, quantity sum, peak), compared
     with the month of the daily aggregate: an event lost, counted twice, moved to another account
     or metric, or with another quantity shows up here. (Grouping per account and per metric
     separately was measured slower than per cell, and would miss compensating moves);
  2. main pass -> distinct values: for unique_count metrics the distinct-values pass accounts for
     exactly the events the main pass counted, per account, metric and period;
  3. main pass -> segments: per account, metric and period, the quantity and event count the rating
     priced across its segments (trial and included units counted, days without a subscription
     included) equal those of the whole month, aggregated per the metric.
  A row is a mismatch; `check_name` says where the chain broke.

  Link 1 in a build of the usage_change selector (lib/rating/scope.py), given the last load the
  previous successful build took in as BILLING_RATING_CHANGED_AFTER_LOAD: per account, metric and
  day, only for the (day, account) pairs of the loads since, compared with the usage history. Every
  other pair was reconciled by the build that last changed it and has not changed since, and the
  next build of everything (a new as_of, so at least daily) reconciles the whole window again:
  a load the change log missed is caught there. The scan reads one day instead of the month.
-#}
{%- set changed_after = env_var('BILLING_RATING_CHANGED_AFTER_LOAD', '') %}
{%- set changes = {'scope': 'changes', 'since': changed_after | int, 'through': 9223372036854775807} %}
{%- set window = single_row("select min(period_start), max(period_end), count(*), min(period) from "
                            ~ ref('int_billing_periods') ~ " where not was_issued") %}
{#- one month (the usual run) needs no per-event month: every event of the scan is in it -#}
{%- set month = period_of("date_trunc('month', events.occurred_at)") %}
{%- set month_key = ", date_trunc('month', events.occurred_at)" %}
{%- if window is not none and window[2] == 1 %}
  {%- set month = "'" ~ window[3] ~ "'" %}
  {%- set month_key = "" %}
{%- endif %}

with open_periods as (
    select period from {{ ref('int_billing_periods') }} where not was_issued
),

raw_totals as (
{%- if changed_after %}
{%- set days = single_row("select min(usage_date), max(usage_date) + 1 from " ~ ref('stg_raw__usage_changes')
                          ~ " where load_id > " ~ changes['since']) %}
    select
        events.account_id,
        events.metric,
        cast(cast(events.occurred_at as date) as varchar) as period,
        count(*) as event_count,
        sum(events.quantity) as quantity_sum,
        max(events.quantity) as quantity_max
    from {{ source('raw', 'usage_events_loaded') }} as events
    inner join ({{ changed_keys_sql(changes) }}) as changed
        on events.account_id = changed.account_id and cast(events.occurred_at as date) = changed.usage_date
    where {% if days is none %}false{% else %}events.occurred_at >= timestamp '{{ days[0] }}'
      and events.occurred_at < timestamp '{{ days[1] }}'{% endif %}
    group by all
{%- elif window is not none %}
    select
        events.account_id,
        events.metric,
        {{ month }} as period,
        count(*) as event_count,
        sum(events.quantity) as quantity_sum,
        max(events.quantity) as quantity_max
    from {{ source('raw', 'usage_events_loaded') }} as events
    where events.occurred_at >= timestamp '{{ window[0] }}' and events.occurred_at < timestamp '{{ window[1] }}'
    group by events.account_id, events.metric{{ month_key }}
{%- else %}
    select cast(null as string) as account_id, cast(null as string) as metric,
           cast(null as string) as period, cast(null as bigint) as event_count, cast(null as decimal(38, 9)) as quantity_sum,
           cast(null as decimal(38, 9)) as quantity_max
    where false
{%- endif %}
),

daily as (
    select daily.*
    from {{ ref('int_usage__daily') }} as daily
    inner join open_periods on daily.period = open_periods.period
),

monthly as (
    select
        account_id,
        metric,
        period,
        sum(quantity_sum) as quantity_sum,
        sum(event_count) as event_count,
        max(quantity_max) as quantity_max
    from daily
    group by all
),

-- what link 1 compares with the raw events: the month, or the changed days of the history
rated_totals as (
{%- if changed_after %}
    select history.account_id, history.metric, cast(history.usage_date as varchar) as period,
           history.quantity_sum, history.event_count, history.quantity_max
    from {{ ref('int_usage__daily_history') }} as history
    inner join ({{ changed_keys_sql(changes) }}) as changed
        on history.account_id = changed.account_id and history.usage_date = changed.usage_date
{%- else %}
    select * from monthly
{%- endif %}
),

source_mismatches as (
    select
        'raw events' as check_name,
        coalesce(raw_totals.account_id, rated_totals.account_id) as account_id,
        coalesce(raw_totals.metric, rated_totals.metric) as metric,
        coalesce(raw_totals.period, rated_totals.period) as period,
        raw_totals.quantity_sum as expected_quantity,
        rated_totals.quantity_sum as rated_quantity,
        raw_totals.event_count as expected_event_count,
        rated_totals.event_count as rated_event_count
    from raw_totals
    full outer join rated_totals
        on raw_totals.account_id = rated_totals.account_id
        and raw_totals.metric = rated_totals.metric
        and raw_totals.period = rated_totals.period
    where raw_totals.event_count is distinct from rated_totals.event_count
       or raw_totals.quantity_sum is distinct from rated_totals.quantity_sum
       or raw_totals.quantity_max is distinct from rated_totals.quantity_max
),

distinct_counts as (
    select
        counted.account_id,
        counted.metric,
        counted.period,
        count(distinct counted.distinct_value) as distinct_count,
        sum(counted.event_count) as event_count
    from {{ ref('int_usage__distinct_values') }} as counted
    inner join open_periods on counted.period = open_periods.period
    group by all
),

distinct_mismatches as (
    select
        'distinct values' as check_name,
        coalesce(monthly.account_id, distinct_counts.account_id) as account_id,
        coalesce(monthly.metric, distinct_counts.metric) as metric,
        coalesce(monthly.period, distinct_counts.period) as period,
        cast(null as decimal(38, 9)) as expected_quantity,
        cast(null as decimal(38, 9)) as rated_quantity,
        monthly.event_count as expected_event_count,
        distinct_counts.event_count as rated_event_count
    from (
        select monthly.*
        from monthly
        inner join {{ ref('stg_catalog__metrics') }} as metric
            on monthly.metric = metric.metric and metric.aggregation = 'unique_count'
    ) as monthly
    full outer join distinct_counts
        on monthly.account_id = distinct_counts.account_id
        and monthly.metric = distinct_counts.metric
        and monthly.period = distinct_counts.period
    where monthly.event_count is distinct from distinct_counts.event_count
),

month_usage as (
    select
        monthly.account_id,
        monthly.metric,
        monthly.period,
        {{ aggregated_quantity('metric.aggregation', 'monthly.quantity_sum', 'monthly.event_count',
                               'monthly.quantity_max', 'coalesce(distinct_counts.distinct_count, 0)') }} as quantity,
        monthly.event_count
    from monthly
    inner join {{ ref('stg_catalog__metrics') }} as metric on monthly.metric = metric.metric
    left join distinct_counts
        on monthly.account_id = distinct_counts.account_id
        and monthly.metric = distinct_counts.metric
        and monthly.period = distinct_counts.period
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
            when 'unique_count' then coalesce(any_value(distinct_counts.distinct_count), 0)
            else sum(segments.quantity)
        end as quantity,
        sum(segments.event_count) as event_count
    from {{ ref('int_usage__segments') }} as segments
    left join distinct_counts
        on segments.account_id = distinct_counts.account_id
        and segments.metric = distinct_counts.metric
        and segments.period = distinct_counts.period
    where not segments.is_rerate
    group by segments.account_id, segments.metric, segments.period
),

segment_mismatches as (
    select
        'segments' as check_name,
        coalesce(month_usage.account_id, rated_usage.account_id) as account_id,
        coalesce(month_usage.metric, rated_usage.metric) as metric,
        coalesce(month_usage.period, rated_usage.period) as period,
        month_usage.quantity as expected_quantity,
        rated_usage.quantity as rated_quantity,
        month_usage.event_count as expected_event_count,
        rated_usage.event_count as rated_event_count
    from month_usage
    full outer join rated_usage
        on month_usage.account_id = rated_usage.account_id
        and month_usage.metric = rated_usage.metric
        and month_usage.period = rated_usage.period
    where month_usage.quantity is distinct from rated_usage.quantity
       or month_usage.event_count is distinct from rated_usage.event_count
)

select * from source_mismatches
union all
select * from distinct_mismatches
union all
select * from segment_mismatches
