{#
  The value a unique_count metric counts, for one event: a CASE over the catalog's unique_count
  metrics, built when the model runs. A CASE on literals keeps the scan over all events free of a
  join to the metrics table.
#}
{% macro unique_count_value(metrics_relation) -%}
  {%- set fields = ['user_id', 'endpoint', 'request_id'] -%}
  {%- set rows = [] -%}
  {%- if execute -%}
    {%- set rows = run_query(
        "select metric, unique_field from " ~ metrics_relation
        ~ " where aggregation = 'unique_count' order by metric").rows -%}
  {%- endif -%}
  {%- if rows | length == 0 -%}
    cast(null as varchar)
  {%- else -%}
    case
    {%- for row in rows %}
      {%- if row[1] not in fields %}
        {{ exceptions.raise_compiler_error("metric " ~ row[0] ~ ": unique_count field " ~ row[1] ~ " is not one of " ~ fields) }}
      {%- endif %}
      when metric = {{ dbt.string_literal(row[0]) }} then {{ row[1] }}
    {%- endfor %}
    end
  {%- endif -%}
{%- endmacro %}

{# One compile-time row of a small model (e.g. the window's bounds), or none when not executing. #}
{% macro single_row(sql) -%}
  {%- if not execute -%}{{ return(none) }}{%- endif -%}
  {%- set rows = run_query(sql).rows -%}
  {{ return(rows[0] if rows | length > 0 else none) }}
{%- endmacro %}
