{#
  Exact quantity helpers. Quantities are DECIMAL(38, 9) (9 places, below 10^29); DuckDB would
  turn decimal division into DOUBLE, so divisions are integer divisions of exact integers.
#}

{# floor(quantity x numerator / denominator) as a whole number of units, e.g. a prorated allowance:
   floor(q x n) = floor(q) x n + floor(fraction(q) x n) in HUGEINT (DECIMAL(38, 0) on Spark:
   macros/engine.sql), which holds any quantity x n, then floor(x / d) = floor(x) // d for an integer d > 0 #}
{% macro prorated_whole_units(quantity, numerator, denominator) -%}
  {%- set scaled -%}
    cast(floor({{ quantity }}) as {{ wide_integer() }}) * ({{ numerator }})
    + cast(floor((({{ quantity }}) - floor({{ quantity }})) * ({{ numerator }})) as {{ wide_integer() }})
  {%- endset -%}
cast({{ integer_divide(scaled, 'cast(' ~ denominator ~ ' as ' ~ wide_integer() ~ ')') }} as decimal(38, 9))
{%- endmacro %}

{# ceil(quantity / size) for quantity >= 0 and size > 0: whole packages, over both as exact
   nano-units (HUGEINT, or Spark's DECIMAL(38, 0), holds any DECIMAL(38, 9) x 10^9) #}
{% macro packages_needed(quantity, size) -%}
(
  {{ integer_divide(_nano_units(quantity) ~ ' + ' ~ _nano_units(size) ~ ' - 1', _nano_units(size)) }}
)
{%- endmacro %}

{% macro _nano_units(quantity) -%}
(
  cast(floor(cast({{ quantity }} as decimal(38, 9))) as {{ wide_integer() }}) * 1000000000
  + cast((cast({{ quantity }} as decimal(38, 9)) - floor(cast({{ quantity }} as decimal(38, 9)))) * 1000000000 as {{ wide_integer() }})
)
{%- endmacro %}
