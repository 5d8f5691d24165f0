"""Finance reports per issued period: the revenue pack (HTML + PDF + CSVs), the journal and statements.

Runs after the period's invoices are published to Stripe (automation condition below, or `report_job`
from the CLI after publishing); it reads the warehouse read-only and writes only `reports/<YYYY-MM>/`.
"""

from pathlib import Path
from typing import Callable

import dagster as dg
import duckdb
import polars as pl

from billing_pipeline.defs.partitions import monthly_partitions
from billing_pipeline.lib.periods import period_of
from billing_pipeline.lib.warehouse import BillingData
from billing_pipeline.lib import markdown
from billing_pipeline.lib.money import money_text
from billing_pipeline.lib.report.pack import PACK_HTML, PACK_PDF, PeriodReport, write_period_reports
from billing_pipeline.lib.publish.issued import PeriodNotIssued
from billing_pipeline.lib.report.verify import journal_problems, report_total_problems

PUBLISHER = dg.AssetKey("stripe_invoices")
UPSTREAM = [dg.AssetKey(name) for name in (
    "fct_issued_invoices", "fct_issued_invoice_lines", "fct_issued_periods", "fct_credit_ledger",
    "fct_credit_balances", "fct_usage_monthly")] + [PUBLISHER, dg.AssetKey("stripe_payment_events")]

# Reports follow publication: a month's report runs when that month's stripe_invoices partition is
# updated. Not `eager()`: it only acts on the latest (open) month, and reports are for closed ones.
AFTER_PUBLICATION = (
    dg.AutomationCondition.any_deps_match(dg.AutomationCondition.newly_updated()).allow(dg.AssetSelection.assets(PUBLISHER))
    & ~dg.AutomationCondition.in_progress()
).with_label("after the period's invoices are published")


def _metadata(report: PeriodReport) -> dict[str, dg.MetadataValue]:
    h, p = report.headline, report.period

    def money(cents: int) -> str:
        return money_text(cents, p.exponent, p.currency)

    headline = {"total invoiced": money(h.total_cents), "subtotal": money(h.subtotal_cents),
                "base fees": money(h.base_fee_cents), "usage & other charges": money(h.usage_cents),
                "discounts": money(h.discount_cents), "credits applied": money(h.credits_applied_cents),
                "invoices": h.invoices, "accounts": h.accounts, "published": h.published, "paid": h.paid,
                "payment failed": h.payment_failed, "publish failed": h.publish_failed}
    top = report.top_accounts.select(
        "account_id", "account_name", "plans",
        pl.col("usage_cents").map_elements(money, return_dtype=pl.String).alias("usage charges"),
        pl.col("total_cents").map_elements(money, return_dtype=pl.String).alias("total invoiced"))
    html, pdf = report.folder / PACK_HTML, report.folder / PACK_PDF
    return {
        "dagster/row_count": dg.MetadataValue.int(report.journal_rows),
        "total_cents": dg.MetadataValue.int(h.total_cents),
        "total_invoiced": dg.MetadataValue.text(money(h.total_cents)),
        "base_fee_cents": dg.MetadataValue.int(h.base_fee_cents),
        "usage_cents": dg.MetadataValue.int(h.usage_cents),
        "credits_applied_cents": dg.MetadataValue.int(h.credits_applied_cents),
        "invoices": dg.MetadataValue.int(h.invoices),
        "accounts": dg.MetadataValue.int(h.accounts),
        "published": dg.MetadataValue.int(h.published),
        "paid": dg.MetadataValue.int(h.paid),
        "payment_failed": dg.MetadataValue.int(h.payment_failed),
        "statements": dg.MetadataValue.int(report.statements),
        "headline": dg.MetadataValue.md(markdown.mapping(headline, "figure", p.period)),
        "top_accounts": dg.MetadataValue.md(markdown.table(top) if top.height else "_no usage charges this period_"),
        # A markdown image with a data URI (the pattern of Dagster's own tutorials): the chart in the UI.
        "trend_chart": dg.MetadataValue.md(f"![Charges and total invoiced per issued period]({report.trend_png})"),
        "html": dg.MetadataValue.path(str(html)),
        "pdf": dg.MetadataValue.path(str(pdf)),
        "open_html": dg.MetadataValue.url(html.as_uri()),
    }


@dg.asset(
    group_name="report",
    kinds={"duckdb", "html", "pdf"},
    partitions_def=monthly_partitions,
    deps=UPSTREAM,
    pool="duckdb_warehouse",  # DuckDB refuses a reader while another process writes
    automation_condition=AFTER_PUBLICATION,
    owners=["team:finance"],
    description="Finance reports of an issued period in `reports/<YYYY-MM>/`: the revenue pack (`revenue_pack.html`, "
                "`revenue_pack.pdf` and a CSV per table), `journal.csv` (one row per invoice line, with revenue category "
                "and Stripe ids) and `statements/<account_id>.html|.csv`. Refuses periods not in `fct_issued_periods`.",
)
def finance_report(context: dg.AssetExecutionContext, billing_data: BillingData) -> dg.MaterializeResult:
    period = period_of(context.partition_key)
    with billing_data.warehouse(read_only=True) as con:
        try:
            report = write_period_reports(con, period, billing_data.paths.reports)
        except PeriodNotIssued as refused:
            raise dg.Failure(description=str(refused)) from refused
    context.log.info(f"reports for {period} in {report.folder}")
    return dg.MaterializeResult(metadata=_metadata(report))


def _verify(context: dg.AssetCheckExecutionContext, billing_data: BillingData,
            find: Callable[[duckdb.DuckDBPyConnection, Path, str], list[str]], what: str) -> dg.AssetCheckResult:
    """The written reports of the check's period read back against the warehouse by `find`."""
    period = period_of(context.partition_key)
    with billing_data.warehouse(read_only=True) as con:
        problems = find(con, billing_data.paths.reports / period, period)
    return dg.AssetCheckResult(
        passed=not problems,
        description=what if not problems else f"{len(problems)} problem(s): {problems[0]}",
        metadata={"problems": dg.MetadataValue.md("\n".join(f"- {markdown.text(p)}" for p in problems) or "_none_")},
    )


@dg.asset_check(asset=finance_report, partitions_def=monthly_partitions, blocking=True, pool="duckdb_warehouse",
                description="journal.csv has one row per issued invoice line and sums to each invoice's total and "
                            "to the period's, to the minor unit (amount_cents and the decimal amount column).")
def journal_sums_to_invoices(context: dg.AssetCheckExecutionContext, billing_data: BillingData) -> dg.AssetCheckResult:
    return _verify(context, billing_data, journal_problems, "journal agrees with every issued invoice")


@dg.asset_check(asset=finance_report, partitions_def=monthly_partitions, blocking=True, pool="duckdb_warehouse",
                description="The pack's total (revenue_summary.csv and the HTML) and every statement's total equal "
                            "fct_issued_invoices (and fct_issued_periods), and the summary adds up.")
def report_totals_match_invoices(context: dg.AssetCheckExecutionContext, billing_data: BillingData) -> dg.AssetCheckResult:
    return _verify(context, billing_data, report_total_problems, "report totals equal the issued invoices")


report_job = dg.define_asset_job(
    "report_job", selection=dg.AssetSelection.assets(finance_report),
    description="Write the finance reports of one issued period (partition = the period's month), with their checks.",
)
