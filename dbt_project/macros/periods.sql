{#
  The rating window: months [period_start, period_end) from vars, as 'YYYY-MM' periods.
  Every period-partitioned table is rewritten only inside this window, so re-running a month
  replaces exactly that month.
#}
{% macro window_period_filter(column) -%}
  ({{ column }} >= strftime(date '{{ var("period_start") }}', '%Y-%m')
   and {{ column }} < strftime(date '{{ var("period_end") }}', '%Y-%m'))
{%- endmacro %}

{#
  The issued ledger (fct_issued_*) is written at the end of a close and read at the start of the
  next run, which is a cycle ref() cannot express: readers get the relation directly, and none
  before the first close ever ran.
#}
{% macro issued_ledger(name) -%}
  {% if not execute %}{{ return(none) }}{% endif %}
  {{ return(adapter.get_relation(database=target.database, schema=target.schema, identifier=name)) }}
{%- endmacro %}
