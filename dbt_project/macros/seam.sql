{#
  The seam between ingestion and rating on Spark (docs/spark.md): ingestion
  publishes the loaded events and the catalog as Parquet under BILLING_SEAM_DIR (default
  <BILLING_DATA_DIR>/warehouse/seam): raw/usage_events_loaded/landing_date=YYYY-MM-DD/*.parquet,
  raw/<table>/*.parquet and catalog/<table>/*.parquet. Before each invocation (on-run-start),
  every table of the `catalog` and `raw` sources becomes a view over its folder in the schema
  <target schema>_seam, which is where those sources point on Spark: the location is read when the
  run starts, so it is not part of the parsed project, and each run sees the folders' current files
  and landing days. DuckDB reads its own tables: nothing to do.
#}
{% macro register_seam() -%}
  {{ return(adapter.dispatch('register_seam', 'billing')()) }}
{%- endmacro %}

{% macro default__register_seam() -%}
{%- endmacro %}

{% macro spark__register_seam() -%}
  {%- if execute -%}
    {%- set seam = env_var('BILLING_SEAM_DIR', env_var('BILLING_DATA_DIR', 'data') ~ '/warehouse/seam') -%}
    {%- do run_query('create schema if not exists ' ~ target.schema ~ '_seam') -%}
    {%- for source in graph.sources.values() if source.source_name in ['catalog', 'raw'] -%}
      {%- do run_query('create or replace view ' ~ source.schema ~ '.' ~ source.identifier
                       ~ ' as select * from parquet.`' ~ seam ~ '/' ~ source.source_name ~ '/' ~ source.name ~ '`') -%}
    {%- endfor -%}
  {%- endif -%}
{%- endmacro %}
