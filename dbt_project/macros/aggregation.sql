{#
  A metric's quantity from aggregates over its events, per its aggregation: sum of quantities,
  count of events, peak quantity, or the number of distinct counted values; a quantity, so
  DECIMAL(38, 9) like the events' (macros/quantities.sql).
#}
{% macro aggregated_quantity(aggregation, quantity_sum, event_count, quantity_max, distinct_count) -%}
  cast(case {{ aggregation }}
      when 'sum' then {{ quantity_sum }}
      when 'count' then {{ event_count }}
      when 'max' then {{ quantity_max }}
      when 'unique_count' then {{ distinct_count }}
  end as decimal(38, 9))
{%- endmacro %}

{#
  The bit mask of the days [first_day, end_day) of the month starting on month_start, as the
  day_mask of int_usage__distinct_values holds them (bit d - 1 for day d). A value was seen in a
  run of days when its mask and the run's share a bit.
#}
{% macro day_bits(month_start, first_day, end_day) -%}
  ((cast(1 as bigint) << {{ date_diff('day', month_start, end_day) }}) - (cast(1 as bigint) << {{ date_diff('day', month_start, first_day) }}))
{%- endmacro %}
