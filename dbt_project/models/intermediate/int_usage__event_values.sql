-- depends_on: {{ ref('stg_raw__usage_events') }}
-- depends_on: {{ ref('stg_catalog__metrics') }}
-- depends_on: {{ ref('int_billing_periods') }}
-- depends_on: {{ ref('int_rerate_pairs') }}
{#
  The one pass over the events. Grouping by day (and, for unique_count metrics, by the counted
  value) keeps everything downstream small while still letting any segment of days aggregate
  exactly: sums and counts add up, maxima take the max, distinct values are counted again.
  The window's bounds are literals so DuckDB can skip row groups outside them.
-#}
{%- set window = single_row(
    "select min(period_start), max(period_end) from " ~ ref('int_billing_periods') ~ " where not was_issued") %}
{%- set rerate = single_row(
    "select min(period_start), max(period_end) from " ~ ref('int_rerate_pairs')) %}
{%- set has_window = window is not none and window[0] is not none %}
{%- set has_rerate = rerate is not none and rerate[0] is not none %}

{%- set aggregated_columns %}
    select
        events.account_id,
        events.metric,
        events.usage_date,
        {{ unique_count_value(ref('stg_catalog__metrics')) }} as distinct_value,
        sum(events.quantity) as quantity_sum,
        count(*) as event_count,
        max(events.quantity) as quantity_max,
        count(*) filter (
            where events.landing_date >= cast(date_trunc('month', events.usage_date) + interval 1 month as date)
        ) as late_event_count
{%- endset %}

{%- if has_window %}
{{ aggregated_columns }}
from {{ ref('stg_raw__usage_events') }} as events
where events.occurred_at >= timestamp '{{ window[0] }}' and events.occurred_at < timestamp '{{ window[1] }}'
group by all
{%- endif %}

{%- if has_window and has_rerate %}
union all
{%- endif %}

{%- if has_rerate %}
{{ aggregated_columns }}
from {{ ref('stg_raw__usage_events') }} as events
inner join {{ ref('int_rerate_pairs') }} as rerate
    on events.account_id = rerate.account_id
    and events.occurred_at >= rerate.period_start and events.occurred_at < rerate.period_end
where events.occurred_at >= timestamp '{{ rerate[0] }}' and events.occurred_at < timestamp '{{ rerate[1] }}'
group by all
{%- endif %}

{%- if not has_window and not has_rerate %}
select
    cast(null as varchar) as account_id,
    cast(null as varchar) as metric,
    cast(null as date) as usage_date,
    cast(null as varchar) as distinct_value,
    cast(null as decimal(38, 6)) as quantity_sum,
    cast(null as bigint) as event_count,
    cast(null as decimal(18, 6)) as quantity_max,
    cast(null as bigint) as late_event_count
where false
{%- endif %}
