"""One statement per issued invoice: the account's usage, charges with their tiers, credits and total."""

from dataclasses import dataclass

import polars as pl

from billing_pipeline.lib.money import amount_column, round_to_minor
from billing_pipeline.lib.report.calculation import Calculator, workings
from billing_pipeline.lib.report.queries import PeriodData

# A line row adds up on its own: quantity - refused_quantity (over the hard limit limit_quantity)
# - included_quantity (the part of the allowance it used) = billable_quantity, and `calculation`
# turns it into amount.
STATEMENT_COLUMNS = {
    "row_kind": pl.String, "invoice_id": pl.String, "line_id": pl.String, "line_type": pl.String,
    "description": pl.String, "metric": pl.String, "plan_code": pl.String, "quantity": pl.String,
    "limit_quantity": pl.String, "refused_quantity": pl.String, "included_quantity": pl.String,
    "billable_quantity": pl.String, "calculation": pl.String, "tier_index": pl.Int32, "tier_units": pl.String,
    "unit_price": pl.String, "flat_fee": pl.String, "tier_amount": pl.String, "amount_cents": pl.Int64,
    "stripe_invoice_id": pl.String, "stripe_invoice_item_id": pl.String,
}


@dataclass(frozen=True)
class Statement:
    account_id: str
    context: dict  # for statement.html.j2
    rows: pl.DataFrame  # for <account_id>.csv


def reproducible_tiers(data: PeriodData) -> pl.DataFrame:
    """Tier rows of the lines whose tiers, rounded as rating rounds, still give the issued amount.
    Tiers are read from today's catalog; a line priced under tiers changed since shows none."""
    if data.tiers.is_empty():
        return data.tiers
    issued = dict(data.lines.select("line_id", "amount_cents").iter_rows())
    sums = data.tiers.group_by("line_id").agg(pl.col("amount").sum())
    agreeing = [line for line, amount in sums.iter_rows() if round_to_minor(amount, data.period.exponent) == issued.get(line)]
    return data.tiers.filter(pl.col("line_id").is_in(agreeing))


def _text(*columns: str) -> list[pl.Expr]:
    return [pl.col(c).cast(pl.String) for c in columns]


def _csv_rows(lines: pl.DataFrame, tiers: pl.DataFrame, invoice: dict, stripe_invoice_id: str | None,
              exponent: int) -> pl.DataFrame:
    """Line rows add up to the total row; tier rows detail their line and are not part of the sum."""
    line_rows = lines.select(
        pl.lit("line").alias("row_kind"), "invoice_id", "line_id", "line_type", "description", "metric", "plan_code",
        *_text("quantity", "limit_quantity", "refused_quantity", "included_quantity", "billable_quantity"),
        "calculation", "amount_cents", "stripe_invoice_item_id")
    tier_rows = tiers.select(
        pl.lit("tier").alias("row_kind"), "invoice_id", "line_id", pl.lit("tier").alias("line_type"),
        pl.col("model").alias("description"), "tier_index", pl.col("units").cast(pl.String).alias("tier_units"),
        *_text("unit_price", "flat_fee"), pl.col("amount").cast(pl.String).alias("tier_amount"))
    total = pl.DataFrame([{"row_kind": "total", "invoice_id": invoice["invoice_id"], "description": "Total",
                           "amount_cents": invoice["total_cents"]}])
    rows = (pl.concat([line_rows, tier_rows, total], how="diagonal_relaxed")
            .with_columns(stripe_invoice_id=pl.lit(stripe_invoice_id, pl.String)))
    return (rows.select([pl.col(c).cast(t) if c in rows.columns else pl.lit(None, t).alias(c)
                         for c, t in STATEMENT_COLUMNS.items()])
            .with_columns(amount=amount_column("amount_cents", exponent)))


