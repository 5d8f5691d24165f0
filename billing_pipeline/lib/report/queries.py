"""What the reports read: one issued period out of the warehouse (and the publication ledger) as polars frames.

Only issued periods are reported: fct_issued_* is the immutable ledger of closed months, so a report
re-run gives the same money. Catalog-side facts (names, tiers, trials) are read as they are now.
The connection is read-only: the report never writes the warehouse.
"""

import hashlib
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import date
from typing import Iterator

import duckdb
import polars as pl

from billing_pipeline.lib.periods import period_start
from billing_pipeline.lib.publish.issued import PeriodNotIssued
from billing_pipeline.lib.publish.schema import ensure_publish_schema
from billing_pipeline.lib.warehouse import relation_exists

TREND_PERIODS = 6
# A line's charge terms as rating applies them (int_plan_charges__effective: the account's custom
# price replaces any field it sets), read from the catalog views: the int_ tables hold only the
# plans of the latest rating window, and a report may be re-run long after its period was rated.
CHARGE_JOINS = """LEFT JOIN stg_catalog__plan_charges c ON c.plan_code = l.plan_code AND c.metric = l.metric
        LEFT JOIN stg_catalog__account_charge_overrides o ON o.account_id = l.account_id AND o.metric = l.metric"""
CHARGE_TERMS = """coalesce(o.model, c.model) AS charge_model, c.usage_limit, c.enforcement,
               coalesce(o.unit_price, c.unit_price) AS unit_price, coalesce(o.package_size, c.package_size) AS package_size,
               coalesce(o.package_price, c.package_price) AS package_price, coalesce(o.flat_fee, c.flat_fee) AS flat_fee"""


@dataclass(frozen=True)
class IssuedPeriod:
    period: str  # YYYY-MM
    start: date
    end: date  # first day of the next month
    issued_on: date
    invoice_count: int
    total_cents: int
    currency: str  # ISO 4217 code in capitals (USD), the one form every report file writes
    exponent: int  # minor unit exponent of the currency


@dataclass(frozen=True)
class PeriodData:
    """Everything one period's reports are built from."""

    period: IssuedPeriod
    invoices: pl.DataFrame
    lines: pl.DataFrame
    tiers: pl.DataFrame
    usage: pl.DataFrame
    credit_balances: pl.DataFrame
    credit_entries: pl.DataFrame
    trend: pl.DataFrame
    trials: pl.DataFrame
    publications: pl.DataFrame
    items: pl.DataFrame
    previous_period: str | None  # the issued period before this one
    previous: pl.DataFrame  # its invoices (none for the first issued period)

    def fingerprint(self) -> str:
        """SHA-256 of everything the reports are built from: equal fingerprints, equal reports, so a
        run rewrites a period's reports only when this changed (a payment, a publication, a catalog
        name), not on every run."""
        digest = hashlib.sha256(repr(self.period).encode() + repr(self.previous_period).encode())
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, pl.DataFrame):
                digest.update(f"{item.name}:{value.schema}\n".encode())
                digest.update(value.write_csv().encode())
        return digest.hexdigest()


