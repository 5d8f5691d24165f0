{#
  Money precision (README "Pricing rules", Money):
  - catalog prices and amounts are DECIMAL(38, 12), below 10^17; percentages have 12 places;
  - quantities are DECIMAL(38, 9);
  - a priced amount, quantity (9 places) x price (12 places), is DECIMAL(38, 21): exact, with 17
    digits before the point (DuckDB raises an overflow error beyond them, it never rounds).
#}

{#
  The one conversion from exact decimal money to integer minor units (cents for usd, yen for jpy).

  amount          an exact, non-negative DECIMAL expression, at any scale up to 21 places
  minor_per_major 10 ^ the currency's minor unit exponent (stg_catalog__currencies.minor_per_major)
  divisor         optional positive integer: the result is amount / divisor, so prorated amounts
                  (base fee x days / days in month) and percentages (cents x percent / 100) stay
                  exact until this single rounding

  Rounding is half-up: floor((2 x amount x minor_per_major + divisor) / (2 x divisor)). DuckDB
  turns DECIMAL division into DOUBLE, so only the numerator is decimal, floored exactly to an
  integer first; floor(x / d) = floor(x) // d for an integer d > 0 (macros/engine.sql
  integer_divide: HUGEINT on DuckDB, DECIMAL(38, 0) on Spark). The numerator keeps the
  amount's own scale, so 2 x amount x minor_per_major + divisor must stay below 10^17 at scale 21
  (amounts under 5 x 10^14 major units of a two-decimal currency), or DuckDB raises an overflow
  error.
#}
{% macro to_minor_units(amount, minor_per_major, divisor=1) -%}
  {%- set doubled -%}cast(floor(({{ amount }}) * ({{ minor_per_major }}) * 2 + ({{ divisor }})) as {{ wide_integer() }}){%- endset -%}
  {%- set doubled_divisor -%}2 * cast({{ divisor }} as {{ wide_integer() }}){%- endset -%}
cast({{ integer_divide(doubled, doubled_divisor) }} as bigint)
{%- endmacro %}

{#
  Exact money before rounding: DECIMAL(38, 21) holds quantity (9 places) x price (12 places)
  without loss. Cast every branch of a CASE and every term of a sum to it: DuckDB otherwise
  unifies mixed decimals to the smaller scale and would silently drop digits.
#}
{% macro exact(expression) -%}
cast({{ expression }} as decimal(38, 21))
{%- endmacro %}
