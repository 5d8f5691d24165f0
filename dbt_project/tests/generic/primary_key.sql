{#
  The columns identify a row: no two rows share them, and none of them is null except the ones
  listed in `nullable` (a null there is a value of its own, e.g. usage on no subscription). One
  query for what unique + not_null would check in two.
#}
{% test primary_key(model, columns, nullable=[]) %}
{%- set required = columns | reject('in', nullable) | list %}
select {{ columns | join(', ') }}, count(*) as occurrences
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{%- for column in required %} or {{ column }} is null{% endfor %}
{% endtest %}
