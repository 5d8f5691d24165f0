"""`stripe_invoices`: a closed period's issued invoices published to Stripe, once, and read back.

Only periods in fct_issued_periods are published: dbt writes the issued invoices only when every
blocking check of the close passed, so a period that is not there is refused, run after run. So is
a run without Stripe configured, or one whose key reaches another account than the period's.
"""

import dagster as dg
import polars as pl
from pydantic import Field

from billing_pipeline.defs.partitions import monthly_partitions
from billing_pipeline.lib.periods import period_of
from billing_pipeline.lib.publish.stripe_resource import StripeNotConfigured, StripeResource, StripeTarget
from billing_pipeline.lib.warehouse import BillingData
from billing_pipeline.lib import markdown
from billing_pipeline.lib.publish import publications
from billing_pipeline.lib.publish.issued import PeriodNotIssued
from billing_pipeline.lib.publish.publisher import OtherStripeAccount, publish_period
from billing_pipeline.lib.publish.reconcile import check_amounts

CHECK_NAME = "stripe_amounts_match_invoices"


class PublishConfig(dg.Config):
    zero_total: str = Field(
        default="skip",
        description="Invoices totalling 0: 'skip' records them as skipped_zero and sends nothing (no $0 mail "
                    "to trial customers); 'publish' sends them like any other (Stripe marks them paid on finalize).")


def _publications_metadata(rows: pl.DataFrame, target: StripeTarget) -> dict:
    by_status = dict(rows.group_by("status").len().iter_rows()) if rows.height else {}
    finalized = rows.filter(pl.col("status") == "finalized")
    credited = finalized.filter(pl.col("total_cents") < 0)
    return {
        "dagster/row_count": rows.height,
        **target.metadata(),
        **{f"invoices_{status}": count for status, count in sorted(by_status.items())},
        "published_total_cents": int(finalized["total_cents"].sum()) if finalized.height else 0,
        # Negative invoices: Stripe settles them at once and credits the customers' balances.
        "credited_to_balances_cents": int(credited["total_cents"].sum()) if credited.height else 0,
        "by_status": dg.MetadataValue.md(markdown.mapping(by_status, "status", "invoices")),
        "publications": dg.MetadataValue.md(markdown.table(rows)),
    }


@dg.asset(
    key="stripe_invoices",
    group_name="publish",
    kinds={"stripe", "duckdb"},
    partitions_def=monthly_partitions,
    deps=[dg.AssetKey("fct_issued_invoices"), dg.AssetKey("fct_issued_invoice_lines"), dg.AssetKey("fct_issued_periods")],
    pool="duckdb_warehouse",
    owners=["team:data-engineering"],
    description="The period's issued invoices as finalized Stripe invoices (customer, draft, one item per line, "
                "finalize), each step recorded in publish.invoice_publications with the Stripe account, mode and "
                "address. Refuses a period that is not issued, a run without STRIPE_API_KEY, and a second account.",
)
def stripe_invoices(context: dg.AssetExecutionContext, config: PublishConfig, billing_data: BillingData,
                    stripe: StripeResource) -> dg.MaterializeResult:
    period = period_of(context.partition_key)
    try:
        with stripe.session() as session, billing_data.warehouse() as con:
            outcome = publish_period(con, session.client, period, session.target, config.zero_total)  # type: ignore[arg-type]
            rows = publications.period_rows(con, period)
    except (StripeNotConfigured, PeriodNotIssued, OtherStripeAccount) as refused:
        raise dg.Failure(description=str(refused)) from None
    for invoice_id, repair in sorted(outcome.repaired.items()):
        context.log.warning(f"{invoice_id}: {repair}")
    metadata = _publications_metadata(rows, session.target)
    context.log.info(f"{period}: {outcome.count('finalized')} finalized, {outcome.count('skipped_zero')} skipped "
                     f"(zero total), {len(outcome.failed)} failed, to {session.target.describe()}")
    if outcome.failed:
        named = "; ".join(f"{invoice_id}: {error}" for invoice_id, error in sorted(outcome.failed.items()))
        raise dg.Failure(description=f"{len(outcome.failed)} invoice(s) of {period} not published: {named}",
                         metadata=metadata)
    return dg.MaterializeResult(metadata=metadata)


@dg.asset_check(
    asset=stripe_invoices,
    name=CHECK_NAME,
    blocking=True,
    pool="duckdb_warehouse",
    description="Reads every finalized invoice of the period back from Stripe: its total must equal the issued "
                "total_cents, and amount_due + the customer balance Stripe applied (a negative invoice credits the "
                "customer) must too. A finalized invoice that no longer exists fails it.",
)
def stripe_amounts_match_invoices(context: dg.AssetCheckExecutionContext, billing_data: BillingData,
                                  stripe: StripeResource) -> dg.AssetCheckResult:
    period = period_of(context.partition_key)
    with stripe.session() as session, billing_data.warehouse(read_only=True) as con:
        checks = check_amounts(con, session.client, period, session.target)
    wrong = [c for c in checks if not c.matches]
    table = pl.DataFrame([{**c.__dict__, "problem": c.problem} for c in wrong],
                         schema=["invoice_id", "stripe_invoice_id", "total_cents", "stripe_total", "amount_due",
                                 "balance_applied", "error", "problem"]).drop("error")
    credited = [c for c in checks if c.matches and c.balance_applied]
    return dg.AssetCheckResult(
        passed=not wrong,
        severity=dg.AssetCheckSeverity.ERROR,
        description=(f"{len(wrong)} of {len(checks)} invoices differ in Stripe: "
                     + "; ".join(f"{c.invoice_id} ({c.problem})" for c in wrong)
                     if wrong else f"all {len(checks)} finalized invoices match"),
        metadata={"checked": len(checks), "mismatched": len(wrong), **session.target.metadata(),
                  "balance_applied": len(credited), "mismatches": dg.MetadataValue.md(markdown.table(table))},
    )


publish_job = dg.define_asset_job(
    "publish_job", selection=dg.AssetSelection.assets(stripe_invoices),
    description="Publish a closed period's issued invoices to Stripe, then read every amount back.",
)
