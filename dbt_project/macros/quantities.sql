{#
  Exact quantity helpers. Quantities are DECIMAL(38, 6); DuckDB would turn decimal division into
  DOUBLE, so divisions go through HUGEINT micro-units.
#}

{# floor(quantity x numerator / denominator) as a whole number of units, e.g. a prorated allowance #}
{% macro prorated_whole_units(quantity, numerator, denominator) -%}
(
  (({{ quantity }})::decimal(38, 6) * 1000000)::hugeint * ({{ numerator }})
  // (({{ denominator }})::hugeint * 1000000)
)::decimal(38, 6)
{%- endmacro %}

{# ceil(quantity / size) for quantity >= 0 and size > 0: whole packages #}
{% macro packages_needed(quantity, size) -%}
(
  ((({{ quantity }})::decimal(38, 6) * 1000000)::hugeint + (({{ size }})::decimal(38, 6) * 1000000)::hugeint - 1)
  // (({{ size }})::decimal(38, 6) * 1000000)::hugeint
)
{%- endmacro %}
