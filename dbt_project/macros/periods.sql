{#
  A value of the rating window (period_start, period_end, as_of, grace_days), as a string: from
  --vars (or a unit test's overrides) when given, else from the environment variable
  BILLING_RATING_<NAME>, which is how the Dagster asset passes it, else the default below (for
  `dbt parse` and ad-hoc runs). The environment, because dbt re-parses the whole project when
  --vars change (several seconds a run, as the window changes every day) but only the files that
  read an environment variable when its value changes.
#}
{% macro window_var(name) -%}
  {%- set defaults = {'period_start': '2026-01-01', 'period_end': '2026-02-01', 'as_of': '2026-02-04', 'grace_days': '3'} -%}
  {{ return(var(name, env_var('BILLING_RATING_' ~ name | upper, defaults[name])) | string) }}
{%- endmacro %}

{#
  The rating window: months [period_start, period_end), as 'YYYY-MM' periods.
  Every period-partitioned table is rewritten only inside this window, so re-running a month
  replaces exactly that month.
#}
{% macro window_period_filter(column) -%}
  ({{ column }} >= '{{ window_var("period_start")[:7] }}' and {{ column }} < '{{ window_var("period_end")[:7] }}')
{%- endmacro %}

{#
  A table of the issued ledger (source `ledger`: fct_issued_*, written at the end of a close and read
  by the next run), or none before the first close created it. The source is named first, so dbt
  records the dependency even when nothing is read.
#}
{% macro issued_ledger(name) -%}
  {%- set relation = source('ledger', name) -%}
  {% if not execute %}{{ return(none) }}{% endif %}
  {{ return(adapter.get_relation(database=relation.database, schema=relation.schema, identifier=relation.identifier)) }}
{%- endmacro %}

{#
  The window's months that have started by as_of, oldest first, as (period, first day, first day
  of the next month) ISO strings. Computed from vars alone, so models that must walk months in
  order (credits carry over) can unroll them at compile time.
#}
{% macro window_months() -%}
  {%- set date = modules.datetime.date -%}
  {%- set first = date.fromisoformat(window_var('period_start')) -%}
  {%- set stop = date.fromisoformat(window_var('period_end')) -%}
  {%- set as_of = date.fromisoformat(window_var('as_of')) -%}
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
