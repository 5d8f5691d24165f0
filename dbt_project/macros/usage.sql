{#
  The catalog's unique_count metrics and the event field each counts, read when the model runs:
  the scans below name them as literals instead of joining every event to the metrics table.
#}
{% macro unique_count_fields() -%}
  {%- if not execute -%}{{ return([]) }}{%- endif -%}
  {%- set allowed = ['user_id', 'endpoint', 'request_id'] -%}
  {%- set rows = run_query("select metric, unique_field from " ~ ref('stg_catalog__metrics')
                           ~ " where aggregation = 'unique_count' order by metric").rows -%}
  {%- for row in rows if row[1] not in allowed -%}
    {{ exceptions.raise_compiler_error("metric " ~ row[0] ~ ": unique_count field " ~ row[1] ~ " is not one of " ~ allowed) }}
  {%- endfor -%}
  {{ return(rows) }}
{%- endmacro %}

{# The value a unique_count metric counts, for one event of `events`. #}
{% macro unique_count_value(fields, events='events') -%}
  case {{ events }}.metric
  {%- for row in fields %}
    when {{ dbt.string_literal(row[0]) }} then {{ events }}.{{ row[1] }}
  {%- endfor %}
  end
{%- endmacro %}

{# One compile-time row of a small model (e.g. the window's bounds), or none when not executing. #}
{% macro single_row(sql) -%}
  {%- if not execute -%}{{ return(none) }}{%- endif -%}
  {%- set rows = run_query(sql).rows -%}
  {{ return(rows[0] if rows | length > 0 and rows[0][0] is not none else none) }}
{%- endmacro %}

{#
  The events of every period this run prices, aggregated with `select_list` / `group_by` over the
  alias `events`: the window's open months in one range scan (literal bounds, so DuckDB skips row
  groups outside them) and, for issued months re-rated for late events, only the accounts being
  re-rated. With late_only, only events that landed after their month ended; the literal
  pre-filter on landing_date lets DuckDB skip every row group landed before the first month ended.
#}
{% macro scan_rated_events(select_list, group_by, where='true', late_only=false) -%}
  {%- set window = single_row("select min(period_start), max(period_end) from " ~ ref('int_billing_periods')
                              ~ " where not was_issued") -%}
  {%- set rerate = single_row("select min(period_start), max(period_end) from " ~ ref('int_rerate_pairs')) -%}
  {%- set late_sql = "events.landing_date >= cast(date_trunc('month', events.usage_date) + interval 1 month as date)" -%}
  {%- set scans = [] -%}
  {%- for bounds, join in [(window, ''), (rerate, 'inner join ' ~ ref('int_rerate_pairs') ~ ' as rerate on events.account_id = rerate.account_id'
                                                    ~ ' and events.occurred_at >= rerate.period_start and events.occurred_at < rerate.period_end')]
        if bounds is not none -%}
    {%- set scan -%}
    {{ select_list }}
    from {{ ref('stg_raw__usage_events') }} as events
    {{ join }}
    where events.occurred_at >= timestamp '{{ bounds[0] }}' and events.occurred_at < timestamp '{{ bounds[1] }}'
      and ({{ where }})
      {%- if late_only %}
      and events.landing_date >= cast(date '{{ bounds[0] }}' + interval 1 month as date) and {{ late_sql }}
      {%- endif %}
    group by {{ group_by }}
    {%- endset -%}
    {%- do scans.append(scan) -%}
  {%- endfor -%}
  {%- if scans | length == 0 -%}
    {{ select_list }} from {{ ref('stg_raw__usage_events') }} as events where false group by {{ group_by }}
  {%- else -%}
    {{ scans | join('\n    union all\n') }}
  {%- endif -%}
{%- endmacro %}

{# The metrics of unique_count_fields() as a SQL list of literals. #}
{% macro unique_count_metrics(fields) -%}
  {%- for row in fields %}{{ dbt.string_literal(row[0]) }}{% if not loop.last %}, {% endif %}{% endfor -%}
{%- endmacro %}
