{#
  An invoice's total is the sum of its lines, and every invoice has lines and every line an invoice.
  Applied to an invoice table; `lines` is the matching line table.
#}
{% test total_equals_sum_of_lines(model, lines) %}
with line_totals as (
    select invoice_id, sum(amount_cents) as lines_total_cents
    from {{ lines }}
    group by invoice_id
)
select
    coalesce(invoices.invoice_id, line_totals.invoice_id) as invoice_id,
    invoices.total_cents,
    line_totals.lines_total_cents
from {{ model }} as invoices
full outer join line_totals on invoices.invoice_id = line_totals.invoice_id
where invoices.total_cents is distinct from line_totals.lines_total_cents
{% endtest %}
