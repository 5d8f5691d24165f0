{#
  The SQL that differs between the engines the project builds on (docs/rating.md "Rating on
  Spark"): each construct one dispatched macro, `default__` DuckDB's SQL (the embedded default),
  `spark__` Spark SQL's. Everything else in the models is SQL both engines read the same way.
#}

{# The period ('YYYY-MM') a date falls in. #}
{% macro period_of(day) -%}
  {{ return(adapter.dispatch('period_of', 'billing')(day)) }}
{%- endmacro %}

{% macro default__period_of(day) -%}
strftime({{ day }}, '%Y-%m')
{%- endmacro %}

{% macro spark__period_of(day) -%}
date_format({{ day }}, 'yyyy-MM')
{%- endmacro %}

{# Whole `part`s (day, month) from start to end, counting boundaries crossed like DuckDB's datediff. #}
{% macro date_diff(part, start, end) -%}
  {{ return(adapter.dispatch('date_diff', 'billing')(part, start, end)) }}
{%- endmacro %}

{% macro default__date_diff(part, start, end) -%}
datediff('{{ part }}', {{ start }}, {{ end }})
{%- endmacro %}

{% macro spark__date_diff(part, start, end) -%}
timestampdiff({{ part }}, {{ start }}, {{ end }})
{%- endmacro %}

{# A one-column relation `month_start`: the first days of the months in [start, stop), oldest first. #}
{% macro month_starts(start, stop) -%}
  {{ return(adapter.dispatch('month_starts', 'billing')(start, stop)) }}
{%- endmacro %}

{% macro default__month_starts(start, stop) -%}
(select cast(range as date) as month_start from range({{ start }}, {{ stop }}, interval 1 month))
{%- endmacro %}

{# sequence() includes its end and refuses an end before its start: both guarded. #}
{% macro spark__month_starts(start, stop) -%}
(select month_start from (
    select explode(case when {{ start }} < {{ stop }} then sequence({{ start }}, {{ stop }}, interval 1 month) end) as month_start
 ) as months where month_start < {{ stop }})
{%- endmacro %}

{# The values of `expression` over the group, as a sorted list (an aggregate). #}
{% macro sorted_list(expression) -%}
  {{ return(adapter.dispatch('sorted_list', 'billing')(expression)) }}
{%- endmacro %}

{% macro default__sorted_list(expression) -%}
list({{ expression }} order by {{ expression }})
{%- endmacro %}

{% macro spark__sorted_list(expression) -%}
array_sort(collect_list({{ expression }}))
{%- endmacro %}

{# A list of the SQL expressions `items`, and its element at a 1-based index (null beyond its end). #}
{% macro list_of(items) -%}
  {{ return(adapter.dispatch('list_of', 'billing')(items)) }}
{%- endmacro %}

{% macro default__list_of(items) -%}
[{{ items | join(', ') }}]
{%- endmacro %}

{% macro spark__list_of(items) -%}
array({{ items | join(', ') }})
{%- endmacro %}

{% macro list_element(list, index) -%}
  {{ return(adapter.dispatch('list_element', 'billing')(list, index)) }}
{%- endmacro %}

{% macro default__list_element(list, index) -%}
{{ list }}[{{ index }}]
{%- endmacro %}

{# try_element_at: null past the end, like DuckDB (element_at raises in ANSI mode) #}
{% macro spark__list_element(list, index) -%}
try_element_at({{ list }}, {{ index }})
{%- endmacro %}

{#
  Exact integer arithmetic wider than BIGINT, for the intermediate results of the money and quantity
  rules (macros/money.sql, macros/quantities.sql): DuckDB's HUGEINT (below 1.7 x 10^38) with integer
  division; on Spark DECIMAL(38, 0), divided exactly as (a - a % b) / b, an exact quotient that
  Spark's decimal division (with spark.sql.decimalOperations.allowPrecisionLoss=false) returns
  without rounding. Spark's `div` is no alternative: on decimals it returns a BIGINT that wraps
  silently beyond 2^63. Operands are non-negative and the divisor positive.
#}
{% macro wide_integer() -%}
  {{ return(adapter.dispatch('wide_integer', 'billing')()) }}
{%- endmacro %}

{% macro default__wide_integer() -%}
hugeint
{%- endmacro %}

{% macro spark__wide_integer() -%}
decimal(38, 0)
{%- endmacro %}

{% macro integer_divide(dividend, divisor) -%}
  {{ return(adapter.dispatch('integer_divide', 'billing')(dividend, divisor)) }}
{%- endmacro %}

{% macro default__integer_divide(dividend, divisor) -%}
({{ dividend }}) // ({{ divisor }})
{%- endmacro %}

{# The quotient of DECIMAL(38, 0) operands has up to 20 digits before the point; ANSI mode raises beyond. #}
{% macro spark__integer_divide(dividend, divisor) -%}
cast((({{ dividend }}) - ({{ dividend }}) % ({{ divisor }})) / ({{ divisor }}) as decimal(38, 0))
{%- endmacro %}
