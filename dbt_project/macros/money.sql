{#
  The one conversion from exact decimal money to integer minor units (cents for usd, yen for jpy).

  amount          an exact, non-negative DECIMAL expression with at most 15 decimal places
  minor_per_major 10 ^ the currency's minor unit exponent (stg_catalog__currencies.minor_per_major)
  divisor         optional positive integer: the result is amount / divisor, so prorated amounts
                  (base fee x days / days in month) stay exact until this single rounding

  Rounding is half-up. DuckDB turns DECIMAL division into DOUBLE, so the arithmetic is done on
  HUGEINT femto-units (1e-15) instead: the integer and fractional parts are scaled separately so
  amounts of any realistic size fit.
#}
{% macro to_minor_units(amount, minor_per_major, divisor=1) -%}
(
  (
    2 * {{ _femto(amount) }} * ({{ minor_per_major }})::hugeint
    + ({{ divisor }})::hugeint * 1000000000000000
  ) // (2 * ({{ divisor }})::hugeint * 1000000000000000)
)::bigint
{%- endmacro %}

{% macro _femto(amount) -%}
(
  floor(({{ amount }})::decimal(38, 15))::hugeint * 1000000000000000
  + ((({{ amount }})::decimal(38, 15) - floor(({{ amount }})::decimal(38, 15))) * 1000000000000000)::hugeint
)
{%- endmacro %}

{#
  Exact money before rounding: DECIMAL(38, 15) holds quantity (6 places) x price (9 places)
  without loss. Cast every branch of a CASE and every term of a sum to it: DuckDB otherwise
  unifies mixed decimals to the smaller scale and would silently drop digits.
#}
{% macro exact(expression) -%}
cast({{ expression }} as decimal(38, 15))
{%- endmacro %}
