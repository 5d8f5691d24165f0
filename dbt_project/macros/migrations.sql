{#
  Run before every invocation (dbt_project.yml on-run-start): brings tables written by an earlier
  version of the project to the types the models now produce, so their incremental builds go on
  instead of failing on_schema_change. Each step only ever widens a type, losing nothing.

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
