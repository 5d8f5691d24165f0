-- depends_on: {{ ref('fct_credit_ledger') }}
-- depends_on: {{ ref('fct_usage_daily') }}
-- depends_on: {{ ref('fct_usage_monthly') }}
-- depends_on: {{ ref('fct_quota_status') }}
-- depends_on: {{ ref('dim_accounts') }}
-- depends_on: {{ ref('dim_plans') }}
{#
  Freezes the lines of every period closing in this run. It sits downstream of every rating mart,
  so `dbt build` skips it (and the rest of the ledger) when any blocking check failed.
-#}
select
    lines.*,
    period.as_of as issued_on
from {{ ref('fct_invoice_lines') }} as lines
inner join {{ ref('int_billing_periods') }} as period on lines.period = period.period
where period.closes_now
