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

{#
  The window's months that have started by as_of, oldest first, as (period, first day, first day
  of the next month) ISO strings. Computed from vars alone, so models that must walk months in
  order (credits carry over) can unroll them at compile time.
#}
{% macro window_months() -%}
  {%- set date = modules.datetime.date -%}
  {%- set first = date.fromisoformat(var('period_start')) -%}
  {%- set stop = date.fromisoformat(var('period_end')) -%}
  {%- set as_of = date.fromisoformat(var('as_of')) -%}
  {%- if first.day != 1 or stop.day != 1 -%}
    {{ exceptions.raise_compiler_error("period_start and period_end must be first days of months") }}
  {%- endif -%}
  {%- set months = [] -%}
  {%- for offset in range((stop.year - first.year) * 12 + stop.month - first.month) -%}
    {%- set index = first.year * 12 + first.month - 1 + offset -%}
    {%- set start = date(index // 12, index % 12 + 1, 1) -%}
    {%- set end = date((index + 1) // 12, (index + 1) % 12 + 1, 1) -%}
    {%- if start <= as_of -%}
      {%- do months.append((start.strftime('%Y-%m'), start.isoformat(), end.isoformat())) -%}
    {%- endif -%}
  {%- endfor -%}
  {{ return(months) }}
{%- endmacro %}
