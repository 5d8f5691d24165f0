"""The usage snapshot's rows, read from the warehouse: each quota snapshot account's open period.

The accounts and periods are fct_quota_status's (the quota snapshot's, same run), so the two files
describe the same accounts; the marts hold other periods too, joined away on (account_id, period).
"""

import duckdb
import polars as pl

from billing_pipeline.exchange.usage_snapshot import USAGE_SCHEMA

USAGE_ROWS_SQL = """
with accounts as (
    select distinct account_id, period, period_start, period_end, currency from fct_quota_status
),
metrics as (
    -- every catalog metric, so that events the API accepts later have their aggregation at hand
    select accounts.account_id,
           list({'metric': catalog_metrics.metric_code, 'aggregation': catalog_metrics.aggregation,
                 'quantity': coalesce(monthly.quantity, 0)::decimal(38, 9),
                 'usage_cents': coalesce(lines.usage_cents, 0)::bigint}
                order by catalog_metrics.metric_code) as metrics
    from accounts
    cross join catalog.metrics as catalog_metrics
    left join fct_usage_monthly as monthly
        on accounts.account_id = monthly.account_id and accounts.period = monthly.period
        and catalog_metrics.metric_code = monthly.metric
    left join (select account_id, period, metric, sum(amount_cents) as usage_cents
               from fct_invoice_lines where line_type = 'usage' group by all) as lines
        on accounts.account_id = lines.account_id and accounts.period = lines.period
        and catalog_metrics.metric_code = lines.metric
    group by accounts.account_id
),
days as (
    select daily.account_id,
           list({'metric': daily.metric, 'usage_date': daily.usage_date, 'quantity': daily.quantity::decimal(38, 9)}
                order by daily.metric, daily.usage_date) as days
    from fct_usage_daily as daily
    inner join accounts on daily.account_id = accounts.account_id and daily.period = accounts.period
    group by daily.account_id
)
select accounts.account_id,
       accounts.period,
       accounts.period_start,
       accounts.period_end,
       upper(accounts.currency) as currency,
       currencies.minor_unit_exponent::integer as exponent,
       invoice.rated_as_of,
       invoice.subtotal_cents as draft_subtotal_cents,
       invoice.discount_cents as draft_discount_cents,
       invoice.credits_applied_cents as draft_credits_applied_cents,
       invoice.total_cents as draft_total_cents,
       metrics.metrics,
       coalesce(days.days, []) as days
from accounts
inner join catalog.currencies as currencies on lower(currencies.currency) = lower(accounts.currency)
left join fct_invoices as invoice on accounts.account_id = invoice.account_id and accounts.period = invoice.period
inner join metrics on accounts.account_id = metrics.account_id
left join days on accounts.account_id = days.account_id
order by accounts.account_id
"""


def usage_rows(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The usage snapshot's rows (USAGE_SCHEMA), from the warehouse."""
    frame = pl.from_arrow(con.sql(USAGE_ROWS_SQL).to_arrow_table())
    assert isinstance(frame, pl.DataFrame)
    return frame.cast(USAGE_SCHEMA)  # type: ignore[arg-type]
