{{ config(meta={'dagster': {'ref': {'name': 'fct_invoice_lines'}}}) }}
-- Every usage line of the window's open invoices prices exactly the rated quantity of its
-- segment and metric (0 when the segment had no usage of it).
select
    lines.line_id,
    lines.quantity as line_quantity,
    usage.quantity as rated_quantity
from {{ ref('fct_invoice_lines') }} as lines
inner join {{ ref('int_billing_periods') }} as period on lines.period = period.period and not period.was_issued
left join {{ ref('int_usage__segments') }} as usage
    on lines.segment_id = usage.segment_id and lines.metric = usage.metric and not usage.is_rerate
where lines.line_type = 'usage'
  and lines.quantity is distinct from coalesce(usage.quantity, 0)
