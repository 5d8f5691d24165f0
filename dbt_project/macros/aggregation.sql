{#
  A metric's quantity from aggregates over its events, per its aggregation: sum of quantities,
  count of events, peak quantity, or the number of distinct counted values.
#}
{% macro aggregated_quantity(aggregation, quantity_sum, event_count, quantity_max, distinct_count) -%}
  cast(case {{ aggregation }}
      when 'sum' then {{ quantity_sum }}
      when 'count' then {{ event_count }}
      when 'max' then {{ quantity_max }}
      when 'unique_count' then {{ distinct_count }}
  end as decimal(38, 6))
{%- endmacro %}
