{#
  Incremental strategy for period-partitioned tables: replace the window's periods that are not
  issued yet with the new rows. Issued periods are never touched, even inside the window and even
  if a model produced rows for them, so an issued invoice (and everything it was computed from)
  never changes.
#}
{% macro get_incremental_replace_periods_sql(arg_dict) -%}
  {{ return(adapter.dispatch('get_incremental_replace_periods_sql', 'billing')(arg_dict)) }}
{%- endmacro %}

{# The condition on `period` of the rows a run replaces in `target`: the window's periods not issued. #}
{% macro replaced_periods_filter(target) -%}
  {#- Looked up by name, not as the ledger source: this runs for models that do not read the ledger. -#}
  {%- set issued = adapter.get_relation(database=target.database, schema=target.schema, identifier='fct_issued_periods') -%}
  {{ window_period_filter('period') }}
  {%- if issued %} and period not in (select period from {{ issued }}){% endif %}
{%- endmacro %}

{% macro default__get_incremental_replace_periods_sql(arg_dict) -%}
  {%- set target = arg_dict['target_relation'] -%}
  {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
  {%- set replaced = replaced_periods_filter(target) %}
  delete from {{ target }} where {{ replaced }};

  insert into {{ target }} ({{ columns }})
  select {{ columns }} from {{ arg_dict['temp_relation'] }} where {{ replaced }}
{%- endmacro %}
