{#
  The project's incremental strategies on Spark (docs/spark.md).

  dbt-spark's incremental materialization knows only its own strategies (append, merge,
  insert_overwrite, microbatch) and never looks up a project's get_incremental_<name>_sql. Its two
  hooks below are redefined in the project (a root project's macro takes precedence over the
  adapter's of the same name): they let `replace_periods` and `replace_changed` through and run
  them, and hand every other strategy to dbt-spark unchanged.

  Plain Parquet tables cannot delete rows, so on Spark the strategies replace whole partitions: the
  period tables are partitioned by period, the usage histories by usage day, and a run
  drops the partitions it replaces, then inserts their new rows. Issued periods are never dropped.
#}

{% macro dbt_spark_validate_get_incremental_strategy(raw_strategy, file_format) -%}
  {%- if raw_strategy in ['replace_periods', 'replace_changed'] -%}
    {{ return(raw_strategy) }}
  {%- endif -%}
  {{ return(dbt_spark.dbt_spark_validate_get_incremental_strategy(raw_strategy, file_format)) }}
{%- endmacro %}

{% macro dbt_spark_get_incremental_sql(strategy, source, target, existing, unique_key, incremental_predicates) -%}
  {%- if strategy in ['replace_periods', 'replace_changed'] -%}
    {%- set arg_dict = {'target_relation': target, 'temp_relation': source, 'unique_key': unique_key,
                        'dest_columns': adapter.get_columns_in_relation(target),
                        'incremental_predicates': incremental_predicates} -%}
    {%- if strategy == 'replace_periods' -%}
      {{ return(get_incremental_replace_periods_sql(arg_dict)) }}
    {%- endif -%}
    {{ return(get_incremental_replace_changed_sql(arg_dict)) }}
  {%- endif -%}
  {{ return(dbt_spark.dbt_spark_get_incremental_sql(strategy, source, target, existing, unique_key, incremental_predicates)) }}
{%- endmacro %}

{#
  Drop the partitions of `target` holding rows where `condition` holds (one statement each: Spark
  runs one statement per call), after computing the new rows of `source`: `cache table` is eager,
  so a model reading its own table (fct_credit_balances) sees it as it was before the drop.
#}
{% macro spark_drop_partitions(source, target, column, condition) -%}
  {%- do run_query('cache table ' ~ source) -%}
  {%- set values = run_query('select distinct ' ~ column ~ ' from ' ~ target ~ ' where ' ~ condition).columns[0].values() -%}
  {%- for value in values %}
    {%- do run_query('alter table ' ~ target ~ ' drop if exists partition (' ~ column ~ " = '" ~ value ~ "')") -%}
  {%- endfor -%}
{%- endmacro %}

{% macro spark__get_incremental_replace_periods_sql(arg_dict) -%}
  {%- set target = arg_dict['target_relation'] -%}
  {%- set source = arg_dict['temp_relation'] -%}
  {%- set replaced = replaced_periods_filter(target) -%}
  {%- do spark_drop_partitions(source, target, 'period', replaced) -%}
  insert into table {{ target }}
  select {{ arg_dict['dest_columns'] | map(attribute='quoted') | join(', ') }} from {{ source }} where {{ replaced }}
{%- endmacro %}

{% macro spark__get_incremental_replace_changed_sql(arg_dict) -%}
  {%- set target = arg_dict['target_relation'] -%}
  {%- set source = arg_dict['temp_relation'] -%}
  {%- set scope = usage_change_scope() -%}
  {%- set columns = arg_dict['dest_columns'] | map(attribute='quoted') | join(', ') -%}
  {%- if scope['scope'] == 'all' -%}
    {#- every partition: a static overwrite replaces the whole table -#}
    {%- do run_query('set spark.sql.sources.partitionOverwriteMode = STATIC') -%}
  insert overwrite table {{ target }}
  select {{ columns }} from {{ source }}
  {%- else -%}
    {%- if scope['scope'] == 'changes' -%}
      {%- do spark_drop_partitions(source, target, 'usage_date',
                                   'usage_date in (select usage_date from (' ~ changed_keys_sql(scope) ~ ') as changed)') -%}
    {%- endif %}
  insert into table {{ target }}
  select {{ columns }} from {{ source }}
  {%- endif -%}
{%- endmacro %}
