{#
  A metric's quantity over any set of int_usage__event_values rows, per its aggregation:
  sum of quantities, count of events, peak quantity, or distinct counted values.
#}
{% macro aggregated_quantity(aggregation, rows='') -%}
  {%- set prefix = rows ~ '.' if rows else '' -%}
  cast(case {{ aggregation }}
      when 'sum' then sum({{ prefix }}quantity_sum)
      when 'count' then sum({{ prefix }}event_count)
      when 'max' then max({{ prefix }}quantity_max)
      when 'unique_count' then count(distinct {{ prefix }}distinct_value)
  end as decimal(38, 6))
{%- endmacro %}
