"""The tables behind the revenue pack and the journal, as polars frames of integer minor units.

Revenue categories (journal `revenue_category`), finer than the line types:
  base_fee               subscription base fees (prorated per segment)
  usage                  metered usage beyond the included quantity
  minimum_true_up        top-up to a plan's minimum charge
  late_usage_adjustment  re-rated late events of an already issued period (line names the period)
  discount               account discount (negative)
  credit_<kind>          credits applied, by grant kind, e.g. credit_prepaid, credit_promotional (negative)
Every table that splits money adds up to a headline: components -> subtotal -> total invoiced.
"""

from dataclasses import dataclass

import polars as pl

from billing_pipeline.lib.money import amount_column
from billing_pipeline.lib.report.queries import PeriodData

TOP_ACCOUNTS = 10
CHARGE_TYPES = ("base_fee", "usage", "minimum")
# Publisher statuses before `finalized`: the invoice is on its way to Stripe.
IN_PROGRESS = ("pending", "customer_ready", "draft_created", "items_added")

_revenue_category = (
    pl.when(pl.col("line_type") == "credit").then(pl.concat_str([pl.lit("credit_"), pl.col("credit_kind").fill_null("other")]))
    .when(pl.col("line_type") == "minimum").then(pl.lit("minimum_true_up"))
    .when(pl.col("line_type") == "adjustment").then(pl.lit("late_usage_adjustment"))
    .otherwise(pl.col("line_type"))
)


@dataclass(frozen=True)
class Headline:
    """The numbers finance reads first; all from fct_issued_invoices / the ledger, in minor units."""

    invoices: int
    accounts: int
    subtotal_cents: int
    base_fee_cents: int
    usage_cents: int  # usage + minimum true-ups + late adjustments: everything beyond base fees
    discount_cents: int
    credits_applied_cents: int
    total_cents: int
    published: int
    paid: int
    payment_failed: int
    publish_failed: int


def _sum(frame: pl.DataFrame, column: str) -> int:
    return int(frame[column].sum()) if frame.height else 0


def _cents_sum(name: str, condition: pl.Expr | None = None) -> pl.Expr:
    value = pl.col("amount_cents") if condition is None else pl.when(condition).then(pl.col("amount_cents")).otherwise(0)
    return value.sum().cast(pl.Int64).alias(name)


def journal(data: PeriodData) -> pl.DataFrame:
    """One row per issued invoice line, with its revenue category and Stripe ids."""
    exponent = data.period.exponent
    invoices = data.invoices.select("invoice_id", "account_name", "currency", "catalog_stripe_customer_id")
    return (
        data.lines
        .join(invoices, on="invoice_id", how="left")
        .join(data.publications.select("invoice_id", "stripe_customer_id", "stripe_invoice_id"), on="invoice_id", how="left")
        .join(data.items, on=["invoice_id", "line_id"], how="left")
        .with_columns(
            revenue_category=_revenue_category,
            amount=amount_column("amount_cents", exponent),
            stripe_customer_id=pl.coalesce("stripe_customer_id", "catalog_stripe_customer_id"),
        )
        .select("invoice_id", "line_id", "line_number", "account_id", "account_name", "period", "issued_on",
                "line_type", "revenue_category", "plan_code", "metric", "description", "amount_cents", "amount",
                "currency", "stripe_customer_id", "stripe_invoice_id", "stripe_invoice_item_id")
        .sort("invoice_id", "line_number")
    )


def revenue_summary(data: PeriodData) -> pl.DataFrame:
    """The bridge from charges to the total invoiced: components, subtotal, discounts and credits, total."""
    lines = data.lines.with_columns(revenue_category=_revenue_category)
    by_category = dict(lines.group_by("revenue_category").agg(pl.col("amount_cents").sum()).iter_rows())
    credits = sorted(c for c in by_category if c.startswith("credit_"))
    rows = [
        ("component", "base_fee", "Base fees", by_category.get("base_fee", 0)),
        ("component", "usage", "Usage (overage)", by_category.get("usage", 0)),
        ("component", "minimum_true_up", "Minimum charge true-ups", by_category.get("minimum_true_up", 0)),
        ("component", "late_usage_adjustment", "Late usage adjustments", by_category.get("late_usage_adjustment", 0)),
        ("subtotal", "subtotal", "Subtotal", _sum(data.invoices, "subtotal_cents")),
        ("deduction", "discount", "Discounts", by_category.get("discount", 0)),
        *[("deduction", c, f"Credits applied ({c.removeprefix('credit_')})", by_category[c]) for c in credits],
        ("total", "total", "Total invoiced", _sum(data.invoices, "total_cents")),
    ]
    return pl.DataFrame(rows, schema={"row_kind": pl.String, "category": pl.String, "label": pl.String,
                                      "amount_cents": pl.Int64}, orient="row"
                        ).with_columns(amount=amount_column("amount_cents", data.period.exponent))


