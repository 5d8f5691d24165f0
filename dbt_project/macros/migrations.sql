{#
  Run before every invocation (dbt_project.yml on-run-start): brings tables written by an earlier
  version of the project to the types the models now produce, so their incremental builds go on
  instead of failing on_schema_change. Each step loses nothing: a type is only ever widened, and a
  table only dropped when this run builds it again from the loaded events.

  Quantities had 6 decimal places (DECIMAL(38, 6)) before they had 9: every such column of a
  table in the target schema becomes DECIMAL(38, 9). The issued ledger is widened too; its values
  stay what was issued.
#}
{% macro widen_quantity_columns() -%}
  {{ return(adapter.dispatch('widen_quantity_columns', 'billing')()) }}
{%- endmacro %}

{# Spark's tables were first written with today's types: nothing to widen. #}
{% macro spark__widen_quantity_columns() -%}
{%- endmacro %}

{% macro default__widen_quantity_columns() -%}
  {%- if execute -%}
    {%- set columns = run_query(
        "select c.table_name, c.column_name from information_schema.columns as c
         inner join information_schema.tables as t
             on c.table_catalog = t.table_catalog and c.table_schema = t.table_schema and c.table_name = t.table_name
         where c.table_catalog = '" ~ target.database ~ "' and c.table_schema = '" ~ target.schema ~ "'
           and t.table_type = 'BASE TABLE' and c.data_type = 'DECIMAL(38,6)'
         order by all").rows -%}
    {%- for table, column in columns %}
alter table {{ adapter.quote(target.schema) }}.{{ adapter.quote(table) }} alter column {{ adapter.quote(column) }} set data type decimal(38, 9);
    {%- endfor -%}
  {%- endif -%}
{%- endmacro %}

{#
  The distinct-values history was kept per account, metric and month before it was kept per day
  (int_usage__distinct_values_history): a table without usage_date, on either engine, is dropped
  by a run that builds the model, which then builds it whole from the loaded events (without a
  table it is not incremental) instead of failing on_schema_change. Once, at the cost of one full
  build of it.
#}
{% macro rebuild_month_grained_distinct_values() -%}
  {%- if execute and 'model.billing.int_usage__distinct_values_history' in selected_resources -%}
    {%- set history = adapter.get_relation(target.database, target.schema, 'int_usage__distinct_values_history') -%}
    {#- run_query and the hook's own statement open no transaction on DuckDB: one opened here (as
        adapter.get_columns_in_relation or adapter.drop_relation would) is rolled back after the
        hooks, with the drop and the usage_watermarks table created by the next hook -#}
    {%- if history is not none and 'usage_date' not in run_query('describe ' ~ history).columns[0].values() -%}
      {%- do adapter.cache_dropped(history) -%}
drop table if exists {{ history }}
    {%- endif -%}
  {%- endif -%}
{%- endmacro %}
