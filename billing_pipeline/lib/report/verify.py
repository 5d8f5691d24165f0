"""Re-reads a written reports folder and compares it with the warehouse: the report asset's checks.

Each function returns the problems found (empty = agrees to the minor unit). Files are read back
rather than trusting the frames that wrote them, so a formatting or writing slip is caught too.
"""

from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl

from billing_pipeline.lib.money import money_text
from billing_pipeline.lib.report.pack import JOURNAL, PACK_HTML, STATEMENTS, SUMMARY
from billing_pipeline.lib.report.queries import frame, issued_period


def _issued_totals(con: duckdb.DuckDBPyConnection, period: str) -> pl.DataFrame:
    return frame(con, "SELECT invoice_id, account_id, total_cents, line_count FROM fct_issued_invoices WHERE period = ?", [period])


def journal_problems(con: duckdb.DuckDBPyConnection, folder: Path, period: str) -> list[str]:
    """journal.csv: one row per issued line, amounts summing to each invoice's total and in all."""
    journal = pl.read_csv(folder / JOURNAL, schema_overrides={"amount_cents": pl.Int64, "amount": pl.String})
    issued = _issued_totals(con, period)
    problems = []
    per_invoice = journal.group_by("invoice_id").agg(pl.col("amount_cents").sum().alias("journal_cents"), pl.len().alias("rows"))
    compared = issued.join(per_invoice, on="invoice_id", how="full", coalesce=True)
    for invoice_id, total, lines, journal_cents, rows in compared.select(
            "invoice_id", "total_cents", "line_count", "journal_cents", "rows").iter_rows():
        if total != journal_cents or lines != rows:
            problems.append(f"{invoice_id}: invoice total {total} over {lines} lines, journal {journal_cents} over {rows} rows")
    exponent = issued_period(con, period).exponent
    decimal_sum = sum((Decimal(a) for a in journal["amount"]), Decimal(0))
    if decimal_sum.scaleb(exponent) != int(journal["amount_cents"].sum()):
        problems.append(f"journal amount column sums to {decimal_sum}, amount_cents to {journal['amount_cents'].sum()}")
    if int(journal["amount_cents"].sum()) != int(issued["total_cents"].sum()):
        problems.append(f"journal sums to {journal['amount_cents'].sum()}, issued invoices to {issued['total_cents'].sum()}")
    return problems


def report_total_problems(con: duckdb.DuckDBPyConnection, folder: Path, period: str) -> list[str]:
    """The pack's total (CSV and HTML) and every statement's total agree with the issued invoices."""
    issued = issued_period(con, period)
    invoices = _issued_totals(con, period)
    total = int(invoices["total_cents"].sum())
    problems = []
    if total != issued.total_cents:
        problems.append(f"fct_issued_invoices sums to {total}, fct_issued_periods says {issued.total_cents}")
    summary = pl.read_csv(folder / SUMMARY, schema_overrides={"amount_cents": pl.Int64})
    amounts = dict(summary.select("category", "amount_cents").iter_rows())
    if amounts.get("total") != total:
        problems.append(f"{SUMMARY} total {amounts.get('total')} != issued total {total}")
    components = int(summary.filter(pl.col("row_kind") == "component")["amount_cents"].sum())
    deductions = int(summary.filter(pl.col("row_kind") == "deduction")["amount_cents"].sum())
    if components != amounts.get("subtotal") or components + deductions != amounts.get("total"):
        problems.append(f"{SUMMARY} does not add up: components {components}, deductions {deductions}, "
                        f"subtotal {amounts.get('subtotal')}, total {amounts.get('total')}")
    total_text = money_text(total, issued.exponent, issued.currency)
    if total_text not in (folder / PACK_HTML).read_text(encoding="utf-8"):
        problems.append(f"{PACK_HTML} does not show the total {total_text}")
    for invoice_id, account, invoice_total, _ in invoices.iter_rows():
        path = folder / STATEMENTS / f"{account}.csv"
        if not path.exists():
            problems.append(f"no statement for {invoice_id}")
            continue
        rows = pl.read_csv(path, schema_overrides={"amount_cents": pl.Int64})
        lines = int(rows.filter(pl.col("row_kind") == "line")["amount_cents"].sum())
        stated = rows.filter(pl.col("row_kind") == "total")["amount_cents"].to_list()
        if stated != [invoice_total] or lines != invoice_total:
            problems.append(f"statement {path.name}: total {stated}, lines {lines}, invoice {invoice_total}")
    return problems
