"""What a rating run produced, as Dagster metadata: read from the warehouse once dbt has finished."""

import dagster as dg
import duckdb

from billing_pipeline.defs.transform.window import RatingWindow


def _money(cents: int, currency: str) -> str:
    return f"{cents / 100:,.2f} {currency.upper()}" if currency else str(cents)


def invoice_metadata(con: duckdb.DuckDBPyConnection, window: RatingWindow) -> dict[str, dg.MetadataValue]:
    """Invoice counts and totals per period of the window, with a markdown table for the UI."""
    rows = con.execute(
        """
        select period, period_status, count(*), sum(total_cents), sum(credits_applied_cents), min(currency)
        from fct_invoices
        where period >= ? and period < ?
        group by period, period_status
        order by period
        """,
        [window.first_month.strftime("%Y-%m"), window.end.strftime("%Y-%m")],
    ).fetchall()
    table = ["| period | status | invoices | total | credits applied |", "|---|---|---:|---:|---:|"]
    table += [f"| {p} | {s} | {n} | {_money(t, c)} | {_money(k, c)} |" for p, s, n, t, k, c in rows]
    return {
        "dagster/row_count": dg.MetadataValue.int(sum(r[2] for r in rows)),
        "total_cents": dg.MetadataValue.int(int(sum(r[3] for r in rows))),
        "periods": dg.MetadataValue.md("\n".join(table)),
    }


def issued_metadata(con: duckdb.DuckDBPyConnection, window: RatingWindow) -> dict[str, dg.MetadataValue]:
    """The periods this run issued (as_of is their issued_on)."""
    rows = con.execute(
        "select period, invoice_count, total_cents from fct_issued_periods where issued_on = ? order by period",
        [window.as_of],
    ).fetchall()
    return {
        "issued_periods": dg.MetadataValue.text(", ".join(r[0] for r in rows) or "none"),
        "issued_invoices": dg.MetadataValue.int(sum(r[1] for r in rows)),
        "issued_total_cents": dg.MetadataValue.int(int(sum(r[2] for r in rows))),
    }