def revenue_by_plan(data: PeriodData) -> pl.DataFrame:
    """Charges attributed to a plan (base fee, usage, minimum); late adjustments and deductions are not."""
    charges = data.lines.filter(pl.col("line_type").is_in(CHARGE_TYPES))
    return (
        charges.group_by("plan_code", "plan_name")
        .agg(pl.col("account_id").n_unique().alias("accounts"),
             _cents_sum("base_fee_cents", pl.col("line_type") == "base_fee"),
             _cents_sum("usage_cents", pl.col("line_type") == "usage"),
             _cents_sum("minimum_cents", pl.col("line_type") == "minimum"),
             _cents_sum("charges_cents"))
        .sort(["charges_cents", "plan_code"], descending=[True, False])
        .with_columns(charges=amount_column("charges_cents", data.period.exponent))
    )


def revenue_by_metric(data: PeriodData) -> pl.DataFrame:
    usage = data.lines.filter(pl.col("line_type") == "usage")
    return (
        usage.group_by("metric", "metric_name", "unit")
        .agg(pl.col("account_id").filter(pl.col("amount_cents") > 0).n_unique().alias("accounts_billed"),
             pl.col("quantity").sum(), pl.col("included_quantity").sum(), pl.col("billable_quantity").sum(),
             _cents_sum("amount_cents"))
        .sort(["amount_cents", "metric"], descending=[True, False])
        .with_columns(amount=amount_column("amount_cents", data.period.exponent))
    )


def top_accounts(data: PeriodData) -> pl.DataFrame:
    """The accounts whose usage brought in the most: usage charges beyond what plans include (not base
    fees or minimums, which a plan fixes), at most TOP_ACCOUNTS of them, only those with any."""
    exponent = data.period.exponent
    charges = (data.lines.group_by("invoice_id")
               .agg(pl.col("plan_name").drop_nulls().unique().sort().str.join(", ").alias("plans"),
                    _cents_sum("usage_cents", pl.col("line_type") == "usage")))
    return (
        data.invoices.join(charges, on="invoice_id", how="left")
        .filter(pl.col("usage_cents") > 0)
        .sort(["usage_cents", "account_id"], descending=[True, False]).head(TOP_ACCOUNTS)
        .select("account_id", "account_name", "invoice_id", "plans", "usage_cents", "subtotal_cents", "total_cents")
        .with_columns(usage=amount_column("usage_cents", exponent), total=amount_column("total_cents", exponent))
    )


def account_changes(data: PeriodData) -> pl.DataFrame:
    """The accounts whose invoiced total moved most since the previous issued period, up or down (an
    account new this period, or gone since, moves from or to 0); at most TOP_ACCOUNTS of them, and
    none in the first issued period."""
    exponent = data.period.exponent
    now = data.invoices.select("account_id", "account_name", "total_cents")
    before = data.previous.select("account_id", pl.col("account_name").alias("previous_name"),
                                  pl.col("total_cents").alias("previous_total_cents"))
    return (
        now.join(before, on="account_id", how="full", coalesce=True)
        .with_columns(account_name=pl.coalesce("account_name", "previous_name"),
                      total_cents=pl.col("total_cents").fill_null(0),
                      previous_total_cents=pl.col("previous_total_cents").fill_null(0))
        .with_columns(change_cents=pl.col("total_cents") - pl.col("previous_total_cents"))
        .filter((pl.col("change_cents") != 0) & pl.lit(data.previous_period is not None))  # the first period: none
        .sort([pl.col("change_cents").abs(), "account_id"], descending=[True, False]).head(TOP_ACCOUNTS)
        .select("account_id", "account_name", "previous_total_cents", "total_cents", "change_cents",
                pl.lit(data.previous_period, pl.String).alias("previous_period"))
        .with_columns(change=amount_column("change_cents", exponent))
    )


