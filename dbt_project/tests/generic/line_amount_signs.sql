{#
  Charge lines (base fee, usage, minimum) are never negative; discount and credit lines never
  positive. Adjustments may go either way: re-rating can lower a volume-priced amount.
#}
{% test line_amount_signs(model, column_name='amount_cents') %}
select line_type, {{ column_name }}
from {{ model }}
where (line_type in ('base_fee', 'usage', 'minimum') and {{ column_name }} < 0)
   or (line_type in ('discount', 'credit') and {{ column_name }} > 0)
{% endtest %}