def frame(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> pl.DataFrame:
    return pl.from_arrow(con.sql(sql, params=params or None).to_arrow_table())


def issued_period(con: duckdb.DuckDBPyConnection, period: str) -> IssuedPeriod:
    if not relation_exists(con, "main", "fct_issued_periods"):
        raise PeriodNotIssued(f"no period has been issued yet (fct_issued_periods does not exist): cannot report {period}")
    rows = con.execute(
        """SELECT p.issued_on, p.invoice_count, p.total_cents, list(DISTINCT i.currency ORDER BY i.currency)
           FROM fct_issued_periods p LEFT JOIN fct_issued_invoices i USING (period)
           WHERE p.period = ? GROUP BY ALL""", [period]).fetchall()
    if not rows:
        raise PeriodNotIssued(f"period {period} is not issued (not in fct_issued_periods): it is still open, its "
                              f"blocking checks failed, or it was never rated; reports cover issued periods only")
    [(issued_on, count, total, currencies)] = rows
    currencies = [c for c in currencies if c is not None]
    if len(currencies) > 1:
        raise ValueError(f"period {period} mixes currencies {currencies}; the catalog has one currency")
    # a period with no invoice still reports, in the catalog's currency
    currency = currencies[0] if currencies else con.execute("SELECT min(currency) FROM catalog.plans").fetchall()[0][0]
    [(exponent,)] = con.execute("SELECT minor_unit_exponent FROM catalog.currencies WHERE currency = ?", [currency]).fetchall()
    start = period_start(period)
    end = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return IssuedPeriod(period, start, end, issued_on, int(count), int(total), currency.upper(), int(exponent))


@contextmanager
def _ledger(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """The publication ledger, or an empty one of the same shape when nothing was ever published:
    the report reads a read-only warehouse and must not create the publisher's schema there."""
    if relation_exists(con, "publish", "invoice_publications"):
        yield con
        return
    empty = duckdb.connect()
    try:
        ensure_publish_schema(empty)
        # DuckDB 2.0 leaves the multi-statement DDL's result pending on that connection: read through a cursor
        yield empty.cursor()
    finally:
        empty.close()


def load_period(con: duckdb.DuckDBPyConnection, period: str) -> PeriodData:
    issued = issued_period(con, period)
    p = [period]
    invoices = frame(con, """
        SELECT i.invoice_id, i.account_id, coalesce(a.account_name, i.account_id) AS account_name, a.email,
               a.stripe_customer_id AS catalog_stripe_customer_id, upper(i.currency) AS currency, i.subtotal_cents, i.discount_cents,
               i.credits_applied_cents, i.adjustment_cents, i.total_cents, i.line_count, i.has_trial, i.issued_on
        FROM fct_issued_invoices i LEFT JOIN dim_accounts a USING (account_id)
        WHERE i.period = ? ORDER BY i.invoice_id""", p)
    # With each line, the catalog terms its amount is worked out from (statements show the working
    # where those terms still give the issued amount, see calculation.py); for a late-usage
    # adjustment, what had been invoiced for the period it adjusts before this invoice.
    lines = frame(con, f"""
        SELECT l.invoice_id, l.line_id, l.line_number, l.account_id, l.period, l.issued_on, l.line_type,
               l.metric, coalesce(m.name, l.metric) AS metric_name, m.unit, l.plan_code,
               coalesce(pl.plan_name, l.plan_code) AS plan_name, l.quantity, l.included_quantity,
               l.billable_quantity, l.amount_cents, l.is_trial, l.description, l.usage_start, l.usage_end,
               l.segment_id, l.adjusts_period, l.grant_id, g.kind AS credit_kind, {CHARGE_TERMS},
               pl.base_fee, pl.minimum_charge, d.discount_percent,
               CASE WHEN l.line_type = 'adjustment' THEN (
                   SELECT coalesce(sum(e.amount_cents), 0) FROM fct_issued_invoice_lines e
                   WHERE e.account_id = l.account_id
                     AND ((e.period = l.adjusts_period AND e.line_type IN ('base_fee', 'usage', 'minimum', 'discount'))
                          OR (e.line_type = 'adjustment' AND e.adjusts_period = l.adjusts_period AND e.period < l.period))
               ) END AS invoiced_before_cents
        FROM fct_issued_invoice_lines l
        LEFT JOIN catalog.metrics m ON m.metric_code = l.metric
        LEFT JOIN dim_plans pl ON pl.plan_code = l.plan_code
        LEFT JOIN catalog.credit_grants g ON g.grant_id = l.grant_id
        {CHARGE_JOINS}
        LEFT JOIN stg_catalog__account_discounts d ON d.account_id = l.account_id
        WHERE l.period = ? ORDER BY l.invoice_id, l.line_number""", p)
    # Each tier's share of a graduated or volume line, by the pricing rules in DESIGN.md; the statement
    # shows it only where it still adds up to the issued amount (tiers may have changed since).
    tiers = frame(con, f"""
        WITH priced AS (
            SELECT l.invoice_id, l.line_id, coalesce(o.model, c.model) AS model, l.billable_quantity AS billable,
                   t.tier_index, t.from_quantity, t.up_to, t.unit_price, t.flat_fee
            FROM fct_issued_invoice_lines l
            {CHARGE_JOINS}
            JOIN (SELECT NULL AS account_id, plan_code, metric, tier_index, from_quantity, up_to, unit_price, flat_fee
                  FROM stg_catalog__plan_tiers
                  UNION ALL
                  SELECT account_id, NULL, metric, tier_index, from_quantity, up_to, unit_price, flat_fee
                  FROM stg_catalog__account_tier_overrides) t
              ON t.metric = l.metric AND CASE WHEN coalesce(o.has_tiers, false) THEN t.account_id = l.account_id
                                              ELSE t.plan_code = l.plan_code END
            WHERE l.period = ? AND l.line_type = 'usage' AND NOT l.is_trial AND l.billable_quantity > 0
              AND coalesce(o.model, c.model) IN ('graduated', 'volume')
        ), units AS (
            SELECT *, CASE
                WHEN model = 'graduated' THEN greatest(least(billable, coalesce(up_to, billable)) - from_quantity, 0)
                WHEN billable > from_quantity AND (up_to IS NULL OR billable <= up_to) THEN billable
                ELSE 0 END AS units
            FROM priced
        )
        SELECT invoice_id, line_id, model, tier_index, from_quantity, up_to, unit_price, flat_fee, units,
               units * unit_price + flat_fee AS amount
        FROM units WHERE units > 0 ORDER BY invoice_id, line_id, tier_index""", p)
    usage = frame(con, """
        SELECT u.account_id, u.metric, coalesce(m.name, u.metric) AS metric_name, m.unit, u.aggregation, u.quantity,
               u.event_count, u.late_event_count, u.trial_event_count, u.uncovered_event_count
        FROM fct_usage_monthly u LEFT JOIN catalog.metrics m ON m.metric_code = u.metric
        WHERE u.period = ? ORDER BY u.account_id, u.metric""", p)
    credit_balances = frame(con, """
        SELECT grant_id, account_id, kind, granted_on, expires_on, opening_cents, granted_cents, consumed_cents,
               expired_cents, closing_cents,
               -- what is left lapses at the end of next month when expires_on falls in (next start, next end]
               coalesce(expires_on <= ?, false) AS expires_next_period
        FROM fct_credit_balances WHERE period = ? ORDER BY account_id, grant_id""",
        [date(issued.end.year + issued.end.month // 12, issued.end.month % 12 + 1, 1), period])
    credit_entries = frame(con, """
        SELECT account_id, grant_id, kind, entry_type, entry_date, amount_cents, balance_after_cents
        FROM fct_credit_ledger WHERE period = ? ORDER BY account_id, entry_date, entry_order, grant_id""", p)
    trend = frame(con, """
        WITH recent AS (
            SELECT period, invoice_count, total_cents FROM fct_issued_periods WHERE period <= ?
            ORDER BY period DESC LIMIT ?
        ), lines AS (
            SELECT period,
                   sum(amount_cents) FILTER (WHERE line_type = 'base_fee') AS base_fee_cents,
                   sum(amount_cents) FILTER (WHERE line_type IN ('usage', 'minimum', 'adjustment')) AS usage_cents
            FROM fct_issued_invoice_lines WHERE period IN (SELECT period FROM recent) GROUP BY period
        )
        SELECT r.period, r.invoice_count,
               CAST(coalesce(l.base_fee_cents, 0) AS BIGINT) AS base_fee_cents,
               CAST(coalesce(l.usage_cents, 0) AS BIGINT) AS usage_cents,
               CAST(coalesce(l.base_fee_cents, 0) + coalesce(l.usage_cents, 0) AS BIGINT) AS subtotal_cents,
               CAST(r.total_cents - coalesce(l.base_fee_cents, 0) - coalesce(l.usage_cents, 0) AS BIGINT) AS deductions_cents,
               CAST(r.total_cents AS BIGINT) AS total_cents
        FROM recent r LEFT JOIN lines l USING (period) ORDER BY r.period""", [period, TREND_PERIODS])
    trials = frame(con, """
        WITH trial AS (
            SELECT subscription_id, account_id, plan_code, starts_on, trial_ends_on,
                   least(trial_ends_on, coalesce(ends_on, trial_ends_on)) AS trial_over_on
            FROM stg_catalog__subscriptions WHERE trial_days > 0
        )
        SELECT t.subscription_id, t.account_id, t.plan_code, t.starts_on, t.trial_ends_on, t.trial_over_on,
               EXISTS (SELECT 1 FROM stg_catalog__subscriptions s
                       WHERE s.account_id = t.account_id AND s.starts_on <= t.trial_over_on
                         AND (s.ends_on IS NULL OR s.ends_on > t.trial_over_on)) AS subscribed_after
        FROM trial t WHERE t.starts_on < ? AND t.trial_over_on >= ?
        ORDER BY t.account_id, t.starts_on""", [issued.end, issued.start])
    with _ledger(con) as ledger:
        publications = frame(ledger, """
            SELECT p.invoice_id, p.status AS publication_status, p.stripe_customer_id, p.stripe_invoice_id,
                   p.hosted_invoice_url, p.last_error, s.payment_status, s.failure_message
            FROM publish.invoice_publications p LEFT JOIN publish.invoice_payment_status s USING (invoice_id)
            WHERE p.period = ?""", p)
        items = frame(ledger, """
            SELECT i.invoice_id, i.line_id, i.stripe_invoice_item_id
            FROM publish.invoice_item_publications i JOIN publish.invoice_publications p USING (invoice_id)
            WHERE p.period = ?""", p)
    [(previous_period,)] = con.execute("SELECT max(period) FROM fct_issued_periods WHERE period < ?", p).fetchall()
    previous = frame(con, """
        SELECT i.account_id, coalesce(a.account_name, i.account_id) AS account_name, i.total_cents
        FROM fct_issued_invoices i LEFT JOIN dim_accounts a USING (account_id)
        WHERE i.period = ?""", [previous_period])
    return PeriodData(issued, invoices, lines, tiers, usage, credit_balances, credit_entries, trend, trials,
                      publications, items, previous_period, previous)