def trend(data: PeriodData) -> pl.DataFrame:
    """The last issued periods: charges (base fees, and usage with minimums and late adjustments), less
    discounts and credits, give the total invoiced."""
    return data.trend.with_columns(total=amount_column("total_cents", data.period.exponent))


def trials(data: PeriodData) -> pl.DataFrame:
    """Trials touching the period. A trial *starts* on starts_on; it is over on the first day after it
    (or the day its subscription ends, if earlier). It *converted* when the account is still subscribed
    that day (same subscription or the next one), else it *expired*; counted in the month it is over."""
    start, end = data.period.start, data.period.end
    over = pl.col("trial_over_on")
    return data.trials.with_columns(
        started_this_period=pl.col("starts_on") >= start,
        outcome=pl.when(over >= end).then(pl.lit("in_trial"))
        .when(pl.col("subscribed_after")).then(pl.lit("converted")).otherwise(pl.lit("expired")),
    ).drop("subscribed_after")


def trial_counts(trial_rows: pl.DataFrame) -> dict[str, int]:
    outcomes = trial_rows["outcome"].to_list()
    return {"started": int(trial_rows["started_this_period"].sum()), "converted": outcomes.count("converted"),
            "expired": outcomes.count("expired"), "in trial at month end": outcomes.count("in_trial")}


def credits(data: PeriodData) -> pl.DataFrame:
    """Credit balances by grant kind: opening + granted - consumed - expired = closing."""
    balances = data.credit_balances
    return (
        balances.group_by("kind")
        .agg(pl.len().alias("grants"), *[pl.col(c).sum().cast(pl.Int64) for c in
             ("opening_cents", "granted_cents", "consumed_cents", "expired_cents", "closing_cents")],
             pl.col("closing_cents").filter(pl.col("expires_next_period")).sum().cast(pl.Int64)
             .alias("expiring_next_period_cents"))
        .sort("kind")
    )


def invoice_status(data: PeriodData) -> pl.DataFrame:
    """How far each issued invoice got: publication to Stripe, then payment."""
    merged = data.invoices.select("invoice_id", "total_cents").join(data.publications, on="invoice_id", how="left")
    publication = (
        pl.when(pl.col("publication_status").is_null()).then(pl.lit("not published"))
        .when(pl.col("publication_status") == "finalized").then(pl.lit("published"))
        .when(pl.col("publication_status") == "skipped_zero").then(pl.lit("skipped (zero total)"))
        .when(pl.col("publication_status") == "failed").then(pl.lit("failed"))
        .when(pl.col("publication_status").is_in(IN_PROGRESS)).then(pl.lit("in progress"))
        .otherwise(pl.col("publication_status"))
    )
    payment = pl.col("payment_status").fill_null("open").replace({"payment_failed": "payment failed"})
    stages = pl.concat([
        merged.select(pl.lit("publication").alias("stage"), publication.alias("status"), "total_cents"),
        merged.filter(pl.col("publication_status") == "finalized")
        .select(pl.lit("payment").alias("stage"), payment.alias("status"), "total_cents"),
    ])
    return (stages.group_by("stage", "status", maintain_order=True)
            .agg(pl.len().cast(pl.Int64).alias("invoices"), pl.col("total_cents").sum().cast(pl.Int64).alias("amount_cents"))
            .sort("stage", descending=True, maintain_order=True))


def headline(data: PeriodData, status: pl.DataFrame) -> Headline:
    lines = data.lines
    counts = {(s, st): n for s, st, n, _ in status.iter_rows()}
    base = _sum(lines.filter(pl.col("line_type") == "base_fee"), "amount_cents")
    return Headline(
        invoices=data.invoices.height,
        accounts=data.invoices["account_id"].n_unique(),
        subtotal_cents=_sum(data.invoices, "subtotal_cents"),
        base_fee_cents=base,
        usage_cents=_sum(data.invoices, "subtotal_cents") - base,
        discount_cents=_sum(data.invoices, "discount_cents"),
        credits_applied_cents=_sum(data.invoices, "credits_applied_cents"),
        total_cents=_sum(data.invoices, "total_cents"),
        published=counts.get(("publication", "published"), 0),
        paid=counts.get(("payment", "paid"), 0),
        payment_failed=counts.get(("payment", "payment failed"), 0),
        publish_failed=counts.get(("publication", "failed"), 0),
    )
