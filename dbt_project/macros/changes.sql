{#
  Incremental usage models: each run rebuilds only the (usage day, account) pairs that ingestion
  changed since the model last ran, as a partition overwrite: DuckDB deletes the pairs' rows and
  inserts them again; Spark, whose Parquet tables cannot delete rows, rebuilds the changed pairs'
  whole partitions (every account of a changed usage day: see replaces_accounts) and replaces
  those partitions (macros/spark_incremental.sql).

  Ingestion logs each load in raw.ingest_loads and the pairs it changed in raw.usage_changes
  (billing_pipeline/lib/ingest/usage_events.py). Each model records in usage_watermarks the last
  load it has taken in, and the catalog key it was built under (for distinct values: which field
  each unique_count metric counts); a changed key rebuilds the model whole, as does a full refresh
  or a missing table. Re-running a pair is always safe: it is rebuilt from the loaded events.
#}

{% macro create_usage_watermarks() -%}
  {{ return(adapter.dispatch('create_usage_watermarks', 'billing')()) }}
{%- endmacro %}

{% macro default__create_usage_watermarks() -%}
create table if not exists {{ target.schema }}.usage_watermarks (
    model varchar primary key, through_load_id bigint not null, catalog_key varchar not null, built_at timestamp not null
)
{%- endmacro %}

{#
  On Spark each model keeps its mark in its own table's properties (spark__set_usage_watermark):
  a metastore update, where rows in a shared table would be concurrent writes to one Parquet table
  (which Spark does not support), and a table built again starts without a mark.
#}
{% macro spark__create_usage_watermarks() -%}
{%- endmacro %}

{# The model's mark: (through_load_id, catalog_key), or none. #}
{% macro usage_watermark() -%}
  {{ return(adapter.dispatch('usage_watermark', 'billing')()) }}
{%- endmacro %}

{% macro default__usage_watermark() -%}
  {%- set rows = run_query("select through_load_id, catalog_key from " ~ target.schema ~ ".usage_watermarks where model = '"
                           ~ this.identifier ~ "'").rows -%}
  {{ return((rows[0][0], rows[0][1]) if rows | length > 0 else none) }}
{%- endmacro %}

{% macro spark__usage_watermark() -%}
  {%- if load_relation(this) is none -%}{{ return(none) }}{%- endif -%}
  {%- set properties = {} -%}
  {%- for row in run_query('show tblproperties ' ~ this).rows -%}{%- do properties.update({row[0]: row[1]}) -%}{%- endfor -%}
  {%- if 'billing.through_load_id' not in properties -%}{{ return(none) }}{%- endif -%}
  {{ return((properties['billing.through_load_id'] | int, properties.get('billing.catalog_key', ''))) }}
{%- endmacro %}

{#
  Whether a run of an incremental usage model replaces (usage day or period, account) pairs (where
  the warehouse deletes rows) or whole days or periods, every account (where it overwrites partitions).
#}
{% macro replaces_accounts() -%}
  {{ return(adapter.dispatch('replaces_accounts', 'billing')()) }}
{%- endmacro %}

{% macro default__replaces_accounts() -%}
  {{ return(true) }}
{%- endmacro %}

{% macro spark__replaces_accounts() -%}
  {{ return(false) }}
{%- endmacro %}

{#
  What the model was built under besides the events: for a model counting distinct values
  (config counts_distinct_values), which field each unique_count metric counts.
#}
{% macro usage_catalog_key() -%}
  {%- if not config.get('counts_distinct_values', false) -%}{{ return('') }}{%- endif -%}
  {%- set pairs = [] -%}
  {%- for row in unique_count_fields() -%}{%- do pairs.append(row[0] ~ '=' ~ row[1]) -%}{%- endfor -%}
  {{ return(pairs | join(',')) }}
{%- endmacro %}

{#
  What this run of an incremental usage model covers: none (nothing changed), 'all', or the loads
  (since, through]. Returned as a dict: scope ('none' | 'all' | 'changes'), since, through.
#}
{% macro usage_change_scope() -%}
  {%- if not execute -%}{{ return({'scope': 'all', 'since': 0, 'through': 0}) }}{%- endif -%}
  {%- set through = run_query("select coalesce(max(load_id), 0) from " ~ ref('stg_raw__usage_changes')).rows[0][0] -%}
  {%- set mark = usage_watermark() -%}
  {%- if not is_incremental() or mark is none or mark[1] != usage_catalog_key() -%}
    {{ return({'scope': 'all', 'since': 0, 'through': through}) }}
  {%- elif mark[0] >= through -%}
    {{ return({'scope': 'none', 'since': through, 'through': through}) }}
  {%- endif -%}
  {{ return({'scope': 'changes', 'since': mark[0], 'through': through}) }}
{%- endmacro %}

{#
  The changed keys of `scope`: (usage_date, account_id), without account_id where whole partitions
  are replaced.
#}
{% macro changed_keys_sql(scope) -%}
  select distinct usage_date
    {%- if replaces_accounts() %}, account_id{% endif %}
  from {{ ref('stg_raw__usage_changes') }}
  where load_id > {{ scope['since'] }} and load_id <= {{ scope['through'] }}
{%- endmacro %}

{#
  The events a run of an incremental usage model reads, as `events`: all of them, none, or those of
  the changed pairs, with literal occurred_at bounds around them so DuckDB skips the row groups of
  every other day.
#}
{% macro changed_events(scope, where='true') -%}
  {%- set relation = ref('stg_raw__usage_events') -%}
  {%- if scope['scope'] == 'all' -%}
    (select * from {{ relation }} where {{ where }}) as events
  {%- elif scope['scope'] == 'none' -%}
    (select * from {{ relation }} where false) as events
  {%- else -%}
    {%- set bounds = run_query("select min(usage_date), max(usage_date) + 1 from " ~ ref('stg_raw__usage_changes')
                               ~ " where load_id > " ~ scope['since'] ~ " and load_id <= " ~ scope['through']).rows[0] -%}
    (select * from {{ relation }} as e
     where e.occurred_at >= timestamp '{{ bounds[0] }}' and e.occurred_at < timestamp '{{ bounds[1] }}' and ({{ where }})
       and exists (select 1 from ({{ changed_keys_sql(scope) }}) as changed
                   where {% if replaces_accounts() %}changed.account_id = e.account_id and{% endif %}
                   changed.usage_date = e.usage_date)
    ) as events
  {%- endif -%}
{%- endmacro %}

{# post-hook: the model has taken in every load logged so far, under its catalog key. #}
{% macro record_usage_watermark() -%}
  {%- if execute -%}
  {%- set through = run_query("select coalesce(max(load_id), 0) from " ~ ref('stg_raw__usage_changes')).rows[0][0] -%}
  {{ adapter.dispatch('set_usage_watermark', 'billing')(this.identifier, through, usage_catalog_key()) }}
  {%- endif -%}
{%- endmacro %}

{% macro default__set_usage_watermark(model, through, catalog_key) -%}
  insert or replace into {{ target.schema }}.usage_watermarks
  values ('{{ model }}', {{ through }}, '{{ catalog_key }}', now()::timestamp)
{%- endmacro %}

{% macro spark__set_usage_watermark(model, through, catalog_key) -%}
  alter table {{ this }} set tblproperties ('billing.through_load_id' = '{{ through }}', 'billing.catalog_key' = '{{ catalog_key }}')
{%- endmacro %}

{#
  Incremental strategy `replace_changed`: delete the target's rows of the changed pairs (every row
  when the scope is 'all'), then insert what the model computed for them.
#}
{% macro get_incremental_replace_changed_sql(arg_dict) -%}
  {{ return(adapter.dispatch('get_incremental_replace_changed_sql', 'billing')(arg_dict)) }}
{%- endmacro %}

{% macro default__get_incremental_replace_changed_sql(arg_dict) -%}
  {%- set target = arg_dict['target_relation'] -%}
  {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
  {%- set scope = usage_change_scope() -%}
  {%- if scope['scope'] == 'all' %}
  delete from {{ target }};
  {%- elif scope['scope'] == 'changes' %}
  delete from {{ target }} as t
  where exists (select 1 from ({{ changed_keys_sql(scope) }}) as changed
                where changed.account_id = t.account_id and changed.usage_date = t.usage_date);
  {%- endif %}
  insert into {{ target }} ({{ columns }})
  select {{ columns }} from {{ arg_dict['temp_relation'] }}
{%- endmacro %}