def _stripe(publication: dict | None, invoice: dict) -> dict:
    if publication is None:
        return {"customer_id": invoice["catalog_stripe_customer_id"], "invoice_id": None, "url": None,
                "status": "not published to Stripe yet"}
    status = publication["publication_status"]
    if status == "finalized" and publication["payment_status"] == "credited":  # a negative invoice
        status = "published as a credit to the customer's balance in Stripe"
    elif status == "finalized":
        status = f"published, payment {(publication['payment_status'] or 'open').replace('_', ' ')}"
    elif status == "skipped_zero":
        status = "not sent to Stripe: nothing to pay"
    elif status == "failed":
        status = f"publishing failed: {publication['last_error'] or 'no reason recorded'}"
    else:
        status = f"publishing in progress ({status.replace('_', ' ')})"
    return {"customer_id": publication["stripe_customer_id"] or invoice["catalog_stripe_customer_id"],
            "invoice_id": publication["stripe_invoice_id"], "url": publication["hosted_invoice_url"], "status": status}


def _with_workings(lines: pl.DataFrame, tiered_lines: set[str], calculator: Calculator) -> pl.DataFrame:
    worked = workings(lines.to_dicts(), tiered_lines, calculator)
    return lines.with_columns(
        limit_quantity=pl.Series([worked[line].limit_quantity for line in lines["line_id"]], dtype=pl.Decimal(38, 9)),
        refused_quantity=pl.Series([worked[line].refused_quantity for line in lines["line_id"]], dtype=pl.Decimal(38, 9)),
        included_quantity=pl.Series([included if (included := worked[line].included_quantity) is not None else allowance
                                     for line, allowance in zip(lines["line_id"], lines["included_quantity"])],
                                    dtype=pl.Decimal(38, 9)),
        calculation=pl.Series([worked[line].calculation for line in lines["line_id"]], dtype=pl.String))


def statements(data: PeriodData) -> list[Statement]:
    tiers = reproducible_tiers(data)
    calculator = Calculator(data.period.exponent, (data.period.end - data.period.start).days,
                            data.credit_balances.to_dicts())
    tiered_lines = set(tiers["line_id"]) if tiers.height else set()
    lines_with_items = data.lines.join(data.items, on=["invoice_id", "line_id"], how="left")
    by_invoice = {k[0]: f for k, f in lines_with_items.partition_by("invoice_id", as_dict=True).items()}
    tiers_by_line = {k[0]: f.to_dicts() for k, f in tiers.partition_by("line_id", as_dict=True).items()} if tiers.height else {}
    tiers_by_invoice = {k[0]: f for k, f in tiers.partition_by("invoice_id", as_dict=True).items()} if tiers.height else {}
    publications = {row["invoice_id"]: row for row in data.publications.to_dicts()}

    def of_account(frame: pl.DataFrame, account: str) -> list[dict]:
        return frame.filter(pl.col("account_id") == account).to_dicts()

    result = []
    for invoice in data.invoices.to_dicts():
        account, invoice_id = invoice["account_id"], invoice["invoice_id"]
        lines = _with_workings(by_invoice.get(invoice_id, lines_with_items.clear()), tiered_lines, calculator)
        line_dicts = [{**line, "tiers": tiers_by_line.get(line["line_id"], [])} for line in lines.to_dicts()]
        stripe = _stripe(publications.get(invoice_id), invoice)
        context = {
            "invoice": invoice, "lines": line_dicts, "any_tiers": any(line["tiers"] for line in line_dicts),
            "any_refused": any(line["refused_quantity"] for line in line_dicts),
            "usage": of_account(data.usage, account), "credit_entries": of_account(data.credit_entries, account),
            "credit_balances": of_account(data.credit_balances, account),
            "stripe": stripe,
        }
        rows = _csv_rows(lines, tiers_by_invoice.get(invoice_id, tiers.clear()), invoice, stripe["invoice_id"],
                         data.period.exponent)
        result.append(Statement(account, context, rows))
    return result
