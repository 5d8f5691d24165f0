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

{# The metrics of unique_count_fields() as a SQL list of literals. #}
{% macro unique_count_metrics(fields) -%}
  {%- for row in fields %}{{ dbt.string_literal(row[0]) }}{% if not loop.last %}, {% endif %}{% endfor -%}
{%- endmacro %}

{#
  The rows of a usage history model (int_usage__*_history, keyed by account_id and period) that this
  run prices: the window's periods not issued yet, and, for issued months re-rated for late events,
  only the accounts being re-rated.
#}
{% macro priced_usage(history) -%}
select history.*
from {{ ref(history) }} as history
inner join {{ ref('int_billing_periods') }} as periods
    on history.period = periods.period and not periods.was_issued

union all

select history.*
from {{ ref(history) }} as history
inner join {{ ref('int_rerate_pairs') }} as rerate
    on history.account_id = rerate.account_id and history.period = rerate.period
{%- endmacro %}
