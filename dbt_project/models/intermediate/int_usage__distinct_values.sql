-- depends_on: {{ ref('stg_raw__usage_events') }}
-- depends_on: {{ ref('stg_catalog__metrics') }}
-- depends_on: {{ ref('int_billing_periods') }}
-- depends_on: {{ ref('int_rerate_pairs') }}
{#
  For unique_count metrics only, the distinct counted values per account, metric and UTC day: a
  narrow scan of those metrics' events, so the main pass stays a plain aggregation. Any run of
  days counts its distinct values again from these rows. Events without the field keep a row with
  a null value (counted as no value): with event_count, the rows account for every event scanned,
  which the reconciliation checks against the main pass.
-#}
{%- set fields = unique_count_fields() %}
{%- if fields | length > 0 %}
{{ scan_rated_events(
    "select events.account_id, events.metric, events.usage_date, " ~ unique_count_value(fields) ~ " as distinct_value,
            count(*) as event_count",
    "events.account_id, events.metric, events.usage_date, distinct_value",
    "events.metric in (" ~ unique_count_metrics(fields) ~ ")") }}
{%- else %}
select
    cast(null as varchar) as account_id,
    cast(null as varchar) as metric,
    cast(null as date) as usage_date,
    cast(null as varchar) as distinct_value,
    cast(null as bigint) as event_count
where false
{%- endif %}
