{#
  Exact quantity helpers. Quantities are DECIMAL(38, 9) (9 places, below 10^29); DuckDB would
  turn decimal division into DOUBLE, so divisions are integer divisions of exact integers.
#}

{# floor(quantity x numerator / denominator) as a whole number of units, e.g. a prorated allowance:
   floor(q x n) = floor(q) x n + floor(fraction(q) x n) in HUGEINT, which holds any quantity x n,
   then floor(x / d) = floor(x) // d for an integer d > 0 #}
{% macro prorated_whole_units(quantity, numerator, denominator) -%}
(
  (
    floor({{ quantity }})::hugeint * ({{ numerator }})
    + floor((({{ quantity }}) - floor({{ quantity }})) * ({{ numerator }}))::hugeint
  ) // ({{ denominator }})::hugeint
)::decimal(38, 9)
{%- endmacro %}

{# ceil(quantity / size) for quantity >= 0 and size > 0: whole packages, over both as exact
   nano-units (HUGEINT holds any DECIMAL(38, 9) x 10^9) #}
{% macro packages_needed(quantity, size) -%}
(
  ({{ _nano_units(quantity) }} + {{ _nano_units(size) }} - 1) // {{ _nano_units(size) }}
)
{%- endmacro %}

{% macro _nano_units(quantity) -%}
(
  floor(({{ quantity }})::decimal(38, 9))::hugeint * 1000000000
  + ((({{ quantity }})::decimal(38, 9) - floor(({{ quantity }})::decimal(38, 9))) * 1000000000)::hugeint
)
{%- endmacro %}
